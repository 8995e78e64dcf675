package service

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// touches batches sessions' last-use times: a session read from the
// database (at most once per sessionCacheTTL per process) is noted here and
// written with the others by FlushLastUsed, instead of costing a write
// transaction on the request's path. The batch is bounded; when full, the
// next ones are written at once, as before, and a flush is asked for.
type touches struct {
	mu        sync.Mutex
	at        map[string]time.Time
	max       int
	flushSoon chan struct{}
}

func newTouches(maxEntries int) *touches {
	return &touches{at: map[string]time.Time{}, max: maxEntries, flushSoon: make(chan struct{}, 1)}
}

// note records a use; false means the batch is full (write it now).
func (t *touches) note(id string, now time.Time) bool {
	t.mu.Lock()
	_, seen := t.at[id]
	ok := seen || len(t.at) < t.max
	if ok {
		t.at[id] = now
	}
	full := len(t.at) >= t.max
	t.mu.Unlock()
	if full {
		select {
		case t.flushSoon <- struct{}{}:
		default:
		}
	}
	return ok
}

func (t *touches) take() map[string]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.at
	t.at = map[string]time.Time{}
	return at
}

// touch records that session id was used now.
func (a *Auth) touch(ctx context.Context, id string, now time.Time) error {
	if a.touched.note(id, now) {
		return nil
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error { return tx.TouchSession(ctx, id, now) })
}

// FlushLastUsed writes the batched session last-use times (called
// periodically, when the batch is full, and before sessions are listed).
func (a *Auth) FlushLastUsed(ctx context.Context) error {
	at := a.touched.take()
	if len(at) == 0 {
		return nil
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error {
		for id, t := range at {
			if err := tx.TouchSession(ctx, id, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// FlushSoon is signalled when the batch of last-use times is full.
func (a *Auth) FlushSoon() <-chan struct{} { return a.touched.flushSoon }
