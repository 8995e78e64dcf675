package postgres_test

import (
	"context"
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
