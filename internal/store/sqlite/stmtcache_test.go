package sqlite_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Statements are prepared once per connection and reused; the same text
// run again while its rows are still open (on the one writer connection)
// gets its own statement, errors leave the cached statement usable, and
// scripts still run whole.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), storetest.MustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.WriterDB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE u (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (id, v) VALUES ($1, $2)`, i, "v"); err != nil {
			t.Fatal(err)
		}
	}
	// A constraint violation through the cached statement, then success.
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id, v) VALUES ($1, $2)`, 1, "dup"); err == nil {
		t.Fatal("duplicate id inserted")
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id, v) VALUES ($1, $2)`, 4, "v"); err != nil {
		t.Fatalf("cached statement after an error: %v", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		// The same text while outer's rows are open.
		var m int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+q+`)`, id).Scan(&m); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for inner.Next() {
			k++
		}
		inner.Close()
		if k != m || k != 5-id {
			t.Fatalf("nested run of the same statement: %d rows, want %d", k, 5-id)
		}
		n++
	}
	if err := outer.Err(); err != nil || n != 4 {
		t.Fatalf("outer rows %d, %v", n, err)
	}
	outer.Close()
	// Reused after close, with other arguments.
	var first int
	if err := tx.QueryRowContext(ctx, q, 3).Scan(&first); err != nil || first != 3 {
		t.Fatalf("reused statement: %d %v", first, err)
	}
}
