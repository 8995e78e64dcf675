package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mustWebhookOrg creates an organization with one endpoint subscribed to events.
func mustWebhookOrg(tb testing.TB, s *store.Store, events ...string) (string, *gatehouse.WebhookEndpoint) {
	tb.Helper()
	ctx := context.Background()
	org := &gatehouse.Organization{ID: newID(), Name: "Webhook org", CreatedAt: baseTime, UpdatedAt: baseTime}
	ep := &gatehouse.WebhookEndpoint{ID: newID(), OrgID: org.ID, URL: "https://example.com/hook", Events: events, Enabled: true,
		Secret: "whsec_c2VjcmV0LW9uZQ==", CreatedAt: baseTime, UpdatedAt: baseTime}
	mustTx(tb, s, func(tx *store.Conn) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		return tx.CreateWebhookEndpoint(ctx, ep)
	})
	return org.ID, ep
}

// mustAuditWithWebhooks writes an audit event and enqueues its webhooks, as
// the services' audit writer does.
func mustAuditWithWebhooks(tb testing.TB, s *store.Store, e *gatehouse.AuditEvent) int {
	tb.Helper()
	var n int
	mustTx(tb, s, func(tx *store.Conn) (err error) {
		if err := tx.WriteAudit(context.Background(), e); err != nil {
			return err
		}
		n, err = tx.EnqueueWebhooks(context.Background(), e)
		return err
	})
	return n
}

func claimWebhooks(tb testing.TB, s *store.Store, now time.Time) []*gatehouse.WebhookDelivery {
	tb.Helper()
	var ds []*gatehouse.WebhookDelivery
	mustTx(tb, s, func(tx *store.Conn) (err error) {
		ds, err = tx.ClaimWebhookDeliveries(context.Background(), now, time.Minute, 10)
		return err
	})
	return ds
}

func runWebhooks(t *testing.T, e Engine) {
	ctx := context.Background()
	t.Run("EndpointSecretsSealed", func(t *testing.T) {
		s := e.Open(t)
		org, ep := mustWebhookOrg(t, s, "member.*")
		got, err := s.R().WebhookEndpoint(ctx, org, ep.ID)
		if err != nil || got.Secret != ep.Secret || got.URL != ep.URL || !got.Enabled || got.Events[0] != "member.*" {
			t.Fatalf("endpoint %+v, %v", got, err)
		}
		var raw []byte
		if err := s.ReaderDB().QueryRowContext(ctx, `SELECT secret FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("c2VjcmV0LW9uZQ")) {
			t.Fatal("secret stored in clear")
		}
		got.PrevSecret, got.Secret, got.PrevSecretUntil = got.Secret, "whsec_bmV3", baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error { return tx.UpdateWebhookEndpoint(ctx, got) })
		again, _ := s.R().WebhookEndpoint(ctx, org, ep.ID)
		if again.PrevSecret != ep.Secret || again.Secret != "whsec_bmV3" || len(again.Secrets(baseTime)) != 2 || len(again.Secrets(baseTime.Add(2*time.Hour))) != 1 {
			t.Fatalf("rotated %+v", again)
		}
		if _, err := s.R().WebhookEndpoint(ctx, newID(), ep.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("other org: %v", err)
		}
	})
	t.Run("EnqueueMatchesAndRollsBack", func(t *testing.T) {
		s := e.Open(t)
		org, ep := mustWebhookOrg(t, s, "member.*", "invitation.accepted")
		for action, want := range map[string]int{"member.added": 1, "invitation.accepted": 1, "invitation.created": 0, "role.created": 0} {
			ev := &gatehouse.AuditEvent{OrgID: org, Action: action, TargetType: "member", TargetID: "u1", ActorKind: "user", ActorID: "a1",
				Summary: json.RawMessage(`{"email":"x@example.com"}`), CreatedAt: baseTime}
			if n := mustAuditWithWebhooks(t, s, ev); n != want {
				t.Errorf("%s queued %d, want %d", action, n, want)
			}
		}
		err := s.Tx(ctx, func(tx *store.Conn) error {
			ev := &gatehouse.AuditEvent{OrgID: org, Action: "member.removed", CreatedAt: baseTime}
			if err := tx.WriteAudit(ctx, ev); err != nil {
				return err
			}
			if _, err := tx.EnqueueWebhooks(ctx, ev); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		ds := claimWebhooks(t, s, baseTime)
		if len(ds) != 2 {
			t.Fatalf("claimed %d, want 2 (rolled back one must be absent)", len(ds))
		}
		var p map[string]any
		if err := json.Unmarshal(ds[0].Payload, &p); err != nil || p["organization_id"] != org || p["data"].(map[string]any)["email"] != "x@example.com" {
			t.Fatalf("payload %s", ds[0].Payload)
		}
		if again := claimWebhooks(t, s, baseTime); len(again) != 0 {
			t.Fatalf("leased deliveries claimed again: %d", len(again))
		}
		// A failed attempt, then the lease is released and it is due later.
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.RecordWebhookAttempt(ctx, ds[0].ID, store.WebhookAttemptResult{At: baseTime, StatusCode: 500, Error: "boom",
				Status: gatehouse.WebhookPending, Next: baseTime.Add(time.Minute)})
		})
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.RecordWebhookAttempt(ctx, ds[1].ID, store.WebhookAttemptResult{At: baseTime, StatusCode: 204, Status: gatehouse.WebhookSucceeded})
		})
		if got := claimWebhooks(t, s, baseTime.Add(2*time.Minute)); len(got) != 1 || got[0].ID != ds[0].ID || got[0].Attempts != 2 {
			t.Fatalf("retry claim %+v", got)
		}
		d, err := s.R().WebhookDelivery(ctx, org, ep.ID, ds[0].ID)
		if err != nil || len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 500 || d.LastError != "boom" {
			t.Fatalf("delivery %+v, %v", d, err)
		}
		// Disabled endpoints' deliveries are not claimed.
		ep.Enabled = false
		mustTx(t, s, func(tx *store.Conn) error { return tx.UpdateWebhookEndpoint(ctx, ep) })
		mustAuditWithWebhooks(t, s, &gatehouse.AuditEvent{OrgID: org, Action: "member.updated", CreatedAt: baseTime})
		if got := claimWebhooks(t, s, baseTime.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("disabled endpoint claimed %d", len(got))
		}
	})
	t.Run("ListAndResend", func(t *testing.T) {
		s := e.Open(t)
		org, ep := mustWebhookOrg(t, s, "*")
		var ids []string
		for i := range 5 {
			mustAuditWithWebhooks(t, s, &gatehouse.AuditEvent{OrgID: org, Action: fmt.Sprintf("member.e%d", i), CreatedAt: baseTime.Add(time.Duration(i) * time.Second)})
		}
		for _, d := range claimWebhooks(t, s, baseTime.Add(time.Minute)) {
			ids = append(ids, d.ID)
			mustTx(t, s, func(tx *store.Conn) error {
				return tx.RecordWebhookAttempt(ctx, d.ID, store.WebhookAttemptResult{At: baseTime, StatusCode: 500, Status: gatehouse.WebhookFailed})
			})
		}
		f := store.WebhookDeliveryFilter{OrgID: org, EndpointID: ep.ID, Page: gatehouse.PageRequest{Limit: 2}}
		page, err := s.R().ListWebhookDeliveries(ctx, f)
		if err != nil || len(page) != 3 || page[0].EventType != "member.e4" {
			t.Fatalf("page %d, %v", len(page), err)
		}
		f.Page.After = &gatehouse.Cursor{CreatedAt: page[1].CreatedAt, ID: page[1].ID}
		next, _ := s.R().ListWebhookDeliveries(ctx, f)
		if len(next) != 3 || next[0].EventType != "member.e2" {
			t.Fatalf("next page %d", len(next))
		}
		f.Page, f.EventType = gatehouse.PageRequest{}, "member.e3"
		if one, _ := s.R().ListWebhookDeliveries(ctx, f); len(one) != 1 {
			t.Fatalf("event filter %d", len(one))
		}
		f.EventType, f.Status = "", gatehouse.WebhookFailed
		var n int
		mustTx(t, s, func(tx *store.Conn) (err error) {
			n, err = tx.ResendWebhookDeliveries(ctx, f, ids[:1], baseTime.Add(time.Hour), 100)
			return err
		})
		if n != 1 {
			t.Fatalf("resend one = %d", n)
		}
		mustTx(t, s, func(tx *store.Conn) (err error) {
			n, err = tx.ResendWebhookDeliveries(ctx, f, nil, baseTime.Add(time.Hour), 3)
			return err
		})
		if n != 3 {
			t.Fatalf("resend all (bounded at 3) = %d", n)
		}
		pending, oldest, err := s.R().WebhookQueueStats(ctx)
		if err != nil || pending != 4 || !oldest.Equal(baseTime) {
			t.Fatalf("stats %d %v %v", pending, oldest, err)
		}
		if got := claimWebhooks(t, s, baseTime.Add(time.Hour)); len(got) != 4 || got[0].Attempts != 1 {
			t.Fatalf("resent claimed %d", len(got))
		}
		mustTx(t, s, func(tx *store.Conn) error { return tx.DeleteWebhookEndpoint(ctx, org, ep.ID) })
		if p, _, _ := s.R().WebhookQueueStats(ctx); p != 0 {
			t.Fatalf("deliveries survive their endpoint: %d", p)
		}
		// A worker recording an attempt of a delivery deleted meanwhile.
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.RecordWebhookAttempt(ctx, ids[0], store.WebhookAttemptResult{At: baseTime, StatusCode: 204, Status: gatehouse.WebhookSucceeded})
		})
		if _, err := s.R().WebhookDelivery(ctx, org, ep.ID, ids[0]); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("deleted delivery: %v", err)
		}
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := e.Open(t)
		org, _ := mustWebhookOrg(t, s, "*")
		for i := range 40 {
			mustAuditWithWebhooks(t, s, &gatehouse.AuditEvent{OrgID: org, Action: fmt.Sprintf("member.e%d", i), CreatedAt: baseTime})
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					var ds []*gatehouse.WebhookDelivery
					err := s.Tx(ctx, func(tx *store.Conn) (err error) {
						ds, err = tx.ClaimWebhookDeliveries(ctx, baseTime, time.Minute, 3)
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Fatalf("claimed %d distinct of 40", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("delivery %s claimed %d times", id, n)
			}
		}
	})
}
