package store

import (
	"context"
	"sync"
)

// Notifications tell every Gatehouse process that cached state changed
// (a member's rights, a folder tree, a session). Inside a transaction they
// are delivered only after commit: at once to this process, and on
// PostgreSQL to every other process through NOTIFY on NotifyChannel.

// NotifyChannel is the PostgreSQL channel carrying invalidations.
const NotifyChannel = "gatehouse_invalidate"

// FlushAll is delivered when a process may have missed notifications (its
// listener reconnected): drop every cache.
const FlushAll = "*"

type subscribers struct {
	mu  sync.RWMutex
	fns []func(msg string)
}

// Subscribe registers fn to receive every notification, from this process
// and, on PostgreSQL, from others.
func (s *Store) Subscribe(fn func(msg string)) {
	s.subs.mu.Lock()
	s.subs.fns = append(s.subs.fns, fn)
	s.subs.mu.Unlock()
}

// Dispatch delivers msg to this process's subscribers (engines call it for
// messages from other processes).
func (s *Store) Dispatch(msg string) {
	s.subs.mu.RLock()
	fns := s.subs.fns
	s.subs.mu.RUnlock()
	for _, fn := range fns {
		fn(msg)
	}
}

// Notify announces msg after the transaction commits.
func (c *Conn) Notify(ctx context.Context, msg string) error {
	if c.s.dialect.Name() == "postgres" {
		// pg_notify inside the transaction is sent at commit, never on rollback.
		if _, err := c.exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, msg); err != nil {
			return err
		}
	}
	c.AfterCommit(func() { c.s.Dispatch(msg) })
	return nil
}

// Publish announces msg to the other processes at once, outside any
// transaction (this process is expected to have acted on it already).
func (s *Store) Publish(ctx context.Context, msg string) error {
	if s.dialect.Name() != "postgres" {
		return nil
	}
	_, err := s.writer.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, msg)
	return err
}
