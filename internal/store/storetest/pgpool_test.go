package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
)

// TestPoolReset: a pooled PostgreSQL database handed out again holds no
// rows but the migration history, no session of its previous user is left
// connected (with its advisory locks), and it has a new name, so that the
// previous user's clients cannot reconnect to it.
func TestPoolReset(t *testing.T) {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: %s is not set", PostgresEnv)
	}
	ctx := context.Background()
	p, err := getPGPool(base)
	if err != nil {
		t.Fatal(err)
	}
	dsn, release, err := p.take()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	s, err := postgres.Open(ctx, dsn, MustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	u := mustCreateUser(t, s, "reset@example.com")
	org := &gatehouse.Organization{ID: newID(), Name: "Acme", CreatedBy: u.ID, CreatedAt: baseTime, UpdatedAt: baseTime}
	mustTx(t, s, func(tx *store.Conn) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		return tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: org.ID, UserID: u.ID, RoleID: gatehouse.RoleOwnerID, CreatedAt: baseTime})
	})
	s.Close()
	stray, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	conn, err := stray.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(42)`); err != nil {
		t.Fatal(err)
	}
	check, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	before := rowCounts(t, check)
	if before["users"] != 1 || before["memberships"] != 1 || before["goose_db_version"] == 0 {
		t.Fatalf("rows before the reset: %v", before)
	}
	check.Close()

	u2, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u2.Path, "/")
	fresh, err := p.reuse(pgPoolPrefix+migrationsHash()+"_", name)
	if err != nil {
		t.Fatal(err)
	}
	defer p.disown(fresh)
	if err := conn.PingContext(ctx); err == nil {
		t.Fatal("the previous user's session is still connected after the reset")
	}
	if _, err := stray.Conn(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a client of the previous user reconnects to the reused database: %v", err)
	}
	freshDSN, err := withDatabase(base, fresh)
	if err != nil {
		t.Fatal(err)
	}
	check, err = sql.Open("pgx", freshDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	after := rowCounts(t, check)
	if after["goose_db_version"] != before["goose_db_version"] {
		t.Fatalf("migration history %d rows after the reset, %d before", after["goose_db_version"], before["goose_db_version"])
	}
	for table, n := range after {
		if n != 0 && table != "goose_db_version" {
			t.Errorf("%s holds %d rows after the reset", table, n)
		}
	}
	if len(after) < 30 {
		t.Fatalf("only %d tables counted: %v", len(after), after)
	}
}

// rowCounts counts the rows of every table of the current schema.
func rowCounts(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text::int
		FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		m[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
