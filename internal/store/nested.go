package store

import (
	"context"
	"fmt"
)

type txKey struct{}

// WithTx returns a context under which Store.Tx does not open a transaction
// of its own: it runs its function inside tx, in a savepoint that a failure
// rolls back alone. Bulk operations use it to run the single operation's
// code once per row in one transaction, keeping the rows that pass.
func WithTx(ctx context.Context, tx *Conn) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// outerTx returns the transaction ctx carries for s, if any.
func (s *Store) outerTx(ctx context.Context) *Conn {
	c, _ := ctx.Value(txKey{}).(*Conn)
	if c == nil || !c.inTx || c.s != s {
		return nil
	}
	return c
}

// savepoint runs fn inside c's transaction under a savepoint: rolled back
// to it when fn fails, released (and fn's after-commit functions handed to
// c) when it succeeds.
func (c *Conn) savepoint(ctx context.Context, fn func(tx *Conn) error) error {
	c.depth++
	defer func() { c.depth-- }()
	name := fmt.Sprintf("gh_sp%d", c.depth)
	if _, err := c.exec(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	inner := &Conn{q: c.q, s: c.s, inTx: true, depth: c.depth, batch: c.batch}
	snap := c.batch.snapshot()
	if err := fn(inner); err != nil {
		if _, rerr := c.exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return rerr
		}
		c.batch.restore(snap) // chain heads and budget counts as they were (batch_state.go)
		if _, rerr := c.exec(ctx, "RELEASE SAVEPOINT "+name); rerr != nil {
			return rerr
		}
		return err
	}
	if _, err := c.exec(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return err
	}
	c.after = append(c.after, inner.after...)
	return nil
}
