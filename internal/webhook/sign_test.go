package webhook

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector (the same
// one the Svix and standard-webhooks libraries test against).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignStandardVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil || got != vectorSig {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSig)
	}
	now := time.Unix(vectorTS+10, 0)
	if !Verify(vectorSecret, vectorID, "1614265330", "v1,bogus "+vectorSig, []byte(vectorBody), now, 5*time.Minute) {
		t.Fatal("Verify refused the vector among several signatures")
	}
	for name, c := range map[string]struct{ id, ts, body string }{
		"body":      {vectorID, "1614265330", `{"test": 2432232315}`},
		"id":        {"msg_other", "1614265330", vectorBody},
		"timestamp": {vectorID, "1614265331", vectorBody},
	} {
		if Verify(vectorSecret, c.id, c.ts, vectorSig, []byte(c.body), now, 5*time.Minute) {
			t.Errorf("Verify accepted a changed %s", name)
		}
	}
	if Verify(vectorSecret, vectorID, "1614265330", vectorSig, []byte(vectorBody), now.Add(time.Hour), 5*time.Minute) {
		t.Error("Verify accepted a stale timestamp")
	}
}

func TestSignatureHeaderTwoSecrets(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("secrets %q %q", a, b)
	}
	now := time.Now()
	h, err := SignatureHeader([]string{a, b}, "evt_1", now, []byte("{}"))
	if err != nil || len(strings.Fields(h)) != 2 {
		t.Fatalf("header %q, %v", h, err)
	}
	for _, s := range []string{a, b} {
		if !Verify(s, "evt_1", strconv.FormatInt(now.Unix(), 10), h, []byte("{}"), now, time.Minute) {
			t.Errorf("secret %d not verified", len(s))
		}
	}
	if Verify(NewSecret(), "evt_1", strconv.FormatInt(now.Unix(), 10), h, []byte("{}"), now, time.Minute) {
		t.Error("a third secret verified")
	}
}
