package service

import (
	"context"
	"strings"
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
		if id, ok := strings.CutPrefix(msg, "session:"); ok {
			a.cache.evict(id) // store.FlushAll clears every view (Access)
		}
	})
}
