package service

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// counters keeps throttle state per key. On PostgreSQL it is the database
// (every process shares one budget, so N processes do not give a guesser N
// times the budget); on SQLite, one process, it is memory.
type counters interface {
	// update runs fn on key's state, atomically for that key across every
	// process sharing the counters, and saves it (stale after keep) unless
	// fn reports no change.
	update(ctx context.Context, key string, keep time.Duration, fn func(st *store.ThrottleState) (changed bool)) error
	read(ctx context.Context, key string) (store.ThrottleState, error)
	clear(ctx context.Context, key string) error
}

func newCounters(b *base) counters {
	if b.store.Dialect().Name() == "postgres" {
		return &dbCounters{store: b.store, now: b.now}
	}
	return &memCounters{now: b.now, m: map[string]*memCounter{}}
}

type dbCounters struct {
	store *store.Store
	now   func() time.Time
}

func (c *dbCounters) update(ctx context.Context, key string, keep time.Duration, fn func(st *store.ThrottleState) bool) error {
	return c.store.Tx(ctx, func(tx *store.Conn) error {
		now := c.now()
		st, err := tx.LockThrottle(ctx, key, now.Add(keep))
		if err != nil {
			return err
		}
		if !fn(&st) {
			return nil
		}
		return tx.SaveThrottle(ctx, key, st, now.Add(keep))
	})
}

func (c *dbCounters) read(ctx context.Context, key string) (store.ThrottleState, error) {
	return c.store.R().ReadThrottle(ctx, key)
}

func (c *dbCounters) clear(ctx context.Context, key string) error {
	return c.store.Tx(ctx, func(tx *store.Conn) error { return tx.DeleteThrottle(ctx, key) })
}

type memCounter struct {
	st      store.ThrottleState
	expires time.Time
}

type memCounters struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]*memCounter
	swept time.Time
}

func (c *memCounters) update(_ context.Context, key string, keep time.Duration, fn func(st *store.ThrottleState) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// Drop stale keys now and then, so the map tracks only active ones.
	if now.Sub(c.swept) > time.Minute {
		for k, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, k)
			}
		}
		c.swept = now
	}
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		e = &memCounter{}
	}
	if fn(&e.st) {
		e.expires = now.Add(keep)
		c.m[key] = e
	}
	return nil
}

func (c *memCounters) read(_ context.Context, key string) (store.ThrottleState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && !c.now().After(e.expires) {
		return e.st, nil
	}
	return store.ThrottleState{}, nil
}

func (c *memCounters) clear(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
	return nil
}

// Throttle limits events per key (an IP, an account) with a token bucket
// (GCRA: one time per key): burst events at once, refilled one per every.
type Throttle struct {
	name  string // prefixes keys, so throttles share one store of counters
	every time.Duration
	burst int
	c     counters
	now   func() time.Time
}

// throttle makes a throttle over the services' shared counters.
func (b *base) throttle(name string, every time.Duration, burst int) *Throttle {
	return &Throttle{name: name, every: every, burst: burst, c: b.counters, now: b.now}
}

// wait is how long until key may have one more event, 0 when now.
func (t *Throttle) wait(st store.ThrottleState, now time.Time) time.Duration {
	tat := st.TAT
	if tat.Before(now) {
		tat = now
	}
	if over := tat.Add(t.every).Sub(now) - time.Duration(t.burst)*t.every; over > 0 {
		return over
	}
	return 0
}

func (t *Throttle) keep() time.Duration { return time.Duration(t.burst) * t.every }

// Check refuses with a 429 when key has no budget left, without using any.
func (t *Throttle) Check(ctx context.Context, key, message string) error {
	st, err := t.c.read(ctx, t.name+key)
	if err != nil {
		return err
	}
	if w := t.wait(st, t.now()); w > 0 {
		return rateLimited(message, w)
	}
	return nil
}

// Use spends one event of key's budget.
func (t *Throttle) Use(ctx context.Context, key string) error {
	return t.c.update(ctx, t.name+key, t.keep(), func(st *store.ThrottleState) bool {
		now := t.now()
		if st.TAT.Before(now) {
			st.TAT = now
		}
		st.TAT = st.TAT.Add(t.every)
		return true
	})
}

// Take checks and spends in one step.
func (t *Throttle) Take(ctx context.Context, key, message string) error {
	var w time.Duration
	err := t.c.update(ctx, t.name+key, t.keep(), func(st *store.ThrottleState) bool {
		now := t.now()
		if w = t.wait(*st, now); w > 0 {
			return false
		}
		if st.TAT.Before(now) {
			st.TAT = now
		}
		st.TAT = st.TAT.Add(t.every)
		return true
	})
	if err != nil {
		return err
	}
	if w > 0 {
		return rateLimited(message, w)
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
