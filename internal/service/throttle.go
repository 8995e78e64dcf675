package service

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatehouse/gatehouse"
)

// Throttle limits events per key (an IP, an account) with token buckets.
// It is per process: with several processes a guesser gets at most that many
// times the budget, which still makes guessing hopeless.
type Throttle struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewThrottle allows burst events at once, refilled one per every.
func NewThrottle(every time.Duration, burst int, now func() time.Time) *Throttle {
	return &Throttle{every: every, burst: burst, now: now, buckets: map[string]*rate.Limiter{}}
}

func (t *Throttle) limiter(key string) *rate.Limiter {
	now := t.now()
	// Drop full buckets now and then, so the map tracks only active keys.
	if now.Sub(t.swept) > 10*time.Minute {
		for k, l := range t.buckets {
			if l.TokensAt(now) >= float64(t.burst) {
				delete(t.buckets, k)
			}
		}
		t.swept = now
	}
	l, ok := t.buckets[key]
	if !ok {
		l = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.buckets[key] = l
	}
	return l
}

// Check refuses with a 429 when key has no budget left, without using any.
func (t *Throttle) Check(key, message string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.limiter(key)
	now := t.now()
	if tokens := l.TokensAt(now); tokens < 1 {
		wait := time.Duration((1 - tokens) * float64(t.every))
		return rateLimited(message, wait)
	}
	return nil
}

// Use spends one event of key's budget.
func (t *Throttle) Use(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limiter(key).AllowN(t.now(), 1)
}

// Take checks and spends in one step.
func (t *Throttle) Take(key, message string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.limiter(key)
	now := t.now()
	if !l.AllowN(now, 1) {
		tokens := l.TokensAt(now)
		return rateLimited(message, time.Duration((1-tokens)*float64(t.every)))
	}
	return nil
}

func rateLimited(message string, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &gatehouse.Error{Code: gatehouse.ERATELIMITED, Message: message, RetryAfter: secs}
}
