package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// TestWriterTx: a batch's transaction hands the writer connection back to
// its pool outside any transaction, whether it commits, rolls back, fails
// to commit, or finds its transaction already ended.
func TestWriterTx(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "w.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // as the writer's pool: one connection
	if _, err := db.ExecContext(ctx, `CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id))`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM p`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// outside reports whether the pooled connection is outside any
	// transaction: BEGIN fails inside one.
	outside := func(step string) {
		t.Helper()
		if got := db.Stats().InUse; got != 0 {
			t.Fatalf("%s: %d connections in use", step, got)
		}
		if _, err := db.ExecContext(ctx, `BEGIN`); err != nil {
			t.Fatalf("%s: the connection came back inside a transaction: %v", step, err)
		}
		if _, err := db.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Fatal(err)
		}
	}
	run := func(step string, fn func(tx *writerTx) error) error {
		t.Helper()
		tx, err := beginWriterTx(db)
		if err != nil {
			t.Fatalf("%s: begin: %v", step, err)
		}
		return fn(tx)
	}

	if err := run("commit", func(tx *writerTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO p VALUES (1)`); err != nil {
			return err
		}
		return tx.Commit()
	}); err != nil || count() != 1 {
		t.Fatalf("commit: %v, %d rows", err, count())
	}
	outside("commit")

	if err := run("rollback", func(tx *writerTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO p VALUES (2)`); err != nil {
			return err
		}
		return tx.Rollback()
	}); err != nil || count() != 1 {
		t.Fatalf("rollback: %v, %d rows", err, count())
	}
	outside("rollback")

	// A COMMIT that fails (a deferred foreign key) leaves SQLite inside
	// the transaction: Commit rolls it back before handing the
	// connection back.
	if err := run("failed commit", func(tx *writerTx) error {
		for _, q := range []string{`PRAGMA defer_foreign_keys = ON`, `INSERT INTO p VALUES (3)`, `INSERT INTO c VALUES (99)`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return tx.Commit()
	}); err == nil || count() != 1 {
		t.Fatalf("failed commit: %v, %d rows", err, count())
	}
	outside("failed commit")

	// The transaction already ended (here by a statement of the batch's):
	// Rollback finds none and hands the connection back.
	if err := run("ended", func(tx *writerTx) error {
		if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
			return err
		}
		return tx.Rollback()
	}); err != nil {
		t.Fatalf("ended: %v", err)
	}
	outside("ended")

	// Another connection holds the write lock: BEGIN IMMEDIATE fails
	// (busy), and the connection goes back to the pool, open and usable.
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := beginWriterTx(db); err == nil {
		t.Fatal("began a write transaction while another connection held the lock")
	}
	if st := db.Stats(); st.OpenConnections != 1 {
		t.Errorf("after a busy BEGIN: %d connections open, want the one kept", st.OpenConnections)
	}
	if _, err := lock.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	outside("busy")
}
