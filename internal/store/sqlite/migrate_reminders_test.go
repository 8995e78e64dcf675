package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestMigrateReminderColumns: migration 00180 moves each pending
// invitation's reminder (sealed token, due time, sent time) into its row and
// drops the table; a reminder of an invitation no longer pending is not
// kept. Down puts the kept reminders back in the table.
func TestMigrateReminderColumns(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, store.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 170); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO organizations (id, name, created_by, created_at, updated_at) VALUES ('o', 'O', 'u', 1, 1)`,
		`INSERT INTO invitations (id, org_id, email, email_norm, status, token_hash, valid_days, created_by, updated_by, created_at, updated_at, expires_at, sent_at)
			VALUES ('p', 'o', 'p@x', 'p@x', 'pending', 'hp', 7, 'u', 'u', 1, 1, 99, 1),
			       ('a', 'o', 'a@x', 'a@x', 'accepted', 'ha', 7, 'u', 'u', 1, 1, 99, 1),
			       ('n', 'o', 'n@x', 'n@x', 'pending', 'hn', 7, 'u', 'u', 1, 1, 99, 1)`,
		`INSERT INTO invitation_reminders (invitation_id, org_id, token_sealed, remind_at, reminded_at) VALUES ('p', 'o', X'0102', 50, 60), ('a', 'o', X'0304', 50, NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.UpTo(ctx, 180); err != nil {
		t.Fatal(err)
	}
	type row struct {
		sealed   []byte
		remind   sql.NullInt64
		reminded sql.NullInt64
	}
	got := map[string]row{}
	rows, err := db.QueryContext(ctx, `SELECT id, token_sealed, remind_at, reminded_at FROM invitations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var r row
		if err := rows.Scan(&id, &r.sealed, &r.remind, &r.reminded); err != nil {
			t.Fatal(err)
		}
		got[id] = r
	}
	rows.Close()
	if r := got["p"]; string(r.sealed) != "\x01\x02" || r.remind.Int64 != 50 || r.reminded.Int64 != 60 {
		t.Errorf("pending invitation's reminder: %+v", r)
	}
	for _, id := range []string{"a", "n"} {
		if r := got[id]; r.sealed != nil || r.remind.Valid || r.reminded.Valid {
			t.Errorf("invitation %s got a reminder: %+v", id, r)
		}
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'invitation_reminders'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("invitation_reminders still there: %d %v", tables, err)
	}
	if _, err := p.DownTo(ctx, 170); err != nil {
		t.Fatal(err)
	}
	var id string
	var sealed []byte
	if err := db.QueryRowContext(ctx, `SELECT invitation_id, token_sealed FROM invitation_reminders`).Scan(&id, &sealed); err != nil || id != "p" || string(sealed) != "\x01\x02" {
		t.Fatalf("down: %s %x %v", id, sealed, err)
	}
}
