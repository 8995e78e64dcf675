package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/janitor"
	"github.com/gatehouse/gatehouse/internal/store"
)

// countRows counts the rows of table matching where ("" for all).
func countRows(tb testing.TB, s *store.Store, table, where string, args ...any) int {
	tb.Helper()
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := s.ReaderDB().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// runRetention checks the janitor on this engine: what it deletes, when,
// what it keeps (audit events above all), and that one runs at a time.
func runRetention(t *testing.T, e Engine) {
	ctx := context.Background()
	dsn := e.NewDSN(t)
	s := e.OpenAt(t, dsn)
	t0 := baseTime
	clock := t0
	purged := map[string]int{}
	j := &janitor.Janitor{Store: s, Now: func() time.Time { return clock }, OutboxRetention: time.Hour, Batch: 2,
		Purged: func(kind string, n int) { purged[kind] += n }}
	run := func(at time.Time) map[string]int {
		t.Helper()
		clock = at
		got, ran, err := j.Run(ctx)
		if err != nil || !ran {
			t.Fatalf("janitor run at %s: ran %v, err %v", at.Sub(t0), ran, err)
		}
		return got
	}

	u := mustCreateUser(t, s, "ret@example.com")
	org := newID()
	var sent, queued []string
	var liveInv, lapsedInv, revokedInv *gatehouse.Invitation
	mustTx(t, s, func(tx *store.Conn) error {
		if err := tx.CreateOrg(ctx, &gatehouse.Organization{ID: org, Name: "Retained", CreatedBy: u.ID, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			return err
		}
		for i := range 5 {
			id, err := tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "a@example.com", Subject: fmt.Sprint("m", i), Text: "t"}, t0)
			if err != nil {
				return err
			}
			if i < 3 {
				sent = append(sent, id)
				if err := tx.MarkMailSent(ctx, id, t0, true); err != nil {
					return err
				}
			} else {
				queued = append(queued, id)
			}
		}
		for i, exp := range []time.Time{t0, t0.Add(time.Minute), t0.Add(10 * 24 * time.Hour)} {
			if err := tx.CreateSession(ctx, &gatehouse.Session{ID: fmt.Sprint("sess-", i), UserID: u.ID, AccessHash: fmt.Sprint("a", i), RefreshHash: fmt.Sprint("r", i),
				AccessExpiresAt: t0, RefreshExpiresAt: exp, CreatedAt: t0, LastUsedAt: t0}); err != nil {
				return err
			}
		}
		for i := range 3 {
			if err := tx.CreateOTP(ctx, &store.OTP{ID: fmt.Sprint("otp-", i), Email: "ret@example.com", Purpose: "verify", CodeHash: "h",
				ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0}); err != nil {
				return err
			}
		}
		if err := tx.CreateResetToken(ctx, "reset-old", u.ID, t0.Add(30*time.Minute), t0); err != nil {
			return err
		}
		if err := tx.CreateResetToken(ctx, "reset-new", u.ID, t0.Add(40*24*time.Hour), t0); err != nil {
			return err
		}
		inv := func(status string, expires time.Time) *gatehouse.Invitation {
			return &gatehouse.Invitation{ID: newID(), OrgID: org, Email: newID() + "@example.com", Authentication: "password", Status: status,
				TokenHash: "tok-" + newID(), ValidDays: 7, CreatedBy: u.ID, UpdatedBy: u.ID, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: expires, SentAt: t0}
		}
		liveInv = inv(gatehouse.InvitationPending, t0.Add(60*24*time.Hour))
		lapsedInv = inv(gatehouse.InvitationPending, t0.Add(24*time.Hour))
		revokedInv = inv(gatehouse.InvitationRevoked, t0.Add(24*time.Hour))
		if err := tx.InsertInvitations(ctx, []*gatehouse.Invitation{liveInv, lapsedInv, revokedInv}); err != nil {
			return err
		}
		for i := range 3 {
			if err := tx.BumpInvitationQuota(ctx, org, t0.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		return tx.WriteAudit(ctx, &gatehouse.AuditEvent{OrgID: org, ActorKind: "user", Action: "organization.created", CreatedAt: t0})
	})
	// Some codes were used (kept an hour like the others).
	mustTx(t, s, func(tx *store.Conn) error { _, err := tx.UseOTP(ctx, "otp-0", t0); return err })
	audits := countRows(t, s, "audit_events", "")

	t.Run("OKNothingDueYet", func(t *testing.T) {
		got := run(t0.Add(30 * time.Minute))
		for k, n := range got {
			if n != 0 {
				t.Fatalf("purged %d %s at 30 minutes", n, k)
			}
		}
		if n := countRows(t, s, "outbox", ""); n != 5 {
			t.Fatalf("outbox = %d, want 5", n)
		}
	})

	t.Run("OKAfterRetention", func(t *testing.T) {
		got := run(t0.Add(2 * time.Hour))
		want := map[string]int{janitor.KindOutbox: 3, janitor.KindOTPs: 3, janitor.KindResetTokens: 1}
		for _, k := range janitor.Kinds {
			if got[k] != want[k] {
				t.Errorf("%s purged %d, want %d (all: %v)", k, got[k], want[k], got)
			}
		}
		for _, id := range queued {
			if countRows(t, s, "outbox", "id = $1", id) != 1 {
				t.Errorf("queued mail %s deleted", id)
			}
		}
		if countRows(t, s, "outbox", "") != 2 || countRows(t, s, "reset_tokens", "hash = $1", "reset-new") != 1 {
			t.Errorf("kept rows were deleted")
		}
		if n := countRows(t, s, "sessions", ""); n != 3 {
			t.Errorf("sessions = %d within the grace, want 3", n)
		}
	})

	t.Run("OKSessionsAfterGrace", func(t *testing.T) {
		got := run(t0.Add(25 * time.Hour))
		if got[janitor.KindSessions] != 2 || countRows(t, s, "sessions", "id = $1", "sess-2") != 1 || countRows(t, s, "sessions", "") != 1 {
			t.Fatalf("sessions purged %v; left %d", got, countRows(t, s, "sessions", ""))
		}
		// Stale quota rows (the organization stopped inviting) are gone.
		if got[janitor.KindInvitationQuota] != 3 || countRows(t, s, "invitation_quota", "") != 0 {
			t.Fatalf("quota purged %v, left %d", got, countRows(t, s, "invitation_quota", ""))
		}
	})

	t.Run("OKInvitationTokensAfterGrace", func(t *testing.T) {
		if got := run(t0.Add(30 * 24 * time.Hour)); got[janitor.KindInvitationTokens] != 0 {
			t.Fatalf("tokens dropped within the grace: %v", got)
		}
		got := run(t0.Add(32 * 24 * time.Hour))
		if got[janitor.KindInvitationTokens] != 1 {
			t.Fatalf("tokens dropped %v, want 1", got)
		}
		if _, err := s.R().InvitationByTokenHash(ctx, lapsedInv.TokenHash); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("the lapsed invitation's token still finds it: %v", err)
		}
		kept, err := s.R().InvitationByID(ctx, lapsedInv.ID)
		if err != nil || kept.Status != gatehouse.InvitationExpired {
			t.Fatalf("lapsed invitation = %+v, %v; want kept, status expired", kept, err)
		}
		for _, inv := range []*gatehouse.Invitation{liveInv, revokedInv} {
			if got, err := s.R().InvitationByTokenHash(ctx, inv.TokenHash); err != nil || got.ID != inv.ID {
				t.Fatalf("invitation %s (status %s) lost its token: %v", inv.ID, inv.Status, err)
			}
		}
		// Audit events are never deleted: one was added (the expiry).
		if n := countRows(t, s, "audit_events", ""); n != audits+1 {
			t.Fatalf("audit events %d, want %d", n, audits+1)
		}
		if countRows(t, s, "audit_events", "action = 'invitation.expired' AND target_id = $1", lapsedInv.ID) != 1 {
			t.Fatalf("no invitation.expired event")
		}
		if got := run(t0.Add(33 * 24 * time.Hour)); got[janitor.KindInvitationTokens] != 0 {
			t.Fatalf("a second run dropped tokens again: %v", got)
		}
	})

	t.Run("OKMailboxKeepsNewest", func(t *testing.T) {
		mustTx(t, s, func(tx *store.Conn) error {
			for i := range 5 {
				at := clock.Add(time.Duration(i) * time.Second)
				id, err := tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "b@example.com", Subject: fmt.Sprint("n", i), Text: "t"}, at)
				if err != nil {
					return err
				}
				if err := tx.MarkMailSent(ctx, id, at, false); err != nil {
					return err
				}
			}
			return nil
		})
		j.MailboxKeep = 3
		defer func() { j.MailboxKeep = 0 }()
		run(clock)
		ms, err := s.R().ListMail(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		// The 2 queued messages are older but never deleted; of the 5
		// sent ones, those beyond the newest 3 messages go.
		subjects := ""
		for _, m := range ms {
			subjects += m.Subject + " "
		}
		if subjects != "n4 n3 n2 m4 m3 " {
			t.Fatalf("mailbox = %q, want the newest 3 and the queued ones", subjects)
		}
	})

	t.Run("OKPurgedCounted", func(t *testing.T) {
		want := map[string]int{janitor.KindOutbox: 5, janitor.KindOTPs: 3, janitor.KindResetTokens: 1, janitor.KindSessions: 3, // the last one after its 10 days

			janitor.KindInvitationQuota: 3, janitor.KindInvitationTokens: 1}
		for _, k := range janitor.Kinds {
			if purged[k] != want[k] {
				t.Errorf("reported %d %s, want %d", purged[k], k, want[k])
			}
		}
	})

	t.Run("ErrOneAtATime", func(t *testing.T) {
		// A second process's janitor (its own store on the same database)
		// holds the lock: this one skips its turn.
		other := s
		if e.Name == "postgres" {
			other = e.OpenAt(t, dsn)
		}
		unlock, ok, err := other.TryJanitorLock(ctx)
		if err != nil || !ok {
			t.Fatalf("lock: %v %v", ok, err)
		}
		if _, ran, err := j.Run(ctx); ran || err != nil {
			t.Fatalf("ran %v, err %v while another janitor holds the lock", ran, err)
		}
		unlock()
		if _, ran, err := j.Run(ctx); !ran || err != nil {
			t.Fatalf("ran %v, err %v after the lock was released", ran, err)
		}
	})
}
