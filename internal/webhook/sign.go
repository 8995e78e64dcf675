// Package webhook delivers Gatehouse's events to subscribers' HTTP
// endpoints: Standard Webhooks signatures, an HTTP client that refuses
// private addresses, and the worker that claims due deliveries from the
// outbox, retries them with backoff and disables endpoints that keep failing.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret (the Standard Webhooks form).
const SecretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: whsec_ and 32 random bytes in
// base64.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes the HMAC key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, fmt.Errorf("webhook secret is not whsec_<base64>")
	}
	return k, nil
}

// Sign returns one signature, "v1,<base64 HMAC-SHA256 of id.timestamp.body>",
// as the Standard Webhooks specification defines it.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	k, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignatureHeader is the webhook-signature value: one signature per secret,
// space separated (two while a rotated secret still overlaps).
func SignatureHeader(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, msgID, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Verify reports whether header holds a valid signature of the message for
// secret and the timestamp is within tolerance of now (a receiver's check;
// Gatehouse's tests use it).
func Verify(secret, msgID, timestamp, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	ts := time.Unix(sec, 0)
	if tolerance > 0 && (now.Sub(ts) > tolerance || ts.Sub(now) > tolerance) {
		return false
	}
	want, err := Sign(secret, msgID, ts, body)
	if err != nil {
		return false
	}
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
