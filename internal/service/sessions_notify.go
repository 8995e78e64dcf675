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
		case msg == store.FlushAll:
			a.cache.flush()
		case strings.HasPrefix(msg, "session:"):
			a.cache.evict(strings.TrimPrefix(msg, "session:"))
		}
	})
}

func (c *sessionCache) flush() {
	c.mu.Lock()
	c.byHash, c.bySession = map[string]cachedSession{}, map[string]string{}
	c.mu.Unlock()
}
