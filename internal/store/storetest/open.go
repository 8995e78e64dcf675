// Package storetest opens real databases for tests (SQLite in a temporary
// folder, PostgreSQL in a schema of its own) and holds the store contract
// suite that both engines must pass.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
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
	// NewDSN makes a new empty database and returns where it is.
	NewDSN func(tb testing.TB) string
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
	e.NewDSN = func(tb testing.TB) string { return tb.TempDir() }
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

// Postgres gives each test a schema of its own in the test database, so that
// parallel tests never collide; the schema is dropped when the test ends.
func Postgres() Engine {
	e := Engine{Name: "postgres"}
	e.NewDSN = func(tb testing.TB) string {
		base := os.Getenv(PostgresEnv)
		if base == "" {
			tb.Skipf("PostgreSQL tests skipped: %s is not set", PostgresEnv)
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "t_" + hex.EncodeToString(b)
		db, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			tb.Fatalf("create schema (is PostgreSQL running at %s?): %v", base, err)
		}
		tb.Cleanup(func() {
			db, err := sql.Open("pgx", base)
			if err == nil {
				_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
				db.Close()
			}
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
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
