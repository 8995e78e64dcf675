package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
)

// writerTx is a batch's transaction (group.go): the writer connection, taken
// from its pool for the batch, with BEGIN IMMEDIATE, COMMIT and ROLLBACK of
// its own instead of a database/sql Tx. A Tx is begun under a cancellable
// context of its own, so database/sql watched every query's rows in it with
// a goroutine and a derived context, and wrapped every statement in more
// allocations; the batch's statements are detached from cancellation
// anyway, so on a plain connection none of that happens (issue 17: about 5 %
// of an invitation's server CPU; README, Performance).
//
// It keeps what the Tx guaranteed: the connection is the batch's alone until
// Commit or Rollback, each called once, hands it back; and it is never handed
// back inside a transaction: a COMMIT that fails is rolled back, and a
// connection whose ROLLBACK fails is closed instead (discard).
type writerTx struct {
	*sql.Conn
}

// beginWriterTx takes the writer connection and begins an immediate
// transaction on it (the writer's pool already begins with _txlock=immediate;
// the same here).
func beginWriterTx(db *sql.DB) (*writerTx, error) {
	ctx := context.Background() // the transaction outlives any one caller
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		if strings.Contains(err.Error(), "within a transaction") {
			discard(c) // left inside one: never to be used again
		} else {
			_ = c.Close() // busy, say: the connection itself is fine
		}
		return nil, err
	}
	return &writerTx{c}, nil
}

// Commit commits and hands the connection back; on failure the transaction
// is rolled back first.
func (t *writerTx) Commit() error {
	if _, err := t.ExecContext(context.Background(), "COMMIT"); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Close()
}

// Rollback rolls back and hands the connection back.
func (t *writerTx) Rollback() error {
	if _, err := t.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		// SQLite may already have rolled back (after some errors it
		// does on its own): then the connection is fine. Otherwise it
		// may still be inside the transaction, and must not be reused.
		if !strings.Contains(err.Error(), "no transaction is active") {
			discard(t.Conn)
			return err
		}
	}
	return t.Close()
}

// discard closes the connection for good rather than return it to the pool
// (database/sql drops a connection whose Raw function reports it bad).
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}
