package service

import (
	"context"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// subscriptionCache keeps each organization's enabled webhook endpoints
// (ids and subscriptions only, store.WebhookSubscriptions) between its
// audited changes: every audited change asks for them (webhookEvent), most
// organizations have none, and they change only when an endpoint is
// created, updated or deleted (Webhooks) or disabled by the worker, each of
// which announces webhook.Changed after its commit; other processes hear it
// through the store's notifications. A deleted organization's entry goes
// with its "org" notification, and store.FlushAll clears the whole shared
// cache (Access).
//
// An entry read inside a transaction sees that transaction's own changes
// (and, in a SQLite group-commit batch, those of the batch's earlier
// callers) before they commit. Should they never commit, the entry would
// name endpoints that do not exist, or miss ones that do: so the services
// that change endpoints drop the organization's entry once more after their
// transaction, whatever its outcome (forget). A batch's callers return only
// after its commit or rollback, so that drop comes after any read made in
// it.
type subscriptionCache struct {
	c *cache.Cache[[]*gatehouse.WebhookEndpoint]
}

func newSubscriptionCache(b *base) *subscriptionCache {
	sc := &subscriptionCache{c: cache.NewCache(b.cache, "webhook_subscriptions", cache.Options[[]*gatehouse.WebhookEndpoint]{
		Weigh: subscriptionsSize})}
	b.store.Subscribe(func(msg string) {
		if kind, org, _ := strings.Cut(msg, ":"); kind == "webhooks" || kind == "org" {
			sc.forget(org)
		}
	})
	return sc
}

// subscriptionsSize estimates an entry's memory.
func subscriptionsSize(eps []*gatehouse.WebhookEndpoint) int {
	n := int(unsafe.Sizeof(eps)) + cache.AllocSize(len(eps)*int(unsafe.Sizeof(eps[0])))
	for _, ep := range eps {
		n += cache.AllocSize(int(unsafe.Sizeof(*ep))) + strSize(ep.ID) + cache.AllocSize(len(ep.Events)*int(unsafe.Sizeof("")))
		for _, e := range ep.Events {
			n += strSize(e)
		}
	}
	return n
}

// get returns the organization's enabled endpoints, reading them through
// tx on a miss.
func (sc *subscriptionCache) get(ctx context.Context, tx *store.Conn, orgID string) ([]*gatehouse.WebhookEndpoint, error) {
	if eps, ok := sc.c.Get(orgID, ""); ok {
		return eps, nil
	}
	ticket := sc.c.Begin(orgID, "")
	eps, err := tx.WebhookSubscriptions(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sc.c.Fill(ticket, orgID, "", eps)
	return eps, nil
}

// forget drops the organization's entry.
func (sc *subscriptionCache) forget(orgID string) { sc.c.Invalidate(orgID, "") }

// subscriptionsChanged announces, inside tx, that the organization's
// endpoints changed (every process drops its entry after the commit).
// The caller also forgets the entry after its transaction, whatever its
// outcome (see subscriptionCache).
func (b *base) subscriptionsChanged(ctx context.Context, tx *store.Conn, orgID string) error {
	return tx.Notify(ctx, webhook.Changed(orgID))
}
