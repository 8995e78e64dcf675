package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"strings"

	msqlite "modernc.org/sqlite"
)

// The store owns its SQLite connections' prepared statements: every
// connection (the one writer, each reader) keeps the statements it has
// prepared, keyed by their text, and reuses them. Parsing SQL was about a
// quarter of the server's CPU per invitation (issue 17's profile). The
// cache lives on the driver connection, not on *sql.DB: database/sql's own
// prepared statements on a DB re-prepare on whichever connection is free
// and, with one writer connection held by a transaction, wait for it
// forever.

// stmtCacheSize bounds the statements kept per connection; past it, the
// least recently used one is finalized to make room. (It used to stop
// caching once full: a long-running process whose first 256 statements
// included one-off texts prepared its hot statements anew on every run for
// the rest of its life.)
const stmtCacheSize = 256

// connector opens modernc.org/sqlite connections wrapped in a statement
// cache.
type connector struct {
	dsn string
	drv msqlite.Driver
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, stmts: map[string]*list.Element{}}, nil
}

func (c *connector) Driver() driver.Driver { return &c.drv }

// inner is what modernc.org/sqlite's connection implements beyond
// driver.Conn.
type inner interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	driver.Conn
	stmts map[string]*list.Element // of *cachedStmt, in lru
	lru   list.List                // most recently used first

	prepared, uncached int // statements prepared for the cache, runs outside it (tests)
}

type cachedStmt struct {
	q    string
	st   driver.Stmt
	busy bool // its rows are open: the same text meanwhile gets a fresh statement
}

func (c *cachingConn) in() inner { return c.Conn.(inner) }

// cacheable excludes scripts (several statements): the driver re-parses
// those on every run anyway.
func cacheable(q string) bool {
	return !strings.Contains(strings.TrimRight(strings.TrimSpace(q), ";"), ";")
}

// stmt returns the cached statement for q, preparing it on first use; nil
// when q is not cached (a script, or in use, or every cached statement is).
func (c *cachingConn) stmt(ctx context.Context, q string) (*cachedStmt, error) {
	if e, ok := c.stmts[q]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			c.uncached++
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	if !cacheable(q) || (len(c.stmts) >= stmtCacheSize && !c.evict()) {
		c.uncached++
		return nil, nil
	}
	st, err := c.in().PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.prepared++
	c.stmts[q] = c.lru.PushFront(&cachedStmt{q: q, st: st})
	return c.stmts[q].Value.(*cachedStmt), nil
}

// evict finalizes the least recently used statement whose rows are not
// open; false when every one's are.
func (c *cachingConn) evict() bool {
	for e := c.lru.Back(); e != nil; e = e.Prev() {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			continue
		}
		_ = cs.st.Close()
		c.lru.Remove(e)
		delete(c.stmts, cs.q)
		return true
	}
	return false
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.in().ExecContext(ctx, q, args)
	}
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.in().QueryContext(ctx, q, args)
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.in().PrepareContext(ctx, q)
}

func (c *cachingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.in().BeginTx(ctx, o)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.in().Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.in().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for q, e := range c.stmts {
		_ = e.Value.(*cachedStmt).st.Close()
		delete(c.stmts, q)
	}
	c.lru.Init()
	return c.Conn.Close()
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
