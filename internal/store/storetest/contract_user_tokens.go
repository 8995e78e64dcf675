package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

func runOTPs(t *testing.T, e Engine) {
	ctx := context.Background()
	key := MustKey(t)
	newOTP := func(email, purpose string, created time.Time) *store.OTP {
		return &store.OTP{ID: newID(), Email: email, Purpose: purpose, CodeHash: key.MAC(email, purpose, secret.Code(6)),
			ExpiresAt: created.Add(10 * time.Minute), CreatedAt: created}
	}
	create := func(t *testing.T, s *store.Store, otps ...*store.OTP) {
		t.Helper()
		mustTx(t, s, func(tx *store.Conn) error {
			for _, o := range otps {
				if err := tx.CreateOTP(ctx, o); err != nil {
					return err
				}
			}
			return nil
		})
	}

	t.Run("LatestOTP", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			older := newOTP("ada@example.com", "verify_email", baseTime)
			newer := newOTP("ada@example.com", "verify_email", baseTime.Add(time.Minute))
			create(t, s, newer, older, newOTP("ada@example.com", "reset_password", baseTime.Add(time.Hour)),
				newOTP("bob@example.com", "verify_email", baseTime.Add(time.Hour)))
			got, err := s.R().LatestOTP(ctx, "ada@example.com", "verify_email")
			if err != nil || got == nil {
				t.Fatalf("LatestOTP = %v, %v", got, err)
			}
			if got.ID != newer.ID || got.Email != newer.Email || got.Purpose != newer.Purpose || got.CodeHash != newer.CodeHash ||
				got.Attempts != 0 || got.Used || !equalTime(got.ExpiresAt, newer.ExpiresAt) || !equalTime(got.CreatedAt, newer.CreatedAt) {
				t.Fatalf("LatestOTP = %+v, want %+v", got, newer)
			}
		})

		t.Run("None", func(t *testing.T) {
			s := e.Open(t)
			create(t, s, newOTP("ada@example.com", "verify_email", baseTime))
			if got, err := s.R().LatestOTP(ctx, "ada@example.com", "reset_password"); err != nil || got != nil {
				t.Fatalf("LatestOTP = %+v, %v; want nil, nil", got, err)
			}
		})
	})

	t.Run("OTPsSince", func(t *testing.T) {
		s := e.Open(t)
		for _, m := range []int{0, 5, 10, 15} {
			create(t, s, newOTP("ada@example.com", "verify_email", baseTime.Add(time.Duration(m)*time.Minute)))
		}
		create(t, s, newOTP("ada@example.com", "reset_password", baseTime.Add(12*time.Minute)),
			newOTP("bob@example.com", "verify_email", baseTime.Add(12*time.Minute)))
		got, err := s.R().OTPsSince(ctx, "ada@example.com", "verify_email", baseTime.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Time{baseTime.Add(15 * time.Minute), baseTime.Add(10 * time.Minute), baseTime.Add(5 * time.Minute)}
		if !slices.EqualFunc(got, want, equalTime) {
			t.Fatalf("OTPsSince = %v, want %v", got, want)
		}
	})

	t.Run("FailOTP", func(t *testing.T) {
		s := e.Open(t)
		o := newOTP("ada@example.com", "verify_email", baseTime)
		create(t, s, o)
		const maxAttempts = 3
		for i := 1; i <= maxAttempts; i++ {
			var n int
			mustTx(t, s, func(tx *store.Conn) (err error) {
				n, err = tx.FailOTP(ctx, o.ID, maxAttempts, baseTime)
				return err
			})
			got, err := s.R().LatestOTP(ctx, o.Email, o.Purpose)
			if err != nil {
				t.Fatal(err)
			}
			if n != i || got.Attempts != i || got.Used != (i >= maxAttempts) {
				t.Fatalf("after %d failures: returned %d, stored attempts %d used %v", i, n, got.Attempts, got.Used)
			}
		}
		// Killed: the right code can no longer be used.
		var ok bool
		mustTx(t, s, func(tx *store.Conn) (err error) {
			ok, err = tx.UseOTP(ctx, o.ID, baseTime)
			return err
		})
		if ok {
			t.Fatal("UseOTP succeeded on a code killed by failures")
		}
	})

	t.Run("UseOTP", func(t *testing.T) {
		s := e.Open(t)
		o := newOTP("ada@example.com", "verify_email", baseTime)
		create(t, s, o)
		for i, want := range []bool{true, false} {
			var ok bool
			mustTx(t, s, func(tx *store.Conn) (err error) {
				ok, err = tx.UseOTP(ctx, o.ID, baseTime.Add(time.Minute))
				return err
			})
			if ok != want {
				t.Fatalf("use %d = %v, want %v", i+1, ok, want)
			}
		}
		if got, err := s.R().LatestOTP(ctx, o.Email, o.Purpose); err != nil || !got.Used {
			t.Fatalf("LatestOTP after use = %+v, %v; want used", got, err)
		}
	})
}

func runResetTokens(t *testing.T, e Engine) {
	ctx := context.Background()
	use := func(s *store.Store, hash string, now time.Time) (string, error) {
		var userID string
		err := s.Tx(ctx, func(tx *store.Conn) (err error) {
			userID, err = tx.UseResetToken(ctx, hash, now)
			return err
		})
		return userID, err
	}

	t.Run("OK", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		h := secret.HashToken(secret.Token("rst_", 32))
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.CreateResetToken(ctx, h, u.ID, baseTime.Add(time.Hour), baseTime)
		})
		if got, err := use(s, h, baseTime.Add(time.Minute)); err != nil || got != u.ID {
			t.Fatalf("UseResetToken = %q, %v; want %s", got, err, u.ID)
		}
		_, err := use(s, h, baseTime.Add(2*time.Minute))
		wantCode(t, err, gatehouse.EINVALID)
	})

	t.Run("ErrExpired", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		h := secret.HashToken(secret.Token("rst_", 32))
		expires := baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateResetToken(ctx, h, u.ID, expires, baseTime) })
		_, err := use(s, h, expires)
		wantCode(t, err, gatehouse.EINVALID)
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		s := e.Open(t)
		_, err := use(s, secret.HashToken("nope"), baseTime)
		wantCode(t, err, gatehouse.EINVALID)
	})
}

// runRestart writes through one store, closes it, and reads everything back
// through a new store of the same database: a restart keeps the data.
func runRestart(t *testing.T, e Engine) {
	ctx := context.Background()
	dsn := e.NewDSN(t)

	s1 := e.OpenAt(t, dsn)
	u := mustCreateUser(t, s1, "ada@example.com")
	ss := newSession(u.ID, baseTime)
	mustCreateSession(t, s1, ss)
	mail := testMail("ada@example.com")
	mailID := mustEnqueue(t, s1, mail, baseTime)
	first := &gatehouse.AuditEvent{OrgID: "org-a", Action: "user.created", CreatedAt: baseTime}
	mustWriteAudit(t, s1, first)
	if err := s1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s2 := e.OpenAt(t, dsn) // migrations run again: nothing to do
	if got, err := s2.R().UserByEmail(ctx, "ADA@example.com"); err != nil || got.ID != u.ID {
		t.Fatalf("user after restart = %v, %v", got, err)
	}
	if got, err := s2.R().SessionByAccessHash(ctx, ss.AccessHash); err != nil || got.ID != ss.ID {
		t.Fatalf("session after restart = %v, %v", got, err)
	}
	// The body was sealed with the key, and the same key opens it again.
	if got := mustMail(t, s2, mailID); got.Text != mail.Text || got.HTML != mail.HTML || got.Status != gatehouse.MailQueued {
		t.Fatalf("mail after restart = %+v", got)
	}
	// The audit chain continues where it stopped.
	mustWriteAudit(t, s2, &gatehouse.AuditEvent{OrgID: "org-a", Action: "user.updated", CreatedAt: baseTime})
	got := AllAudit(t, s2, "org-a")
	if len(got) != 2 || got[0].ID != first.ID {
		t.Fatalf("audit after restart = %v", auditIDs(got))
	}
	CheckAuditChain(t, got)
}
