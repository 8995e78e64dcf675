package secret

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (RFC 9106's second recommended option, with less memory
// as OWASP allows): 19 MiB, 2 passes, 1 lane.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// maxArgon2Memory bounds the memory (KiB) a stored hash may ask for: 256 MiB.
const maxArgon2Memory = 256 * 1024

// DefaultArgon2 is used for new hashes.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes and verifies passwords under a concurrency cap, so a burst of
// sign-ins queues instead of exhausting memory (each hash takes Memory KiB).
type Hasher struct {
	Params Argon2Params
	slots  chan struct{}
}

// NewHasher allows at most concurrent hashes at once.
func NewHasher(p Argon2Params, concurrent int) *Hasher {
	return &Hasher{Params: p, slots: make(chan struct{}, max(1, concurrent))}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hash returns password's argon2id hash in PHC format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.slots }()
	p := h.Params
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches a PHC argon2id hash. An empty hash
// (no password set) still costs one hash, so timing does not reveal it.
func (h *Hasher) Verify(ctx context.Context, password, phc string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.slots }()
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		// Burn the same work as a real check, then refuse.
		argon2.IDKey([]byte(password), make([]byte, h.Params.SaltLen), h.Params.Time, h.Params.Memory, h.Params.Threads, h.Params.KeyLen)
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errors.New("bad argon2 parameters")
	}
	if p.Time < 1 || p.Threads < 1 {
		// argon2.IDKey panics on these.
		return p, nil, nil, errors.New("bad argon2 parameters")
	}
	if p.Memory > maxArgon2Memory || p.Time > 16 {
		// A stored hash is trusted for its cost only within reason, so a
		// tampered row cannot make one sign-in allocate gigabytes.
		return p, nil, nil, errors.New("argon2 parameters out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, err
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, errors.New("bad argon2 hash")
	}
	return p, salt, key, nil
}
