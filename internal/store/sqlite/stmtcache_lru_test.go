package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// TestStatementCacheLRU: a full cache makes room for a new statement by
// finalizing the least recently used one, so a hot statement first run
// after many one-off texts is still prepared once, statements in use are
// never finalized, and the cache stays at its size.
func TestStatementCacheLRU(t *testing.T) {
	ctx := context.Background()
	db := sql.OpenDB(&connector{dsn: "file:" + t.TempDir() + "/t.db"})
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	counts := func() (prepared, uncached, size int) {
		t.Helper()
		if err := conn.Raw(func(dc any) error {
			c := dc.(*cachingConn)
			prepared, uncached, size = c.prepared, c.uncached, len(c.stmts)
			if c.lru.Len() != size {
				t.Fatalf("%d statements listed, %d kept", c.lru.Len(), size)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	run := func(q string) {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, q, 1).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	const hot = `SELECT $1 + 1000000`
	// Fill the cache with one-off texts, the hot one among them.
	for i := range stmtCacheSize + 100 {
		run(fmt.Sprintf(`SELECT $1 + %d`, i))
		run(hot)
	}
	prepared, uncached, size := counts()
	if size != stmtCacheSize || uncached != 0 || prepared != stmtCacheSize+101 {
		t.Fatalf("after %d texts: %d cached, %d prepared, %d run uncached; want %d, %d, 0",
			stmtCacheSize+101, size, prepared, uncached, stmtCacheSize, stmtCacheSize+101)
	}
	// A statement first run now is cached too.
	late := `SELECT $1 + 2000000`
	run(late)
	run(late)
	run(hot)
	if p, u, _ := counts(); p != prepared+1 || u != 0 {
		t.Fatalf("a new statement in a full cache: %d prepared, %d uncached; want %d, 0", p, u, prepared+1)
	}
	// Open rows keep their statement while a cache's worth of new texts
	// passes through: it becomes the least recently used and is skipped.
	rows, err := conn.QueryContext(ctx, `SELECT $1 + 0 UNION ALL SELECT 2`, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no row")
	}
	for i := range stmtCacheSize + 10 {
		run(fmt.Sprintf(`SELECT $1 + %d`, 3000000+i))
	}
	var second int
	if !rows.Next() || rows.Scan(&second) != nil || second != 2 {
		t.Fatalf("rows of a statement in use: %v", rows.Err())
	}
	rows.Close()
	if _, _, size := counts(); size != stmtCacheSize {
		t.Fatalf("%d statements cached, want %d", size, stmtCacheSize)
	}
}
