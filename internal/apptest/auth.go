package apptest

// Helpers for the authentication tests: signing in with both tokens,
// accounts without a password, reading the outbox and reading every stored
// value back out of the database (for the secrets-at-rest scan).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestPassword is the password Signup and SignUpTokens use.
const TestPassword = "a long enough password"

// AuthTokens is what a sign-in or refresh answered.
type AuthTokens struct {
	Access    string
	Refresh   string
	SessionID string
	User      map[string]any
	// Body is the whole answer.
	Body map[string]any
}

func authTokens(tb testing.TB, out map[string]any) *AuthTokens {
	tb.Helper()
	t := &AuthTokens{Body: out}
	var ok bool
	if t.Access, ok = out["access_token"].(string); !ok {
		tb.Fatalf("no access_token in %v", out)
	}
	if t.Refresh, ok = out["refresh_token"].(string); !ok {
		tb.Fatalf("no refresh_token in %v", out)
	}
	t.SessionID, _ = out["session_id"].(string)
	t.User, _ = out["user"].(map[string]any)
	return t
}

// SignIn logs in with a password and fails the test unless it succeeds.
func (s *Server) SignIn(email, password string, header ...map[string]string) *AuthTokens {
	s.TB.Helper()
	r := Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}}
	if len(header) > 0 {
		r.Header = header[0]
	}
	return authTokens(s.TB, s.Must(200, r))
}

// RefreshTokens rotates a session's tokens and fails the test unless it succeeds.
func (s *Server) RefreshTokens(refresh string) *AuthTokens {
	s.TB.Helper()
	return authTokens(s.TB, s.Must(200, Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": refresh}}))
}

// SignUpTokens registers, verifies and signs in a user with password
// (TestPassword when ""), returning both tokens.
func (s *Server) SignUpTokens(name, email, password string) *AuthTokens {
	s.TB.Helper()
	if password == "" {
		password = TestPassword
	}
	s.Must(201, Req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"name": name, "email": email, "password": password}})
	s.Must(200, Req{Method: "POST", Path: "/v1/auth/verify-email", Body: map[string]string{"email": email, "otp": s.LastCode(email)}})
	return s.SignIn(email, password)
}

// PasswordlessUser creates a verified account without a password (as an
// invitation or SSO would) and opens a session for it.
func (s *Server) PasswordlessUser(name, email string) *AuthTokens {
	s.TB.Helper()
	ctx := context.Background()
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	u := &gatehouse.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Name: name, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	var t *gatehouse.Tokens
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		var err error
		t, err = s.Services.Auth.OpenSession(ctx, tx, gatehouse.Actor{IP: "127.0.0.1"}, u)
		return err
	})
	if err != nil {
		s.TB.Fatalf("create passwordless user: %v", err)
	}
	return &AuthTokens{Access: t.AccessToken, Refresh: t.RefreshToken, SessionID: t.SessionID,
		User: map[string]any{"id": u.ID, "email": u.Email, "name": u.Name}}
}

// MailTo returns the outbox messages to addr, newest first, bodies opened.
func (s *Server) MailTo(addr string) []*gatehouse.OutboxMessage {
	s.TB.Helper()
	ms, err := s.Store.R().ListMail(context.Background(), 1000)
	if err != nil {
		s.TB.Fatal(err)
	}
	var out []*gatehouse.OutboxMessage
	for _, m := range ms {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// DBValue is one stored text or blob value.
type DBValue struct {
	Table, Column string
	Value         []byte
}

func (v DBValue) String() string { return fmt.Sprintf("%s.%s = %q", v.Table, v.Column, v.Value) }

// DBValues reads every text and blob value of every table of the server's
// database (on PostgreSQL, the test's own database).
func (s *Server) DBValues() []DBValue {
	s.TB.Helper()
	ctx := context.Background()
	db := s.Store.ReaderDB()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.Engine.Name == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	tables := queryStrings(s.TB, db, q)
	if len(tables) == 0 {
		s.TB.Fatal("no tables found")
	}
	var out []DBValue
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			s.TB.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			s.TB.Fatal(err)
		}
		for rows.Next() {
			vals, err := storetest.ScanAny(rows)
			if err != nil {
				s.TB.Fatalf("scan %s: %v", table, err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case string:
					out = append(out, DBValue{table, cols[i], []byte(v)})
				case []byte:
					out = append(out, DBValue{table, cols[i], append([]byte(nil), v...)})
				case map[string]any, []any: // json/jsonb columns
					b, _ := json.Marshal(v)
					out = append(out, DBValue{table, cols[i], b})
				}
			}
		}
		if err := rows.Err(); err != nil {
			s.TB.Fatal(err)
		}
		rows.Close()
	}
	return out
}

func queryStrings(tb testing.TB, db *sql.DB, q string) []string {
	tb.Helper()
	rows, err := db.Query(q)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// RawDBFiles returns the bytes of every file in a SQLite server's data
// directory (the database, its -wal and -shm), by file name; nil on
// PostgreSQL.
func (s *Server) RawDBFiles() map[string][]byte {
	s.TB.Helper()
	if s.Engine.Name != "sqlite" {
		return nil
	}
	out := map[string][]byte{}
	err := filepath.WalkDir(s.Config.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[d.Name()] = b
		return nil
	})
	if err != nil {
		s.TB.Fatal(err)
	}
	return out
}

// Problem checks that resp is an RFC 9457 problem with the given status
// (any 4xx when status is 0) and returns its body.
func Problem(tb testing.TB, resp *Response, status int) map[string]any {
	tb.Helper()
	if status == 0 && (resp.Status < 400 || resp.Status > 499) || status != 0 && resp.Status != status {
		want := "a 4xx"
		if status != 0 {
			want = fmt.Sprint(status)
		}
		tb.Fatalf("status %d, want %s: %s", resp.Status, want, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json: %s", ct, resp.Body)
	}
	p := resp.JSON(tb)
	if got, _ := p["status"].(float64); int(got) != resp.Status {
		tb.Fatalf("problem status %v, HTTP status %d", p["status"], resp.Status)
	}
	if code, _ := p["code"].(string); code == "" {
		tb.Fatalf("problem without a code: %s", resp.Body)
	}
	return p
}

// RowCounts returns the number of rows of every table of the server's
// database (on PostgreSQL, the test's own database), by table.
func (s *Server) RowCounts() map[string]int {
	s.TB.Helper()
	db := s.Store.ReaderDB()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.Engine.Name == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	out := map[string]int{}
	for _, table := range queryStrings(s.TB, db, q) {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&n); err != nil {
			s.TB.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}
