package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestContract(t *testing.T) { storetest.Run(t, storetest.SQLite()) }

func open(t *testing.T, dir string) *store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, storetest.MustKey(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// A data directory that does not exist yet, two levels deep.
		dir := filepath.Join(t.TempDir(), "data", "nested")
		s := open(t, dir)
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			t.Fatalf("data directory not created: %v", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("data directory mode %v, want no access for group and others", fi.Mode().Perm())
		}
		if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("database file not created: %v", err)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		// Migrated: the tables are there.
		if _, err := s.R().ListMail(context.Background(), 1); err != nil {
			t.Fatalf("ListMail on a new database: %v", err)
		}
	})

	t.Run("EmptyDir", func(t *testing.T) {
		dir := t.TempDir()
		open(t, dir)
		if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
			t.Fatalf("database file not created in an existing empty directory: %v", err)
		}
	})

	t.Run("ErrDataDirIsFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-dir")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(context.Background(), file, storetest.MustKey(t))
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded with a file as the data directory")
		}
	})
}

func TestPragmas(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()

	t.Run("WAL", func(t *testing.T) {
		var mode string
		if err := s.WriterDB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Fatalf("writer journal_mode = %q, want wal", mode)
		}
		if err := s.ReaderDB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Fatalf("reader journal_mode = %q, want wal", mode)
		}
	})

	t.Run("ForeignKeys", func(t *testing.T) {
		var on int
		if err := s.WriterDB().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
			t.Fatal(err)
		}
		if on != 1 {
			t.Fatalf("writer foreign_keys = %d, want 1", on)
		}
		// And enforced: a session of an unknown user is refused.
		err := s.Tx(ctx, func(tx *store.Conn) error {
			return tx.CreateSession(ctx, &gatehouse.Session{ID: "s1", UserID: "no-such-user", AccessHash: "a", RefreshHash: "r"})
		})
		if err == nil {
			t.Fatal("a session of an unknown user was inserted")
		}
	})

	t.Run("BusyTimeout", func(t *testing.T) {
		var ms int
		if err := s.WriterDB().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms); err != nil {
			t.Fatal(err)
		}
		if ms <= 0 {
			t.Fatalf("writer busy_timeout = %d, want > 0", ms)
		}
	})

	t.Run("CacheSize", func(t *testing.T) {
		// Negative: KiB. Each pool's setting (see sqlite.ReaderCacheKiB).
		for _, c := range []struct {
			name string
			db   *sql.DB
			want int
		}{{"writer", s.WriterDB(), -sqlite.WriterCacheKiB}, {"reader", s.ReaderDB(), -sqlite.ReaderCacheKiB}} {
			var n int
			if err := c.db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Errorf("%s cache_size = %d, want %d", c.name, n, c.want)
			}
		}
	})

	t.Run("WALAutocheckpoint", func(t *testing.T) {
		var n int
		if err := s.WriterDB().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != sqlite.WALCheckpointPages {
			t.Errorf("writer wal_autocheckpoint = %d, want %d", n, sqlite.WALCheckpointPages)
		}
	})

	t.Run("ErrReaderIsReadOnly", func(t *testing.T) {
		if _, err := s.ReaderDB().ExecContext(ctx, "INSERT INTO audit_chains (chain_id, seq, last_hash) VALUES ('x', 0, '')"); err == nil {
			t.Fatal("the reader pool accepted a write")
		}
	})
}

// TestSynchronous: the durability setting reaches every connection (1 is
// NORMAL, 2 is FULL).
func TestSynchronous(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		setting string
		want    int
	}{{"", 1}, {"normal", 1}, {"full", 2}, {"FULL", 2}} {
		s, err := sqlite.OpenWith(ctx, t.TempDir(), storetest.MustKey(t), sqlite.Options{Synchronous: tc.setting})
		if err != nil {
			t.Fatal(err)
		}
		for name, db := range map[string]*sql.DB{"writer": s.WriterDB(), "reader": s.ReaderDB()} {
			var got int
			if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%q: %s synchronous = %d, want %d", tc.setting, name, got, tc.want)
			}
		}
		s.Close()
	}
}

// TestBusyIsUnavailable: a write that waits for the lock past the busy
// timeout (another process holds it) is `unavailable` (503), not internal.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.OpenWith(ctx, dir, storetest.MustKey(t), sqlite.Options{BusyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = s.Tx(ctx, func(tx *store.Conn) error { return nil })
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("write while another holds the lock: %v (code %s)", err, gatehouse.ErrorCode(err))
	}
	var ge *gatehouse.Error
	if !errors.As(err, &ge) || ge.RetryAfter <= 0 {
		t.Fatalf("no Retry-After: %#v", err)
	}
	tx.Rollback()
	if err := s.Tx(ctx, func(tx *store.Conn) error { return nil }); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

// TestTemplate: the database file tests get (storetest's template copy),
// read as it is before any store opens it, is what migrating an empty
// database gives: the same tables, indexes and migration history.
func TestTemplate(t *testing.T) {
	e := storetest.SQLite()
	fresh := e.OpenAt(t, e.NewEmptyDSN(t)).ReaderDB()
	copied, err := sql.Open("sqlite", "file:"+filepath.Join(e.NewDSN(t), sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	dump := func(db *sql.DB) string {
		var schema, history string
		err := db.QueryRow(`SELECT group_concat(type || ' ' || name || ': ' || COALESCE(sql, ''), char(10))
			FROM (SELECT * FROM sqlite_schema ORDER BY type, name)`).Scan(&schema)
		if err != nil {
			t.Fatal(err)
		}
		err = db.QueryRow(`SELECT group_concat(version_id || ' ' || is_applied, ',')
			FROM (SELECT * FROM goose_db_version ORDER BY id)`).Scan(&history)
		if err != nil {
			t.Fatal(err)
		}
		return schema + "\nhistory: " + history
	}
	want, got := dump(fresh), dump(copied)
	if !strings.Contains(want, "CREATE TABLE audit_events") {
		t.Fatalf("migrating from empty made no audit_events table:\n%s", want)
	}
	if got != want {
		t.Fatalf("the template differs from a migrated database:\ncopy:\n%s\nmigrated:\n%s", got, want)
	}
}

// TestOpenDropsValueSamples: an ANALYZE run on the file by hand leaves
// sqlite_stat4 samples, which make every look-up be planned again at each
// new bound value; opening the store drops them and keeps the row counts.
func TestOpenDropsValueSamples(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.OpenWith(ctx, dir, storetest.MustKey(t), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedOrgs(ctx, store.OrgSeed{To: 50, Members: 2, Projects: 2, Folders: 5, Now: store.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	count := func(db *sql.DB, q string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	byHand, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byHand.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	if n := count(byHand, "SELECT count(*) FROM sqlite_stat4"); n == 0 {
		t.Fatal("ANALYZE left no samples: the driver is built without STAT4, nothing to test")
	}
	byHand.Close()
	s, err = sqlite.OpenWith(ctx, dir, storetest.MustKey(t), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(s.WriterDB(), "SELECT count(*) FROM sqlite_stat4"); n != 0 {
		t.Fatalf("%d samples after opening", n)
	}
	if n := count(s.WriterDB(), "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'folders'"); n == 0 {
		t.Fatal("the row counts went too")
	}
}
