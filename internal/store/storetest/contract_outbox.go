package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

func testMail(to string) gatehouse.MailMessage {
	return gatehouse.MailMessage{
		To:      to,
		Subject: "Subject for " + to,
		Text:    "text body for " + to,
		HTML:    "<p>html body for " + to + "</p>",
		Kind:    "invitation",
		RefID:   "ref-" + to,
	}
}

// mustEnqueue writes m to the outbox at now, in a transaction of its own.
func mustEnqueue(tb testing.TB, s *store.Store, m gatehouse.MailMessage, now time.Time) string {
	tb.Helper()
	var id string
	mustTx(tb, s, func(tx *store.Conn) (err error) {
		id, err = tx.EnqueueMail(context.Background(), m, now)
		return err
	})
	return id
}

func mustClaim(tb testing.TB, s *store.Store, now time.Time, lease time.Duration, limit int) []*gatehouse.OutboxMessage {
	tb.Helper()
	var ms []*gatehouse.OutboxMessage
	mustTx(tb, s, func(tx *store.Conn) (err error) {
		ms, err = tx.ClaimMail(context.Background(), now, lease, limit)
		return err
	})
	return ms
}

func mustMail(tb testing.TB, s *store.Store, id string) *gatehouse.OutboxMessage {
	tb.Helper()
	m, err := s.R().MailByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("MailByID(%s): %v", id, err)
	}
	return m
}

// ids returns the messages' ids, sorted (claim order is not specified).
func mailIDs(ms []*gatehouse.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func runOutbox(t *testing.T, e Engine) {
	ctx := context.Background()
	const lease = time.Minute

	t.Run("EnqueueMail", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			want := testMail("ada@example.com")
			var userID, id string
			mustTx(t, s, func(tx *store.Conn) (err error) {
				u := &gatehouse.User{ID: newID(), Email: "ada@example.com", CreatedAt: baseTime}
				userID = u.ID
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				id, err = tx.EnqueueMail(ctx, want, baseTime)
				return err
			})
			if _, err := s.R().UserByID(ctx, userID); err != nil {
				t.Fatalf("the change did not commit: %v", err)
			}
			m := mustMail(t, s, id)
			if m.To != want.To || m.Subject != want.Subject || m.Text != want.Text || m.HTML != want.HTML ||
				m.Kind != want.Kind || m.RefID != want.RefID {
				t.Fatalf("message = %+v, want %+v", m, want)
			}
			if m.Status != gatehouse.MailQueued || m.Attempts != 0 || m.LastError != "" {
				t.Fatalf("status/attempts/last_error = %q/%d/%q, want queued/0/\"\"", m.Status, m.Attempts, m.LastError)
			}
			if !equalTime(m.CreatedAt, baseTime) || !equalTime(m.NextAttemptAt, baseTime) || !m.SentAt.IsZero() {
				t.Fatalf("times = created %v next %v sent %v, want %v, %v, zero", m.CreatedAt, m.NextAttemptAt, m.SentAt, baseTime, baseTime)
			}
		})

		t.Run("ErrRolledBackWithChange", func(t *testing.T) {
			s := e.Open(t)
			var userID, id string
			err := s.Tx(ctx, func(tx *store.Conn) (err error) {
				u := &gatehouse.User{ID: newID(), Email: "ada@example.com", CreatedAt: baseTime}
				userID = u.ID
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if id, err = tx.EnqueueMail(ctx, testMail("ada@example.com"), baseTime); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("Tx = %v, want the function's error", err)
			}
			_, err = s.R().UserByID(ctx, userID)
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.R().MailByID(ctx, id)
			wantCode(t, err, gatehouse.ENOTFOUND)
			if ms, err := s.R().ListMail(ctx, 10); err != nil || len(ms) != 0 {
				t.Fatalf("ListMail = %d messages, %v; want none", len(ms), err)
			}
		})
	})

	t.Run("ClaimMail", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			a := mustEnqueue(t, s, testMail("a@example.com"), baseTime.Add(-2*time.Second))
			b := mustEnqueue(t, s, testMail("b@example.com"), baseTime.Add(-time.Second))
			later := mustEnqueue(t, s, testMail("later@example.com"), baseTime.Add(time.Hour))

			ms := mustClaim(t, s, baseTime, lease, 10)
			if got, want := mailIDs(ms), sorted(a, b); !slices.Equal(got, want) {
				t.Fatalf("claimed %v, want the due messages %v", got, want)
			}
			for _, m := range ms {
				if m.Attempts != 1 {
					t.Fatalf("attempts = %d, want 1", m.Attempts)
				}
				if m.Text == "" || m.HTML == "" {
					t.Fatalf("claimed message has no body: %+v", m)
				}
			}
			// Leased: nobody claims them again before the lease passes.
			if ms := mustClaim(t, s, baseTime, lease, 10); len(ms) != 0 {
				t.Fatalf("claimed %v again under lease", mailIDs(ms))
			}
			if ms := mustClaim(t, s, baseTime.Add(lease-time.Microsecond), lease, 10); len(ms) != 0 {
				t.Fatalf("claimed %v just before the lease ends", mailIDs(ms))
			}
			// The lease passed (the worker died): claimable again.
			ms = mustClaim(t, s, baseTime.Add(lease), lease, 10)
			if got, want := mailIDs(ms), sorted(a, b); !slices.Equal(got, want) {
				t.Fatalf("after the lease claimed %v, want %v", got, want)
			}
			for _, m := range ms {
				if m.Attempts != 2 {
					t.Fatalf("attempts = %d, want 2", m.Attempts)
				}
			}
			mustTx(t, s, func(tx *store.Conn) error {
				if err := tx.MarkMailSent(ctx, a, baseTime.Add(lease), true); err != nil {
					return err
				}
				return tx.MarkMailSent(ctx, b, baseTime.Add(lease), true)
			})
			ms = mustClaim(t, s, baseTime.Add(time.Hour), lease, 10)
			if got, want := mailIDs(ms), sorted(later); !slices.Equal(got, want) {
				t.Fatalf("at +1h claimed %v, want %v", got, want)
			}
		})

		t.Run("OldestDueFirst", func(t *testing.T) {
			s := e.Open(t)
			third := mustEnqueue(t, s, testMail("3@example.com"), baseTime.Add(-time.Second))
			first := mustEnqueue(t, s, testMail("1@example.com"), baseTime.Add(-3*time.Second))
			second := mustEnqueue(t, s, testMail("2@example.com"), baseTime.Add(-2*time.Second))
			var got []string
			for range 3 {
				ms := mustClaim(t, s, baseTime, lease, 1)
				if len(ms) != 1 {
					t.Fatalf("claimed %d messages with limit 1, want 1", len(ms))
				}
				got = append(got, ms[0].ID)
			}
			if want := []string{first, second, third}; !slices.Equal(got, want) {
				t.Fatalf("claim order %v, want %v", got, want)
			}
			if ms := mustClaim(t, s, baseTime, lease, 1); len(ms) != 0 {
				t.Fatalf("claimed %v, want nothing left", mailIDs(ms))
			}
		})

		t.Run("SkipsSentAndFailed", func(t *testing.T) {
			s := e.Open(t)
			sent := mustEnqueue(t, s, testMail("sent@example.com"), baseTime)
			failed := mustEnqueue(t, s, testMail("failed@example.com"), baseTime)
			mustTx(t, s, func(tx *store.Conn) error {
				if err := tx.MarkMailSent(ctx, sent, baseTime, true); err != nil {
					return err
				}
				return tx.MarkMailFailed(ctx, failed, "boom", baseTime, true)
			})
			if ms := mustClaim(t, s, baseTime.Add(24*time.Hour), lease, 10); len(ms) != 0 {
				t.Fatalf("claimed %v, want no sent or failed message", mailIDs(ms))
			}
		})
	})

	t.Run("MarkMailSent", func(t *testing.T) {
		for _, tt := range []struct {
			name      string
			eraseBody bool
		}{
			{"EraseBody", true},
			{"KeepBody", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := e.Open(t)
				want := testMail("ada@example.com")
				id := mustEnqueue(t, s, want, baseTime)
				mustClaim(t, s, baseTime, lease, 10)
				sentAt := baseTime.Add(3 * time.Second)
				mustTx(t, s, func(tx *store.Conn) error { return tx.MarkMailSent(ctx, id, sentAt, tt.eraseBody) })
				m := mustMail(t, s, id)
				if m.Status != gatehouse.MailSent || !equalTime(m.SentAt, sentAt) {
					t.Fatalf("status %q sent_at %v, want sent at %v", m.Status, m.SentAt, sentAt)
				}
				if m.To != want.To || m.Subject != want.Subject || m.Kind != want.Kind || m.RefID != want.RefID {
					t.Fatalf("envelope lost: %+v", m)
				}
				if tt.eraseBody {
					if m.Text != "" || m.HTML != "" {
						t.Fatalf("body kept after erase: text %q html %q", m.Text, m.HTML)
					}
				} else if m.Text != want.Text || m.HTML != want.HTML {
					t.Fatalf("body = %q / %q, want kept", m.Text, m.HTML)
				}
			})
		}
	})

	t.Run("MarkMailFailed", func(t *testing.T) {
		t.Run("Retry", func(t *testing.T) {
			s := e.Open(t)
			want := testMail("ada@example.com")
			id := mustEnqueue(t, s, want, baseTime)
			mustClaim(t, s, baseTime, lease, 10)
			next := baseTime.Add(30 * time.Second)
			mustTx(t, s, func(tx *store.Conn) error { return tx.MarkMailFailed(ctx, id, "421 try later", next, false) })
			m := mustMail(t, s, id)
			if m.Status != gatehouse.MailQueued || m.LastError != "421 try later" || !equalTime(m.NextAttemptAt, next) || m.Attempts != 1 {
				t.Fatalf("after retryable failure: %+v", m)
			}
			if m.Text != want.Text || m.HTML != want.HTML {
				t.Fatalf("body lost after failure: %+v", m)
			}
			// The lease is released, but the message waits for next.
			if ms := mustClaim(t, s, next.Add(-time.Microsecond), lease, 10); len(ms) != 0 {
				t.Fatalf("claimed %v before next_attempt_at", mailIDs(ms))
			}
			ms := mustClaim(t, s, next, lease, 10)
			if len(ms) != 1 || ms[0].ID != id || ms[0].Attempts != 2 {
				t.Fatalf("at next_attempt_at claimed %+v, want %s on attempt 2", ms, id)
			}
		})

		t.Run("Final", func(t *testing.T) {
			s := e.Open(t)
			want := testMail("ada@example.com")
			id := mustEnqueue(t, s, want, baseTime)
			mustClaim(t, s, baseTime, lease, 10)
			long := "550 " + strings.Repeat("x", 1000)
			mustTx(t, s, func(tx *store.Conn) error { return tx.MarkMailFailed(ctx, id, long, baseTime, true) })
			m := mustMail(t, s, id)
			if m.Status != gatehouse.MailFailed {
				t.Fatalf("status = %q, want failed", m.Status)
			}
			if m.LastError != long[:500] {
				t.Fatalf("last_error has %d bytes, want the first 500", len(m.LastError))
			}
			if m.Text != want.Text || m.HTML != want.HTML || m.To != want.To {
				t.Fatalf("message not kept after final failure: %+v", m)
			}
			if ms := mustClaim(t, s, baseTime.Add(365*24*time.Hour), lease, 10); len(ms) != 0 {
				t.Fatalf("claimed a failed message: %v", mailIDs(ms))
			}
		})
	})

	t.Run("ListMail", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			var ids []string
			for i := range 4 {
				ids = append(ids, mustEnqueue(t, s, testMail(string(rune('a'+i))+"@example.com"), baseTime.Add(time.Duration(i)*time.Second)))
			}
			// Two in the same microsecond: the id breaks the tie.
			ids = append(ids, mustEnqueue(t, s, testMail("tie@example.com"), baseTime.Add(3*time.Second)))
			ms, err := s.R().ListMail(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(ms))
			for i, m := range ms {
				got[i] = m.ID
				if m.Text == "" {
					t.Fatalf("ListMail did not open the body of %s", m.ID)
				}
			}
			want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
			if ids[4] < ids[3] {
				want[0], want[1] = ids[3], ids[4]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ListMail order %v, want newest first %v", got, want)
			}
			ms, err = s.R().ListMail(ctx, 2)
			if err != nil || len(ms) != 2 || ms[0].ID != want[0] || ms[1].ID != want[1] {
				t.Fatalf("ListMail(2) = %v, %v; want %v", mailIDs(ms), err, want[:2])
			}
		})

		t.Run("Empty", func(t *testing.T) {
			s := e.Open(t)
			ms, err := s.R().ListMail(ctx, 10)
			if err != nil || len(ms) != 0 {
				t.Fatalf("ListMail = %v, %v; want empty", ms, err)
			}
		})
	})

	t.Run("MailByID", func(t *testing.T) {
		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t)
			_, err := s.R().MailByID(ctx, newID())
			wantCode(t, err, gatehouse.ENOTFOUND)
		})
	})

	t.Run("LatestMailStatus", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			m := testMail("ada@example.com")
			m.Kind, m.RefID = "invitation", "inv-1"
			older := mustEnqueue(t, s, m, baseTime)
			mustTx(t, s, func(tx *store.Conn) error { return tx.MarkMailSent(ctx, older, baseTime, true) })
			if got, err := s.R().LatestMailStatus(ctx, "invitation", "inv-1"); err != nil || got != gatehouse.MailSent {
				t.Fatalf("LatestMailStatus = %q, %v; want sent", got, err)
			}
			newer := mustEnqueue(t, s, m, baseTime.Add(time.Second))
			if got, err := s.R().LatestMailStatus(ctx, "invitation", "inv-1"); err != nil || got != gatehouse.MailQueued {
				t.Fatalf("LatestMailStatus = %q, %v; want queued (the newer message)", got, err)
			}
			mustTx(t, s, func(tx *store.Conn) error { return tx.MarkMailFailed(ctx, newer, "boom", baseTime, true) })
			if got, err := s.R().LatestMailStatus(ctx, "invitation", "inv-1"); err != nil || got != gatehouse.MailFailed {
				t.Fatalf("LatestMailStatus = %q, %v; want failed", got, err)
			}
		})

		t.Run("None", func(t *testing.T) {
			s := e.Open(t)
			m := testMail("ada@example.com")
			m.Kind, m.RefID = "invitation", "inv-1"
			mustEnqueue(t, s, m, baseTime)
			for _, q := range [][2]string{{"invitation", "inv-2"}, {"other", "inv-1"}} {
				if got, err := s.R().LatestMailStatus(ctx, q[0], q[1]); err != nil || got != "" {
					t.Fatalf("LatestMailStatus(%s, %s) = %q, %v; want \"\"", q[0], q[1], got, err)
				}
			}
		})
	})

	t.Run("MailQueueStats", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			if q, f, err := s.R().MailQueueStats(ctx); err != nil || q != 0 || f != 0 {
				t.Fatalf("empty stats = %d, %d, %v; want 0, 0", q, f, err)
			}
			var ids []string
			for i := range 5 {
				ids = append(ids, mustEnqueue(t, s, testMail(string(rune('a'+i))+"@example.com"), baseTime))
			}
			mustTx(t, s, func(tx *store.Conn) error {
				if err := tx.MarkMailSent(ctx, ids[0], baseTime, true); err != nil {
					return err
				}
				if err := tx.MarkMailFailed(ctx, ids[1], "boom", baseTime, true); err != nil {
					return err
				}
				// A retryable failure is still queued.
				return tx.MarkMailFailed(ctx, ids[2], "later", baseTime.Add(time.Minute), false)
			})
			if q, f, err := s.R().MailQueueStats(ctx); err != nil || q != 3 || f != 1 {
				t.Fatalf("stats = queued %d, failed %d, %v; want 3, 1", q, f, err)
			}
		})
	})
}
