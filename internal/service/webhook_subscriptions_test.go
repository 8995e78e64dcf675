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
// of its endpoints made by another process reaches this one's cache, on
// both engines (two stores on one PostgreSQL schema; on SQLite two service
// instances on one store): an event before any endpoint queues nothing (and
// caches that), then one after the endpoint's creation queues a delivery,
// none while it is disabled, one again once enabled, none after it is
// deleted. Another organization's subscriptions are its own.
func TestSubscriptionCache(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.NewDSN(t)
			st := e.OpenAt(t, dsn)
			stB := st
			if e.Name == "postgres" {
				stB = e.OpenAt(t, dsn)
			}
			ctx := context.Background()
			now := store.Now()
			if err := st.SeedOrgs(ctx, store.OrgSeed{To: 2, Members: 1, Sessions: 1, TokenHash: secret.HashToken, Now: now}); err != nil {
				t.Fatal(err)
			}
			cfg := Config{Key: storetest.MustKey(t), WebhooksAllowPrivate: true}
			svc, other := New(st, cfg), New(stB, cfg) // events here, endpoint changes there
			org, otherOrg := store.SeedOrgID(0), store.SeedOrgID(1)
			p, err := other.Auth.Authenticate(ctx, store.SeedToken(0))
			if err != nil {
				t.Fatal(err)
			}
			actor := gatehouse.Actor{IP: "192.0.2.1"}
			c, err := other.Access.Caller(ctx, actor, p, org)
			if err != nil {
				t.Fatal(err)
			}
			// dropped: the change has reached this process's cache.
			dropped := func() bool { _, ok := svc.Webhooks.subscriptions.c.Get(org, ""); return !ok }
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
			event(otherOrg, 0)
			if dropped() {
				t.Fatal("the organization's subscriptions were not kept")
			}
			url := "http://127.0.0.1:9/hook"
			ep, err := other.Webhooks.Create(ctx, c, WebhookInput{URL: &url, Events: []string{"member.*"}, EventsSet: true})
			if err != nil {
				t.Fatal(err)
			}
			waitChanged(t, dropped)
			event(org, 1)
			event(otherOrg, 0)
			off, on := false, true
			if _, err := other.Webhooks.Update(ctx, c, ep.ID, WebhookInput{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
			waitChanged(t, dropped)
			event(org, 1)
			if _, err := other.Webhooks.Update(ctx, c, ep.ID, WebhookInput{Enabled: &on}); err != nil {
				t.Fatal(err)
			}
			waitChanged(t, dropped)
			event(org, 2)
			if err := other.Webhooks.Delete(ctx, c, ep.ID); err != nil {
				t.Fatal(err)
			}
			waitChanged(t, dropped)
			// The endpoint's deliveries went with it; the next event queues none.
			event(org, 0)
		})
	}
}
