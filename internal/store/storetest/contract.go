package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Run is the store contract: the same subtests, run against one engine.
// Every engine package calls it from its TestContract, so SQLite and
// PostgreSQL are held to one behaviour. Each subtest opens stores of its
// own, so the subtests run in parallel (on PostgreSQL each store is a
// database of its own, see pgpool.go, so parallel opens do not wait for
// each other).
func Run(t *testing.T, e Engine) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, Engine)
	}{
		{"Outbox", runOutbox},
		{"Audit", runAudit},
		{"Users", runUsers},
		{"Sessions", runSessions},
		{"SessionState", runSessionState},
		{"Throttles", runThrottles},
		{"OTPs", runOTPs},
		{"ResetTokens", runResetTokens},
		{"Identities", runIdentities},
		{"SSO", runSSO},
		{"Restart", runRestart},
		{"Lookups", runLookups},
		{"ConcurrentAuditWriters", runConcurrentAudit},
		{"Webhooks", runWebhooks},
		{"ListPlans", runListPlans},
		{"Locks", runLocks},
		{"Retention", runRetention},
		{"OTPQuotas", runOTPQuotas},
		{"Access", runAccess},
		{"AuditSeal", runAuditSeal},
		{"AuditDeferred", runAuditDeferred},
		{"Policy", runPolicy},
		{"Idempotency", runIdempotency},
		{"MFA", runMFA},
		{"Memberships", runMemberships},
		{"Roles", runRoles},
		{"Invitations", runInvitations},
		{"SCIM", runSCIM},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, e)
		})
	}
}

// errRollback is returned from a transaction to make it roll back.
var errRollback = errors.New("storetest: roll back")

// baseTime is a fixed instant at the stored (microsecond) precision, so that
// tests compare times exactly.
var baseTime = time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)

// mustTx runs fn in a write transaction and fails the test on error.
func mustTx(tb testing.TB, s *store.Store, fn func(tx *store.Conn) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatalf("tx: %v", err)
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// mustCreateUser inserts a user with the given email.
func mustCreateUser(tb testing.TB, s *store.Store, email string) *gatehouse.User {
	tb.Helper()
	u := &gatehouse.User{ID: newID(), Email: email, Name: "User " + email, CreatedAt: baseTime}
	mustTx(tb, s, func(tx *store.Conn) error { return tx.CreateUser(context.Background(), u) })
	return u
}

// wantCode fails unless err carries the given gatehouse error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// equalTime compares instants, ignoring location.
func equalTime(a, b time.Time) bool { return a.Equal(b) }

// cursorOf is the keyset cursor of a listed row, round-tripped through its
// opaque encoding as an API client would.
func cursorOf(tb testing.TB, encoded string) *gatehouse.Cursor {
	tb.Helper()
	c, err := gatehouse.DecodeCursor(encoded)
	if err != nil {
		tb.Fatalf("decode cursor %q: %v", encoded, err)
	}
	return c
}
