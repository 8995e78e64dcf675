// Package storetest opens real databases for tests (SQLite in a temporary
// folder, PostgreSQL in a database of its own) and holds the store contract
// suite that both engines must pass.
package storetest

import (
	"context"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = "GATEHOUSE_TEST_DATABASE_URL"

// TestKey is the secret key of test stores.
const TestKey = "test-secret-key-0123456789"

// MustKey returns the test key.
func MustKey(tb testing.TB) *secret.Key {
	k, err := secret.NewKey(TestKey)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Engine opens fresh, migrated, isolated stores of one kind.
type Engine struct {
	Name string
	// Open returns a new empty store; it is closed when the test ends.
	Open func(tb testing.TB) *store.Store
	// OpenAt returns a store of the same database as a DSN made by NewDSN
	// (for restart and multi-process tests).
	OpenAt func(tb testing.TB, dsn string) *store.Store
	// NewDSN makes a new migrated database holding no data and returns
	// where it is (a copy of a template migrated once, not migrated per test).
	NewDSN func(tb testing.TB) string
	// NewEmptyDSN makes a database without any table (a new folder; on
	// PostgreSQL a new schema), for tests of migrating from nothing.
	NewEmptyDSN func(tb testing.TB) string
}

// Engines lists SQLite, and PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is
// set. Tests that loop over it run against both.
func Engines(tb testing.TB) []Engine {
	es := []Engine{SQLite()}
	if os.Getenv(PostgresEnv) != "" {
		es = append(es, Postgres())
	} else {
		logSkipOnce(tb)
	}
	return es
}

var (
	skippedMu sync.Mutex // parallel tests call Engines concurrently
	skipped   = map[string]bool{}
)

func logSkipOnce(tb testing.TB) {
	skippedMu.Lock()
	first := !skipped[tb.Name()]
	skipped[tb.Name()] = true
	skippedMu.Unlock()
	if first {
		tb.Logf("PostgreSQL tests skipped: %s is not set", PostgresEnv)
	}
}

// SQLite is the embedded engine in a temporary folder.
func SQLite() Engine {
	e := Engine{Name: "sqlite"}
	e.NewDSN = func(tb testing.TB) string {
		dir := tb.TempDir()
		if err := newSQLiteDir(dir); err != nil {
			tb.Fatal(err)
		}
		return dir
	}
	e.NewEmptyDSN = func(tb testing.TB) string { return tb.TempDir() }
	e.OpenAt = func(tb testing.TB, dir string) *store.Store {
		s, err := sqlite.Open(context.Background(), dir, MustKey(tb))
		if err != nil {
			tb.Fatalf("open sqlite: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	e.Open = func(tb testing.TB) *store.Store { return e.OpenAt(tb, e.NewDSN(tb)) }
	return e
}

// Postgres gives each test a database of its own, so that parallel tests
// never collide: a copy of a migrated template (template.go) from a pool
// kept on the server, emptied before the test and handed back when it ends
// (pgpool.go).
func Postgres() Engine {
	e := Engine{Name: "postgres"}
	newDB := func(tb testing.TB, take func(*pgPool) (string, func(), error)) string {
		base := os.Getenv(PostgresEnv)
		if base == "" {
			tb.Skipf("PostgreSQL tests skipped: %s is not set", PostgresEnv)
		}
		p, err := getPGPool(base)
		if err != nil {
			tb.Fatal(err)
		}
		dsn, release, err := take(p)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(release)
		return dsn
	}
	e.NewDSN = func(tb testing.TB) string { return newDB(tb, (*pgPool).take) }
	e.NewEmptyDSN = func(tb testing.TB) string { return newDB(tb, (*pgPool).takeEmpty) }
	e.OpenAt = func(tb testing.TB, dsn string) *store.Store {
		s, err := postgres.Open(context.Background(), dsn, MustKey(tb))
		if err != nil {
			tb.Fatalf("open postgres: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	e.Open = func(tb testing.TB) *store.Store { return e.OpenAt(tb, e.NewDSN(tb)) }
	return e
}
