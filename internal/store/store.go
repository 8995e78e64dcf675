// Package store keeps Gatehouse's data in SQL. One query set serves both
// engines: queries use $N placeholders, BIGINT microsecond times, TEXT ids and
// JSON, and BYTEA blobs, all of which SQLite and PostgreSQL read alike. The
// engine packages (store/sqlite, store/postgres) open the connections and
// supply the few engine-specific pieces through Dialect.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Dialect holds what differs between the engines.
type Dialect interface {
	// Name is "sqlite" or "postgres" (also the goose dialect name's stem).
	Name() string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation(err error) bool
	// IsInvalidText reports whether err is the engine refusing text that is
	// not valid UTF-8 or holds NUL (PostgreSQL does; SQLite stores anything).
	IsInvalidText(err error) bool
	// SkipLocked is appended to a row-claiming subquery: "FOR UPDATE SKIP
	// LOCKED" on PostgreSQL, "" on SQLite, whose single writer serialises claims.
	SkipLocked() string
	// ForUpdate is appended to a SELECT that locks the rows it reads until
	// commit: "FOR NO KEY UPDATE" on PostgreSQL (rows that merely reference
	// them stay insertable), "" on SQLite, whose write
	// transactions (BEGIN IMMEDIATE) already run one at a time.
	ForUpdate() string
	// IsUnavailable reports engine errors meaning the database cannot be
	// reached now (beyond the network errors both engines share).
	IsUnavailable(err error) bool
}

// Box seals secrets held for later delivery (mail bodies) at rest. Seal
// returns new memory: the caller may reuse plaintext afterwards.
type Box interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(ciphertext []byte) ([]byte, error)
}

// Store is the database. Writes go through Tx on the writer; reads use R.
type Store struct {
	writer  *sql.DB
	reader  *sql.DB
	dialect Dialect
	box     Box
	closers []func() error
	subs    subscribers
	audit   auditKeys
	parts   sync.Map // part name → up (bool)
	group   *group   // group commit (SQLite), nil when off
	// chainKick wakes the background audit chainer; nil when events are
	// chained as they are written (audit_defer.go).
	chainKick chan struct{}
	// chainRefused holds the unchained events the chainer refused (logged
	// once each).
	chainRefused sync.Map
	// observe, when set (tests), sees every query before it runs; atomic
	// because background workers (the audit chainer) run queries too.
	observe atomic.Pointer[func(query string, args []any)]
}

// Observe makes fn see every query this store runs from now on, with its
// arguments (for query-plan tests; nil stops). Background workers' queries
// are seen too, from their goroutines: fn must be safe for concurrent use.
func (s *Store) Observe(fn func(query string, args []any)) {
	if fn == nil {
		s.observe.Store(nil)
		return
	}
	s.observe.Store(&fn)
}

// observed passes queries to the store's observer, then runs them.
type observed struct {
	querier
	fn func(query string, args []any)
}

func (o observed) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	o.fn(q, args)
	return o.querier.ExecContext(ctx, q, args...)
}

func (o observed) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	o.fn(q, args)
	return o.querier.QueryContext(ctx, q, args...)
}

func (o observed) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	o.fn(q, args)
	return o.querier.QueryRowContext(ctx, q, args...)
}

func (o observed) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	p, ok := o.querier.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return nil, fmt.Errorf("store: %T cannot prepare statements", o.querier)
	}
	return p.PrepareContext(ctx, q)
}

func (s *Store) wrapQ(q querier) querier {
	fn := s.observe.Load()
	if fn == nil {
		return q
	}
	return observed{q, *fn}
}

// New wraps opened connections. On PostgreSQL writer and reader are one pool.
// A box that also holds an audit key (secret.Key does) seals the audit chain.
func New(writer, reader *sql.DB, dialect Dialect, box Box) *Store {
	s := &Store{writer: writer, reader: reader, dialect: dialect, box: box}
	if k, ok := box.(AuditKeyer); ok {
		id, key := k.AuditKey()
		s.audit = auditKeys{current: id, keys: map[string][]byte{id: key}}
	}
	return s
}

// OnClose registers a function run by Close, after the pools close.
func (s *Store) OnClose(fn func() error) { s.closers = append(s.closers, fn) }

// Dialect returns the engine's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// WriterDB and ReaderDB expose the pools for migrations, metrics and tests.
func (s *Store) WriterDB() *sql.DB { return s.writer }
func (s *Store) ReaderDB() *sql.DB { return s.reader }

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	errs = append(errs, s.writer.Close())
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	for _, fn := range s.closers {
		errs = append(errs, fn())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers a query, on the writer too when it
// is a pool of its own.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if s.writer != s.reader {
		return s.writer.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
	return nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Conn runs queries, either on the reader pool or inside a transaction.
// All data access methods hang off Conn so that the same method serves both.
type Conn struct {
	q     querier
	s     *Store
	inTx  bool
	after []func()
	depth int // savepoints open (nested.go)
	// batch is the in-memory state of the group-commit batch this Conn
	// runs in (batch_state.go); nil outside one.
	batch *batchState
}

// R returns a Conn on the reader pool, for reads outside a transaction.
func (s *Store) R() *Conn { return &Conn{q: s.wrapQ(s.reader), s: s} }

// Tx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite). It commits
// when fn returns nil and rolls back otherwise. Functions registered with
// Conn.AfterCommit run after a successful commit.
func (s *Store) Tx(ctx context.Context, fn func(tx *Conn) error) error {
	if outer := s.outerTx(ctx); outer != nil {
		return outer.savepoint(ctx, fn) // nested.go
	}
	if s.group != nil {
		return s.groupTx(ctx, fn) // group.go
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		if s.IsUnavailable(err) {
			return unavailable(err)
		}
		return gatehouse.Internal(fmt.Errorf("begin: %w", err))
	}
	c := &Conn{q: s.wrapQ(tx), s: s, inTx: true}
	if err := fn(c); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if s.IsUnavailable(err) {
			return unavailable(err)
		}
		return gatehouse.Internal(fmt.Errorf("commit: %w", err))
	}
	for _, f := range c.after {
		f()
	}
	return nil
}

// AfterCommit registers fn to run once the transaction commits. Outside a
// transaction it runs fn at once.
func (c *Conn) AfterCommit(fn func()) {
	if !c.inTx {
		fn()
		return
	}
	c.after = append(c.after, fn)
}

// exec runs a statement and wraps failures as internal errors.
func (c *Conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, c.wrap(err, query)
	}
	return res, nil
}

func (c *Conn) wrap(err error, query string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if c.s.IsUnavailable(err) {
		return unavailable(err)
	}
	if c.s.dialect.IsInvalidText(err) {
		return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalid_text", Message: "Text must be valid UTF-8 without NUL characters.", Cause: err}
	}
	if c.s.dialect.IsUniqueViolation(err) {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "Already exists.", Cause: err}
	}
	return gatehouse.Internal(fmt.Errorf("%w (query: %.60s)", err, query))
}

// notFound turns sql.ErrNoRows into a not-found error naming what was sought.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "%s not found.", what)
	}
	return err
}

// Times are stored as BIGINT microseconds since the Unix epoch (UTC), which
// both engines sort and compare natively.

func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func fromNullTS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromTS(v.Int64)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Now truncates to the stored precision so values round-trip exactly.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
