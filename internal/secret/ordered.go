package secret

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// orderedTimeBytes is the length of an ordered token's time: Unix
// milliseconds, big-endian, enough until the year 10889.
const orderedTimeBytes = 6

// OrderedToken returns a URL-safe random token carrying n bytes of entropy
// after the time it was made (6 bytes of Unix milliseconds). Its key
// (OrderedTokenKey) starts with that time, so that an index of keys grows at
// its end, as one of time-ordered ids does, instead of every new key landing
// on a random page of it: one page written per commit instead of one per
// token (issue 17: the index of invitation tokens was one of the three
// random-keyed B-trees each invitation wrote to). The time is not secret:
// the row the token finds holds it too.
func OrderedToken(now time.Time, n int) string {
	b := make([]byte, orderedTimeBytes+n)
	ms := uint64(max(now.UnixMilli(), 0))
	for i := range orderedTimeBytes {
		b[i] = byte(ms >> (8 * (orderedTimeBytes - 1 - i)))
	}
	_, _ = rand.Read(b[orderedTimeBytes:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// OrderedTokenKey returns what is stored to find a token of OrderedToken(_, n):
// the hex of its time, a dot, then HashToken of the whole token — still only
// the SHA-256 of the secret part. A token of any other shape (one issued
// before ordered tokens, or a made-up one) keys as HashToken(token) alone,
// so links already sent keep working and no shape maps onto another's key.
func OrderedTokenKey(token string, n int) string {
	if len(token) != base64.RawURLEncoding.EncodedLen(orderedTimeBytes+n) {
		return HashToken(token)
	}
	var buf [64]byte
	raw := buf[:]
	if orderedTimeBytes+n > len(buf) {
		raw = make([]byte, orderedTimeBytes+n)
	}
	// (The decoder skips line breaks, so a text holding one decodes short.)
	if m, err := base64.RawURLEncoding.Decode(raw, []byte(token)); err != nil || m != orderedTimeBytes+n {
		return HashToken(token)
	}
	var out [2*orderedTimeBytes + 1]byte
	hex.Encode(out[:], raw[:orderedTimeBytes])
	out[2*orderedTimeBytes] = '.'
	return string(out[:]) + HashToken(token)
}
