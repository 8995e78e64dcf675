package store

import (
	"context"
	"database/sql"
)

// tracer runs queries on q after reporting each one to fn.
type tracer struct {
	q  querier
	fn func(query string, args []any)
}

func (t tracer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.fn(query, args)
	return t.q.ExecContext(ctx, query, args...)
}

func (t tracer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.fn(query, args)
	return t.q.QueryContext(ctx, query, args...)
}

func (t tracer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.fn(query, args)
	return t.q.QueryRowContext(ctx, query, args...)
}

// Traced returns a Conn on the reader pool that reports every statement and
// its arguments to fn before running it. Plan tests use it to see the exact
// SQL a list method builds; nothing in the request path calls it.
func (s *Store) Traced(fn func(query string, args []any)) *Conn {
	return &Conn{q: tracer{q: s.reader, fn: fn}, s: s}
}
