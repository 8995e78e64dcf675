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
// PostgreSQL are held to one behaviour. Each subtest opens a store of its
// own. Subtests run one after the other: PostgreSQL migrations take a
// database-wide lock, so parallel opens would only wait for each other.
func Run(t *testing.T, e Engine) {
	t.Run("Outbox", func(t *testing.T) { runOutbox(t, e) })
	t.Run("Audit", func(t *testing.T) { runAudit(t, e) })
	t.Run("Users", func(t *testing.T) { runUsers(t, e) })
	t.Run("Sessions", func(t *testing.T) { runSessions(t, e) })
	t.Run("SessionState", func(t *testing.T) { runSessionState(t, e) })
	t.Run("Throttles", func(t *testing.T) { runThrottles(t, e) })
	t.Run("OTPs", func(t *testing.T) { runOTPs(t, e) })
	t.Run("ResetTokens", func(t *testing.T) { runResetTokens(t, e) })
	t.Run("Identities", func(t *testing.T) { runIdentities(t, e) })
	t.Run("SSO", func(t *testing.T) { runSSO(t, e) })
	t.Run("Restart", func(t *testing.T) { runRestart(t, e) })
	t.Run("Lookups", func(t *testing.T) { runLookups(t, e) })
	t.Run("ConcurrentAuditWriters", func(t *testing.T) { runConcurrentAudit(t, e) })
	t.Run("Webhooks", func(t *testing.T) { runWebhooks(t, e) })
	t.Run("ListPlans", func(t *testing.T) { runListPlans(t, e) })
	t.Run("Locks", func(t *testing.T) { runLocks(t, e) })
	t.Run("Retention", func(t *testing.T) { runRetention(t, e) })
	t.Run("OTPQuotas", func(t *testing.T) { runOTPQuotas(t, e) })
	t.Run("Access", func(t *testing.T) { runAccess(t, e) })
	t.Run("AuditSeal", func(t *testing.T) { runAuditSeal(t, e) })
	t.Run("AuditDeferred", func(t *testing.T) { runAuditDeferred(t, e) })
	t.Run("Policy", func(t *testing.T) { runPolicy(t, e) })
	t.Run("Idempotency", func(t *testing.T) { runIdempotency(t, e) })
	t.Run("MFA", func(t *testing.T) { runMFA(t, e) })
	t.Run("Memberships", func(t *testing.T) { runMemberships(t, e) })
	t.Run("Roles", func(t *testing.T) { runRoles(t, e) })
	t.Run("Invitations", func(t *testing.T) { runInvitations(t, e) })
	t.Run("SCIM", func(t *testing.T) { runSCIM(t, e) })
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
