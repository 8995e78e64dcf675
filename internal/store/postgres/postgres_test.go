package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestContract(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: %s is not set", storetest.PostgresEnv)
	}
	storetest.Run(t, storetest.Postgres())
}

func TestOpen(t *testing.T) {
	t.Run("ErrBadURL", func(t *testing.T) {
		for _, tt := range []struct {
			name, url, want string
		}{
			{"Malformed", "postgres://user@host:notaport/db", "GATEHOUSE_DATABASE_URL"},
			{"NotAURL", "this is not a url", "GATEHOUSE_DATABASE_URL"},
			// Nothing listens on port 1; the error says what failed.
			{"Unreachable", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", "connect to PostgreSQL"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s, err := postgres.Open(context.Background(), tt.url, storetest.MustKey(t))
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded", tt.url)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Open(%q) = %q, want an error mentioning %q", tt.url, err, tt.want)
				}
			})
		}
	})
}

// TestTemplate: the database tests get (from storetest's pool of copies of
// its template), read before any store opens it, is what migrating an empty
// schema gives: the same columns, indexes and migration history, and no
// rows. Migrating from empty is itself the first half of the test.
func TestTemplate(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: %s is not set", storetest.PostgresEnv)
	}
	t.Parallel()
	e := storetest.Postgres()
	fresh := e.OpenAt(t, e.NewEmptyDSN(t)).ReaderDB()
	copied, err := sql.Open("pgx", e.NewDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	dump := func(db *sql.DB) string {
		var schema, columns, indexes, history string
		if err := db.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		err := db.QueryRow(`SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
			COALESCE(column_default, ''), E'\n' ORDER BY table_name, ordinal_position)
			FROM information_schema.columns WHERE table_schema = current_schema()`).Scan(&columns)
		if err != nil {
			t.Fatal(err)
		}
		err = db.QueryRow(`SELECT string_agg(indexdef, E'\n' ORDER BY indexname)
			FROM pg_indexes WHERE schemaname = current_schema()`).Scan(&indexes)
		if err != nil {
			t.Fatal(err)
		}
		err = db.QueryRow(`SELECT string_agg(version_id || ' ' || is_applied, ',' ORDER BY id) FROM goose_db_version`).Scan(&history)
		if err != nil {
			t.Fatal(err)
		}
		// The index definitions name the schema: the empty database is a
		// schema of its own.
		return columns + "\n" + strings.ReplaceAll(indexes, " "+schema+".", " ") + "\nhistory: " + history
	}
	want, got := dump(fresh), dump(copied)
	if !strings.Contains(want, "audit_events.") {
		t.Fatalf("migrating from empty made no audit_events table:\n%s", want)
	}
	if got != want {
		t.Fatalf("the template differs from a migrated database:\ncopy:\n%s\nmigrated:\n%s", got, want)
	}
}
