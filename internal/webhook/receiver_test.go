package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// received is one request a receiver got.
type received struct {
	ID, Type string
	Payload  map[string]any
	Valid    bool // the signature verified with the receiver's secret
	Sigs     string
	TS       string
	Body     []byte
	At       time.Time
}

// receiver is a real HTTP endpoint that verifies Standard Webhooks
// signatures. answer decides each response (default 204).
type receiver struct {
	*httptest.Server
	clock  *apptest.Clock
	mu     sync.Mutex
	secret string
	got    []received
	answer func(n int, w http.ResponseWriter) bool
}

func newReceiver(t *testing.T, clock *apptest.Clock) *receiver {
	rc := &receiver{clock: clock}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		typ, _ := p["type"].(string)
		rec := received{ID: r.Header.Get("webhook-id"), Type: typ, Payload: p, Sigs: r.Header.Get("webhook-signature"), At: time.Now(),
			TS: r.Header.Get("webhook-timestamp"), Body: body,
			Valid: rc.secret != "" && webhook.Verify(rc.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
				r.Header.Get("webhook-signature"), body, rc.clock.Now(), 5*time.Minute)}
		rc.got = append(rc.got, rec)
		n := len(rc.got)
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil && answer(n, w) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = s
	rc.mu.Unlock()
}

func (rc *receiver) events() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls until cond holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}
