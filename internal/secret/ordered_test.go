package secret

import (
	"encoding/base64"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestOrderedToken(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	t.Run("Shape", func(t *testing.T) {
		tok := OrderedToken(t0, 32)
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 6+32 || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("OrderedToken = %q (%d bytes, %v), want 38 bytes of URL-safe base64", tok, len(raw), err)
		}
		if OrderedToken(t0, 32) == tok {
			t.Fatal("two tokens of the same millisecond are equal")
		}
	})

	t.Run("KeyHashesTheWholeToken", func(t *testing.T) {
		tok := OrderedToken(t0, 32)
		key := OrderedTokenKey(tok, 32)
		if want := "01a252855700." + HashToken(tok); key != want { // 0x01a252855700 = t0 in Unix milliseconds
			t.Fatalf("OrderedTokenKey = %q, want %q", key, want)
		}
		if !regexp.MustCompile(`^[0-9a-f]{12}\.[0-9a-f]{64}$`).MatchString(key) {
			t.Fatalf("key %q: want 12 hex digits of time, a dot and a SHA-256", key)
		}
		if strings.Contains(key, tok[8:]) {
			t.Fatal("the key holds the token's secret part in clear")
		}
		// Another token of the same millisecond shares the prefix only.
		if other := OrderedTokenKey(OrderedToken(t0, 32), 32); other == key || other[:13] != key[:13] {
			t.Fatalf("keys %q and %q of one millisecond", key, other)
		}
	})

	t.Run("KeysSortByTime", func(t *testing.T) {
		var keys []string
		for i := range 50 {
			keys = append(keys, OrderedTokenKey(OrderedToken(t0.Add(time.Duration(i)*time.Millisecond), 32), 32))
		}
		if !sort.StringsAreSorted(keys) {
			t.Fatalf("keys of tokens made one after another do not sort in that order: %q", keys)
		}
	})

	t.Run("OtherShapesKeyAsHashToken", func(t *testing.T) {
		old := Token("", 32) // an invitation link sent before ordered tokens
		for _, tok := range []string{old, "", "short", strings.Repeat("!", 51), "!" + OrderedToken(t0, 32)[1:], OrderedToken(t0, 16)} {
			if got := OrderedTokenKey(tok, 32); got != HashToken(tok) {
				t.Errorf("OrderedTokenKey(%q) = %q, want HashToken's %q", tok, got, HashToken(tok))
			}
		}
	})
}

// FuzzOrderedTokenKey: any text keys without panicking, either as
// HashToken or, for the shape of an ordered token only, as its time and
// HashToken; two different texts never share a key.
func FuzzOrderedTokenKey(f *testing.F) {
	f.Add(OrderedToken(time.Unix(1_800_000_000, 0), 32))
	f.Add(Token("", 32))
	f.Add("")
	f.Add(strings.Repeat("_", 51))
	shape := regexp.MustCompile(`^[0-9a-f]{12}\.[0-9a-f]{64}$`)
	f.Fuzz(func(t *testing.T, tok string) {
		key := OrderedTokenKey(tok, 32)
		switch {
		case key == HashToken(tok):
		case shape.MatchString(key) && strings.HasSuffix(key, "."+HashToken(tok)):
			if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) != 38 {
				t.Fatalf("%q keyed as an ordered token: %q", tok, key)
			}
		default:
			t.Fatalf("%q keyed as %q", tok, key)
		}
	})
}
