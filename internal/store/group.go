package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Group commit (SQLite). SQLite runs one write transaction at a time, and
// each commit writes every page it touched to the WAL: with one transaction
// per request, N concurrent invitations write the audit chain's head page,
// the quota page and the last leaf of every index N times. Instead, the
// writer is passed from caller to caller like a baton while one transaction
// stays open: each caller runs its function in the caller's own goroutine,
// inside a savepoint of the shared transaction (so a failure rolls back that
// caller's work alone), and the last caller of the batch (when nobody else
// waits, or the batch is full or old) commits. A caller whose function
// succeeded returns only after the commit, with the commit's outcome, and
// only then runs its after-commit functions: nothing is reported done that
// is not on disk. A caller whose function failed returns at once (nothing
// of its work stays in the transaction).
//
// Statements in a batch run detached from the caller's cancellation: on
// SQLite an interrupted write inside a transaction may roll back the whole
// transaction, that is, other callers' work. A cancelled caller fails at its
// next statement instead (database/sql checks the context first), and its
// savepoint is rolled back. If a savepoint command itself fails, the
// transaction can no longer be trusted: the batch is rolled back and every
// member gets the error.

// Group commit limits: a batch closes after this many callers or this age,
// so one slow function cannot hold finished callers' answers for long.
const (
	groupMaxCallers = 128
	groupMaxAge     = 10 * time.Millisecond
)

type group struct {
	mu    sync.Mutex
	held  bool    // a caller holds the writer
	queue []*turn // callers waiting for it, first come first served
	cur   *batch  // the open transaction, nil when none
}

// turn is one waiting caller; ready closes when the writer is handed to it.
type turn struct {
	ready   chan struct{}
	granted bool // under group.mu
}

// batch is one shared transaction.
type batch struct {
	tx     *writerTx // the writer connection in a transaction (group_tx.go)
	n      int       // callers that ran in it
	start  time.Time
	broken error // a savepoint command failed: roll everything back
	done   chan struct{}
	err    error       // the commit's outcome, set before done closes
	state  *batchState // rows moved in memory, written before the commit (batch_state.go)
}

// EnableGroupCommit makes Tx batch concurrent write transactions into one
// (see group.go). Only for an engine with one writer connection (SQLite).
// Call before use.
func (s *Store) EnableGroupCommit() { s.group = &group{} }

// acquire waits for the writer. A caller granted the writer while its
// context ended still owns it (and must hand it on).
func (g *group) acquire(ctx context.Context) error {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	t := &turn{ready: make(chan struct{})}
	g.queue = append(g.queue, t)
	g.mu.Unlock()
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if t.granted {
			return nil
		}
		for i, q := range g.queue {
			if q == t {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				break
			}
		}
		return ctx.Err()
	}
}

// handOff gives the writer to the first waiting caller, or frees it.
// Called with g.mu held by the writer's holder.
func (g *group) handOff() {
	if len(g.queue) > 0 {
		t := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		t.granted = true
		close(t.ready)
		return
	}
	g.held = false
}

// groupTx is Tx under group commit.
func (s *Store) groupTx(ctx context.Context, fn func(tx *Conn) error) error {
	g := s.group
	if err := g.acquire(ctx); err != nil {
		return gatehouse.Internal(fmt.Errorf("begin: %w", err))
	}
	b := g.cur
	if b == nil {
		tx, err := beginWriterTx(s.writer)
		if err != nil {
			g.mu.Lock()
			g.handOff()
			g.mu.Unlock()
			if s.IsUnavailable(err) {
				return unavailable(err)
			}
			return gatehouse.Internal(fmt.Errorf("begin: %w", err))
		}
		b = &batch{tx: tx, start: time.Now(), done: make(chan struct{}), state: newBatchState()}
		g.cur = b
	}
	b.n++
	var after []func()
	var ferr error
	var panicked any
	if err := ctx.Err(); err != nil {
		ferr = gatehouse.Internal(fmt.Errorf("begin: %w", err))
	} else {
		after, panicked, ferr = s.member(ctx, b, fn)
	}

	g.mu.Lock()
	if b.broken == nil && len(g.queue) > 0 && b.n < groupMaxCallers && time.Since(b.start) < groupMaxAge {
		// Someone waits: leave the transaction open for them.
		g.handOff()
		g.mu.Unlock()
	} else {
		g.cur = nil
		g.mu.Unlock()
		s.finish(b)
		g.mu.Lock()
		g.handOff()
		g.mu.Unlock()
	}
	if panicked != nil {
		panic(panicked)
	}
	if ferr != nil {
		return ferr
	}
	<-b.done
	if b.err != nil {
		return b.err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// finish commits a batch (or rolls back a broken one) and wakes its members.
func (s *Store) finish(b *batch) {
	defer close(b.done)
	if b.broken != nil {
		_ = b.tx.Rollback()
		b.err = b.broken
		return
	}
	c := &Conn{q: s.wrapQ(b.tx), s: s, inTx: true, batch: b.state}
	if err := c.flushBatch(context.Background()); err != nil {
		_ = b.tx.Rollback()
		b.err = err
		return
	}
	if err := b.tx.Commit(); err != nil {
		if s.IsUnavailable(err) {
			b.err = unavailable(err)
			return
		}
		b.err = gatehouse.Internal(fmt.Errorf("commit: %w", err))
	}
}

// member runs one caller's function inside a savepoint of the batch. It
// returns the caller's after-commit functions, what it panicked with (after
// rolling its savepoint back), and its error.
func (s *Store) member(ctx context.Context, b *batch, fn func(tx *Conn) error) (after []func(), panicked any, ferr error) {
	sp := &Conn{q: s.wrapQ(b.tx), s: s, inTx: true}
	if _, err := sp.exec(ctx, "SAVEPOINT gh_group"); err != nil {
		b.broken = err
		return nil, nil, err
	}
	c := &Conn{q: s.wrapQ(detached{b.tx}), s: s, inTx: true, batch: b.state}
	snap := b.state.snapshot()
	func() {
		defer func() {
			if p := recover(); p != nil {
				panicked = p
				ferr = gatehouse.Internal(fmt.Errorf("panic in transaction: %v", p))
			}
		}()
		ferr = fn(c)
	}()
	// The savepoint commands run whatever the caller's context says.
	bg := context.WithoutCancel(ctx)
	if ferr != nil {
		if _, err := sp.exec(bg, "ROLLBACK TO SAVEPOINT gh_group"); err != nil {
			b.broken = err
		} else if _, err := sp.exec(bg, "RELEASE SAVEPOINT gh_group"); err != nil {
			b.broken = err
		}
		b.state.restore(snap) // chain heads and budget counts as they were (batch_state.go)
		return nil, panicked, ferr
	}
	if _, err := sp.exec(bg, "RELEASE SAVEPOINT gh_group"); err != nil {
		b.broken = err
		return nil, nil, err
	}
	return c.after, nil, nil
}

// detached runs statements without the caller's cancellation once they
// start (an interrupted SQLite write may roll back the whole shared
// transaction); a context already ended fails before the statement runs,
// as database/sql checks it first.
type detached struct{ q querier }

func (d detached) ctx(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (d detached) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.q.ExecContext(d.ctx(ctx), q, args...)
}

func (d detached) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.q.QueryContext(d.ctx(ctx), q, args...)
}

func (d detached) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.q.QueryRowContext(d.ctx(ctx), q, args...)
}

func (d detached) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	p, ok := d.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return nil, fmt.Errorf("store: %T cannot prepare statements", d.q)
	}
	return p.PrepareContext(d.ctx(ctx), q)
}
