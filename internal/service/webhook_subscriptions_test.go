package service

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestSubscriptionCache: an organization's webhook subscriptions are kept
// between its audited changes (webhook_subscriptions.go), and every change
// of its endpoints is seen by the next audited change, on both engines: an
// event before any endpoint queues nothing (and caches that), then one
// after the endpoint's creation queues a delivery, none while it is
// disabled, one again once enabled, none after it is deleted. Another
// organization's subscriptions are its own.
func TestSubscriptionCache(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			ctx := context.Background()
			now := store.Now()
			if err := st.SeedOrgs(ctx, store.OrgSeed{To: 2, Members: 1, Sessions: 1, TokenHash: secret.HashToken, Now: now}); err != nil {
				t.Fatal(err)
			}
			svc := New(st, Config{Key: storetest.MustKey(t), WebhooksAllowPrivate: true})
			org, other := store.SeedOrgID(0), store.SeedOrgID(1)
			p, err := svc.Auth.Authenticate(ctx, store.SeedToken(0))
			if err != nil {
				t.Fatal(err)
			}
			actor := gatehouse.Actor{IP: "192.0.2.1"}
			c, err := svc.Access.Caller(ctx, actor, p, org)
			if err != nil {
				t.Fatal(err)
			}
			queued := func(orgID string) int {
				var n int
				if err := st.ReaderDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE org_id = $1 AND event_type = 'member.updated'`, orgID).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			event := func(orgID string, want int) {
				t.Helper()
				if err := st.Tx(ctx, func(tx *store.Conn) error {
					return svc.Webhooks.audit(ctx, tx, actor, orgID, "member.updated", "member", "m", map[string]any{})
				}); err != nil {
					t.Fatal(err)
				}
				if got := queued(orgID); got != want {
					t.Fatalf("%s: %d deliveries queued, want %d", orgID, got, want)
				}
			}
			event(org, 0)
			event(other, 0)
			url := "http://127.0.0.1:9/hook"
			ep, err := svc.Webhooks.Create(ctx, c, WebhookInput{URL: &url, Events: []string{"member.*"}, EventsSet: true})
			if err != nil {
				t.Fatal(err)
			}
			event(org, 1)
			event(other, 0)
			off, on := false, true
			if _, err := svc.Webhooks.Update(ctx, c, ep.ID, WebhookInput{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
			event(org, 1)
			if _, err := svc.Webhooks.Update(ctx, c, ep.ID, WebhookInput{Enabled: &on}); err != nil {
				t.Fatal(err)
			}
			event(org, 2)
			if err := svc.Webhooks.Delete(ctx, c, ep.ID); err != nil {
				t.Fatal(err)
			}
			// The endpoint's deliveries went with it; the next event queues none.
			event(org, 0)
		})
	}
}
