package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// TTL is how long a decision is reused (default 5s). It bounds how
	// stale an answer can be when no webhook arrives.
	TTL time.Duration
	// MaxEntries bounds the cache (default 10,000 decisions).
	MaxEntries int
	// WebhookSecret (whsec_…) is the signing secret of a Gatehouse webhook
	// endpoint whose URL routes to WebhookHandler; with it, matching events
	// drop cached decisions at once. Subscribe the endpoint to "member.*",
	// "role.*", "api_key.*", "project.*", "folder.*" and "organization.*"
	// (or "*").
	WebhookSecret string
	// WebhookTolerance is the accepted clock skew of webhook timestamps
	// (default 5 minutes).
	WebhookTolerance time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Checker answers permission checks through a Client, reusing recent
// decisions from a bounded in-memory cache. It is safe for concurrent use.
type Checker struct {
	c   *Client
	ttl time.Duration
	max int
	now func() time.Time
	key []byte // webhook HMAC key, nil without a secret
	tol time.Duration

	mu      sync.RWMutex
	entries map[CheckRequest]decision
	gen     uint64 // bumped by every invalidation
}

type decision struct {
	allowed bool
	expires int64 // unix nanoseconds
}

// NewChecker returns a Checker over c.
func NewChecker(c *Client, o CheckerOptions) (*Checker, error) {
	k := &Checker{c: c, ttl: o.TTL, max: o.MaxEntries, now: o.Now, tol: o.WebhookTolerance,
		entries: map[CheckRequest]decision{}}
	if k.ttl <= 0 {
		k.ttl = 5 * time.Second
	}
	if k.max <= 0 {
		k.max = 10_000
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.tol <= 0 {
		k.tol = 5 * time.Minute
	}
	if o.WebhookSecret != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(o.WebhookSecret, "whsec_"))
		if err != nil || len(b) == 0 {
			return nil, errors.New("gatehouse: webhook secret is not whsec_<base64>")
		}
		k.key = b
	}
	return k, nil
}

// cached returns a live cached decision.
func (k *Checker) cached(q CheckRequest, now int64) (allowed, ok bool) {
	k.mu.RLock()
	d, found := k.entries[q]
	k.mu.RUnlock()
	if !found || now >= d.expires {
		return false, false
	}
	return d.allowed, true
}

// Allowed answers q from the cache, or asks Gatehouse and caches the answer
// (allowed or not) for the TTL. Gatehouse's 404 (the user is not a member,
// the resource does not exist) is a denial; other errors are returned and
// not cached.
func (k *Checker) Allowed(ctx context.Context, q CheckRequest) (bool, error) {
	now := k.now().UnixNano()
	if a, ok := k.cached(q, now); ok {
		return a, nil
	}
	k.mu.RLock()
	gen := k.gen
	k.mu.RUnlock()
	r, err := k.c.Check(ctx, q)
	if IsNotFound(err) {
		// Not a member (any more), or no such resource: a denial.
		r, err = CheckResult{}, nil
	}
	if err != nil {
		return false, err
	}
	k.store(q, r.Allowed, gen)
	return r.Allowed, nil
}

// store caches a decision unless an invalidation happened since the
// question was sent (the answer may predate the change).
func (k *Checker) store(q CheckRequest, allowed bool, gen uint64) {
	now := k.now().UnixNano()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen != gen {
		return
	}
	if _, ok := k.entries[q]; !ok && len(k.entries) >= k.max {
		k.evictLocked(now)
	}
	k.entries[q] = decision{allowed: allowed, expires: now + int64(k.ttl)}
}

// evictLocked makes room: expired entries go first (up to 64 looked at),
// else one arbitrary entry.
func (k *Checker) evictLocked(now int64) {
	seen, dropped := 0, false
	for q, d := range k.entries {
		if now >= d.expires {
			delete(k.entries, q)
			dropped = true
		}
		if seen++; seen >= 64 {
			break
		}
	}
	if dropped {
		return
	}
	for q := range k.entries {
		delete(k.entries, q)
		return
	}
}

// Len is the number of cached decisions (live or expired).
func (k *Checker) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.entries)
}

// InvalidateUser drops the decisions about userID, and the caller's own
// ("" user) ones.
func (k *Checker) InvalidateUser(userID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	for q := range k.entries {
		if q.UserID == userID || q.UserID == "" {
			delete(k.entries, q)
		}
	}
}

// InvalidateAll drops every cached decision.
func (k *Checker) InvalidateAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	clear(k.entries)
}

// webhookEvent is the part of a Gatehouse webhook body the cache needs.
type webhookEvent struct {
	Type string `json:"type"`
	Data struct {
		ID string `json:"id"`
	} `json:"data"`
}

// apply drops what an event may have changed: a member event the member's
// decisions; invitation and webhook-endpoint events nothing (an accepted
// invitation arrives as member.added); anything else (roles, API keys,
// projects, folders, the organization) every decision.
func (k *Checker) apply(ev webhookEvent) {
	family, _, _ := strings.Cut(ev.Type, ".")
	switch family {
	case "invitation", "webhook_endpoint":
	case "member":
		if ev.Data.ID == "" {
			k.InvalidateAll()
			return
		}
		k.InvalidateUser(ev.Data.ID)
	default:
		k.InvalidateAll()
	}
}

// VerifyWebhook checks a Standard Webhooks signature: header is the
// webhook-signature value ("v1,<base64>" entries, space separated), the
// HMAC-SHA256 of "id.timestamp.body" under the secret, and the timestamp
// must be within the tolerance of now.
func (k *Checker) VerifyWebhook(id, timestamp, header string, body []byte) bool {
	if k.key == nil || id == "" {
		return false
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := k.now().Sub(time.Unix(sec, 0)); d > k.tol || d < -k.tol {
		return false
	}
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(header) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// WebhookHandler receives Gatehouse's webhook deliveries: a correctly
// signed event drops the matching cached decisions and is answered 204;
// anything else 401 (bad or missing signature) or 400. Without a
// WebhookSecret it refuses every request.
func (k *Checker) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if !k.VerifyWebhook(r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body) {
			http.Error(w, "bad webhook signature", http.StatusUnauthorized)
			return
		}
		var ev webhookEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type == "" {
			http.Error(w, "not a Gatehouse event", http.StatusBadRequest)
			return
		}
		k.apply(ev)
		w.WriteHeader(http.StatusNoContent)
	})
}

// RequirePermission is net/http middleware: resolve names the question a
// request needs answered (from its path, the caller's identity…); the
// request goes on only when Gatehouse allows it. A denial answers 403, a
// question with no Action 403 as well, and a failure to ask (Gatehouse
// unreachable, bad credentials) 503: it fails closed.
func (k *Checker) RequirePermission(resolve func(*http.Request) CheckRequest) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := resolve(r)
			if q.Action == "" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			ok, err := k.Allowed(r.Context(), q)
			switch {
			case err != nil:
				http.Error(w, "permission check unavailable", http.StatusServiceUnavailable)
			case !ok:
				http.Error(w, "forbidden", http.StatusForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
