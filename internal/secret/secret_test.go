package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fastArgon2 keeps tests quick; DefaultArgon2 is tested once.
var fastArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestToken(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct {
			prefix string
			n      int
		}{{"", 16}, {"gh_at_", 32}, {"gh_rt_", 48}} {
			tok := Token(tt.prefix, tt.n)
			if !strings.HasPrefix(tok, tt.prefix) {
				t.Fatalf("Token(%q, %d) = %q, want the prefix", tt.prefix, tt.n, tok)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, tt.prefix))
			if err != nil {
				t.Fatalf("Token(%q, %d) = %q is not URL-safe base64: %v", tt.prefix, tt.n, tok, err)
			}
			if len(raw) != tt.n {
				t.Fatalf("Token(%q, %d) carries %d bytes, want %d", tt.prefix, tt.n, len(raw), tt.n)
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Fatalf("Token %q is not URL-safe", tok)
			}
		}
	})

	t.Run("Unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			tok := Token("x_", 16)
			if seen[tok] {
				t.Fatalf("Token repeated %q", tok)
			}
			seen[tok] = true
		}
	})
}

func TestHashToken(t *testing.T) {
	h := HashToken("gh_at_abc")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("HashToken = %q, want 64 hex digits", h)
	}
	if HashToken("gh_at_abc") != h {
		t.Fatal("HashToken is not deterministic")
	}
	if HashToken("gh_at_abd") == h {
		t.Fatal("different tokens hash alike")
	}
	// SHA-256 of the empty string, a known answer.
	if got := HashToken(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("HashToken(\"\") = %s", got)
	}
}

func TestEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true},
		{"", "", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"abc", "", false},
	} {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	for _, n := range []int{1, 6, 8} {
		c := Code(n)
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(c) || len(c) != n {
			t.Fatalf("Code(%d) = %q, want %d decimal digits", n, c, n)
		}
	}
	// Every digit turns up in every position (a leading 0 is kept).
	var seen [6][10]bool
	for range 2000 {
		for i, d := range Code(6) {
			seen[i][d-'0'] = true
		}
	}
	for i := range seen {
		for d, ok := range seen[i] {
			if !ok {
				t.Fatalf("digit %d never appeared at position %d in 2000 codes", d, i)
			}
		}
	}
}

func mustKey(t *testing.T, s string) *Key {
	t.Helper()
	k, err := NewKey(s)
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	return k
}

func TestNewKey(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		mustKey(t, "0123456789abcdef") // exactly 16
	})
	t.Run("ErrShort", func(t *testing.T) {
		for _, s := range []string{"", "short", "0123456789abcde"} {
			if _, err := NewKey(s); err == nil {
				t.Fatalf("NewKey(%q) accepted a short secret", s)
			}
		}
	})
}

func TestKeySeal(t *testing.T) {
	k := mustKey(t, "a strong secret for tests")
	plain := []byte(`{"text":"Your code is 123456"}`)

	t.Run("OK", func(t *testing.T) {
		sealed, err := k.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("123456")) {
			t.Fatal("sealed value holds the plaintext")
		}
		got, err := k.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
		// The same key derived again (after a restart) opens it.
		if got, err := mustKey(t, "a strong secret for tests").Open(sealed); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open with the re-derived key = %q, %v", got, err)
		}
		// A fresh nonce each time.
		again, _ := k.Seal(plain)
		if bytes.Equal(again, sealed) {
			t.Fatal("sealing twice gave the same bytes")
		}
		empty, _ := k.Seal(nil)
		if got, err := k.Open(empty); err != nil || len(got) != 0 {
			t.Fatalf("Open(Seal(nil)) = %q, %v", got, err)
		}
	})

	t.Run("ErrTampered", func(t *testing.T) {
		sealed, _ := k.Seal(plain)
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			if _, err := k.Open(bad); err == nil {
				t.Fatalf("Open accepted a value with byte %d flipped", i)
			}
		}
		if _, err := k.Open(sealed[:len(sealed)-1]); err == nil {
			t.Fatal("Open accepted a truncated value")
		}
		if _, err := k.Open(sealed[:3]); err == nil {
			t.Fatal("Open accepted a value shorter than a nonce")
		}
	})

	t.Run("ErrOtherKey", func(t *testing.T) {
		sealed, _ := k.Seal(plain)
		if _, err := mustKey(t, "another strong secret").Open(sealed); err == nil {
			t.Fatal("another key opened the value")
		}
	})
}

func TestKeyMAC(t *testing.T) {
	k := mustKey(t, "a strong secret for tests")
	m := k.MAC("ada@example.com", "verify_email", "123456")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(m) {
		t.Fatalf("MAC = %q, want 64 hex digits", m)
	}
	if k.MAC("ada@example.com", "verify_email", "123456") != m {
		t.Fatal("MAC is not deterministic")
	}
	for _, other := range []string{
		k.MAC("ada@example.com", "verify_email", "123457"),
		k.MAC("ada@example.com", "reset_password", "123456"),
		// Length prefixes: moving a boundary changes the MAC.
		k.MAC("ada@example.comverify_email", "", "123456"),
		mustKey(t, "another strong secret").MAC("ada@example.com", "verify_email", "123456"),
	} {
		if other == m {
			t.Fatal("different input or key gave the same MAC")
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new", "dir", "secret.key")
		k1, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Fatalf("key file mode %v, want 0600", perm)
		}
		b, _ := os.ReadFile(path)
		if len(strings.TrimSpace(string(b))) < 32 {
			t.Fatalf("key file holds %q, want a long random secret", b)
		}

		sealed, _ := k1.Seal([]byte("kept across restarts"))
		k2, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
			t.Fatal("the second call rewrote the key file")
		}
		if got, err := k2.Open(sealed); err != nil || string(got) != "kept across restarts" {
			t.Fatalf("the reloaded key does not open what the first sealed: %q, %v", got, err)
		}
		if k1.MAC("x") != k2.MAC("x") {
			t.Fatal("the reloaded key MACs differently")
		}
	})

	t.Run("OperatorKey", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, []byte("  an operator's chosen secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if k.MAC("x") != mustKey(t, "an operator's chosen secret").MAC("x") {
			t.Fatal("the file's secret was not used, trimmed")
		}
	})

	t.Run("ErrShortKeyInFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("LoadOrCreateKeyFile = %v, want an error naming the file", err)
		}
	})
}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	phcRe := regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

	t.Run("OK", func(t *testing.T) {
		h := NewHasher(fastArgon2, 2)
		phc, err := h.Hash(ctx, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if m := phcRe.FindStringSubmatch(phc); m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
			t.Fatalf("Hash = %q, want $argon2id$v=19$m=64,t=1,p=1$salt$hash", phc)
		}
		if other, _ := h.Hash(ctx, "correct horse battery staple"); other == phc {
			t.Fatal("two hashes of one password are equal: no salt")
		}
		for _, tt := range []struct {
			password string
			want     bool
		}{
			{"correct horse battery staple", true},
			{"correct horse battery stapl", false},
			{"Correct horse battery staple", false},
			{"", false},
		} {
			ok, err := h.Verify(ctx, tt.password, phc)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
			}
		}
	})

	t.Run("ParamsFromHash", func(t *testing.T) {
		// A hash made under other parameters still verifies after they change.
		old, err := NewHasher(Argon2Params{Memory: 128, Time: 2, Threads: 2, KeyLen: 16, SaltLen: 8}, 1).Hash(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := NewHasher(fastArgon2, 1).Verify(ctx, "pw", old); err != nil || !ok {
			t.Fatalf("Verify of an older-parameter hash = %v, %v", ok, err)
		}
	})

	t.Run("NoPassword", func(t *testing.T) {
		h := NewHasher(fastArgon2, 1)
		for _, phc := range []string{
			"", // an account without a password
			"not a hash",
			"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
			"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
			"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
			"$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaGhhc2g",
			// Parameters argon2 cannot run with must not panic.
			"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
			"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g",
		} {
			ok, err := h.Verify(ctx, "", phc)
			if err != nil || ok {
				t.Fatalf("Verify(\"\", %q) = %v, %v; want false, nil", phc, ok, err)
			}
			ok, err = h.Verify(ctx, "password", phc)
			if err != nil || ok {
				t.Fatalf("Verify(\"password\", %q) = %v, %v; want false, nil", phc, ok, err)
			}
		}
	})

	t.Run("DefaultArgon2", func(t *testing.T) {
		h := NewHasher(DefaultArgon2, 1)
		phc, err := h.Hash(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") || !phcRe.MatchString(phc) {
			t.Fatalf("Hash = %q, want the default parameters m=19456,t=2,p=1", phc)
		}
		parts := strings.Split(phc, "$")
		salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
		key, _ := base64.RawStdEncoding.DecodeString(parts[5])
		if len(salt) != 16 || len(key) != 32 {
			t.Fatalf("salt %d bytes, key %d bytes; want 16 and 32", len(salt), len(key))
		}
		if ok, err := h.Verify(ctx, "pw", phc); err != nil || !ok {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	})

	t.Run("ErrCapacity", func(t *testing.T) {
		h := NewHasher(fastArgon2, 1)
		phc, err := h.Hash(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		// Hold the only slot, as a hash under way would.
		h.slots <- struct{}{}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Hash(cancelled, "pw"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash with the slot held and a cancelled context = %v, want context.Canceled", err)
		}
		if ok, err := h.Verify(cancelled, "pw", phc); !errors.Is(err, context.Canceled) || ok {
			t.Fatalf("Verify with the slot held and a cancelled context = %v, %v; want false, context.Canceled", ok, err)
		}
		// A waiter gets the slot once it is released.
		done := make(chan error, 1)
		go func() {
			ok, err := h.Verify(ctx, "pw", phc)
			if err == nil && !ok {
				err = errors.New("Verify = false")
			}
			done <- err
		}()
		<-h.slots
		if err := <-done; err != nil {
			t.Fatalf("a waiting Verify: %v", err)
		}
		if n := len(h.slots); n != 0 {
			t.Fatalf("%d slots still taken after every call returned", n)
		}
	})

	t.Run("ManyCallers", func(t *testing.T) {
		h := NewHasher(fastArgon2, 0) // at least one
		if cap(h.slots) != 1 {
			t.Fatalf("NewHasher(_, 0) allows %d at once, want 1", cap(h.slots))
		}
		h = NewHasher(fastArgon2, 3)
		errs := make(chan error, 12)
		for range 12 {
			go func() {
				_, err := h.Hash(ctx, "pw")
				errs <- err
			}()
		}
		for range 12 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := len(h.slots); n != 0 {
			t.Fatalf("%d slots leaked", n)
		}
	})
}

// TestHasherRefusesExcessiveCost: a stored hash asking for more memory or
// passes than Gatehouse would ever use is refused, not computed.
func TestHasherRefusesExcessiveCost(t *testing.T) {
	h := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 1)
	for _, phc := range []string{
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5",
	} {
		ok, err := h.Verify(context.Background(), "password", phc)
		if ok || err != nil {
			t.Fatalf("Verify(%s) = %v, %v; want false, nil", phc, ok, err)
		}
	}
}
