// Package secret holds Gatehouse's cryptography: random tokens and their
// hashes, one-time codes, argon2id password hashes and the AES-GCM box that
// seals what waits for delivery.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Token returns a URL-safe random token carrying n bytes of entropy,
// with an optional recognisable prefix (e.g. "gh_at_").
func Token(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the hex SHA-256 of a high-entropy token: enough to store
// it, since such a token cannot be guessed from its hash.
func HashToken(token string) string {
	// Every authenticated request hashes its token: one allocation (the
	// result) instead of three. Short tokens are copied to the stack rather
	// than converted to a []byte on the heap.
	var sum [sha256.Size]byte
	var buf [128]byte
	if len(token) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], token)])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// Equal compares two strings in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Code returns a random decimal code of n digits.
func Code(n int) string {
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String()
}

// Key is the server's secret key. It seals the outbox and keys the hashes of
// low-entropy secrets (one-time codes), which a plain hash would not hide.
type Key struct {
	aead    cipher.AEAD
	mac     []byte
	audit   []byte
	auditID string
}

// NewKey derives the sealing and MAC keys from a secret of any length
// (at least 16 bytes), so operators may use any strong string.
func NewKey(secret string) (*Key, error) {
	if len(secret) < 16 {
		return nil, errors.New("must be at least 16 characters")
	}
	enc := sha256.Sum256([]byte("gatehouse-seal\x00" + secret))
	mac := sha256.Sum256([]byte("gatehouse-mac\x00" + secret))
	block, err := aes.NewCipher(enc[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	audit := sha256.Sum256([]byte("gatehouse-audit\x00" + secret))
	id := sha256.Sum256(append([]byte("gatehouse-audit-id\x00"), audit[:]...))
	return &Key{aead: aead, mac: mac[:], audit: audit[:], auditID: "k-" + hex.EncodeToString(id[:6])}, nil
}

// AuditKey returns the key sealing the audit chain (HMAC-SHA-256) and its
// id, a fingerprint that names the key without revealing it. Each event
// records the id of the key that sealed it, so events sealed under an older
// secret key still verify when that key is configured as an old key.
func (k *Key) AuditKey() (id string, key []byte) { return k.auditID, k.audit }

// LoadOrCreateKeyFile reads the key kept in path, creating it (mode 0600)
// with 32 random bytes when missing: the embedded default's key survives
// restarts without any configuration.
func LoadOrCreateKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		fresh := Token("", 32)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.WriteString(fresh + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return NewKey(fresh)
	}
	if err != nil {
		return nil, err
	}
	k, err := NewKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Seal encrypts and authenticates plaintext; a fresh nonce leads the result.
func (k *Key) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open reverses Seal.
func (k *Key) Open(ciphertext []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(ciphertext) < ns {
		return nil, errors.New("sealed value too short")
	}
	return k.aead.Open(nil, ciphertext[:ns], ciphertext[ns:], nil)
}

// MAC returns a keyed hash of a low-entropy secret such as a one-time code.
func (k *Key) MAC(parts ...string) string {
	h := hmac.New(sha256.New, k.mac)
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
