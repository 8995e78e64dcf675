package service

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ended forgets sessions in this process's cache and tells the other
// processes to forget them too, so an ended session fails on its very next
// request wherever it lands.
func (a *Auth) ended(ctx context.Context, ids ...string) {
	a.cache.evict(ids...)
	for _, id := range ids {
		if err := a.store.Publish(context.WithoutCancel(ctx), sessionEnded(id)); err != nil {
			// The other processes' caches expire within sessionCacheTTL anyway.
			continue
		}
	}
}

// subscribeSessions evicts sessions other processes ended.
func (a *Auth) subscribeSessions() {
	a.store.Subscribe(func(msg string) {
		switch {
		case strings.HasPrefix(msg, "session:"):
			a.cache.evict(strings.TrimPrefix(msg, "session:")) // store.FlushAll clears every view (Access)
		case strings.HasPrefix(msg, "user:"):
			a.cache.evictUser(strings.TrimPrefix(msg, "user:"))
		}
	})
}

// userRenamed forgets the user's cached sessions here and in the other
// processes once tx commits, so that the events of their next requests
// carry the new name (the cached principal holds it).
func (a *Auth) userRenamed(ctx context.Context, tx *store.Conn, userID string) error {
	return tx.Notify(ctx, userChanged(userID))
}

// evictUser forgets every cached session of a user (a walk of the cache:
// renames are rare).
func (c *sessionCache) evictUser(userID string) {
	c.c.InvalidateIf(func(_, _ string, e *cachedSession) bool { return e.p.UserID == userID })
}
