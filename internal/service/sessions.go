package service

import (
	"context"
	"strings"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

var errBadToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_token", Message: "The access token is invalid or expired."}

// Authenticate resolves a bearer access token to its principal. A session
// seen in the last sessionCacheTTL is answered from memory.
func (a *Auth) Authenticate(ctx context.Context, token string) (*gatehouse.Principal, error) {
	if strings.HasPrefix(token, APIKeyPrefix) && a.keys != nil {
		return a.keys.Authenticate(ctx, token)
	}
	if !strings.HasPrefix(token, AccessTokenPrefix) {
		return nil, errBadToken
	}
	h := secret.HashToken(token)
	now := a.now()
	if p, ok := a.cache.get(h, now); ok {
		return p, nil
	}
	t := a.cache.begin(h)
	s, err := a.store.R().SessionPrincipalByAccessHash(ctx, h)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(s.AccessExpiresAt) {
		return nil, errBadToken
	}
	p := &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: s.UserID, SessionID: s.SessionID, Name: s.UserName, CurrentOrgID: s.CurrentOrgID, AMR: s.AMR}
	// last_used_at is kept to the cache period: noted when older than
	// that (a session evicted and read again soon after costs no write), and
	// written in batches.
	if now.Sub(s.LastUsedAt) >= sessionCacheTTL {
		if err := a.touch(ctx, s.SessionID, now); err != nil {
			return nil, err
		}
	}
	a.cache.put(t, h, p, s.AccessExpiresAt, now)
	return p, nil
}

// Logout ends the caller's session: both its tokens stop working at once.
func (a *Auth) Logout(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := tx.DeleteSession(ctx, p.SessionID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "session.deleted", "session", p.SessionID, map[string]any{"reason": "logout"})
	})
	a.ended(ctx, p.SessionID)
	return err
}

// Sessions lists the caller's sessions.
func (a *Auth) Sessions(ctx context.Context, p *gatehouse.Principal, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Session], error) {
	if p.Kind != gatehouse.PrincipalUser {
		return gatehouse.Page[*gatehouse.Session]{}, errUserOnly
	}
	if page.After != nil && !storableText(page.After.ID) {
		return gatehouse.Page[*gatehouse.Session]{}, gatehouse.Invalid("Invalid cursor.",
			gatehouse.FieldError{Field: "cursor", Message: "is not a cursor returned by this list"})
	}
	if err := a.FlushLastUsed(ctx); err != nil { // show uses not yet written
		return gatehouse.Page[*gatehouse.Session]{}, err
	}
	ss, err := a.store.R().ListUserSessions(ctx, p.UserID, page)
	if err != nil {
		return gatehouse.Page[*gatehouse.Session]{}, err
	}
	return gatehouse.MakePage(ss, page, func(s *gatehouse.Session) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: s.CreatedAt, ID: s.ID}
	}), nil
}

// EndSession ends one of the caller's own sessions; anyone else's is 404.
func (a *Auth) EndSession(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	notFound := gatehouse.Errorf(gatehouse.ENOTFOUND, "Session not found.")
	if !storableText(id) {
		return notFound
	}
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		s, err := tx.SessionByID(ctx, id)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && s.UserID != p.UserID) {
			return notFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.DeleteSession(ctx, id); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "session.deleted", "session", id, nil)
	})
	a.ended(ctx, id)
	return err
}

// sessionCache maps access-token hashes to principals for sessionCacheTTL
// at most, in a view of the bounded store; an ended session is dropped by
// its id.
type sessionCache struct {
	c *cache.Cache[*cachedSession]
}

type cachedSession struct {
	p        *gatehouse.Principal
	expires  time.Time // the access token's own expiry
	cachedAt time.Time
}

func newSessionCache(s *cache.Shared) *sessionCache {
	return &sessionCache{c: cache.NewCache(s, "sessions", cache.Options[*cachedSession]{
		// The entry, the principal, and their strings at their allocation.
		Weigh: func(e *cachedSession) int {
			p := e.p
			n := int(unsafe.Sizeof(*e)+unsafe.Sizeof(*p)) + 16*cap(p.AMR)
			for _, a := range p.AMR {
				n += strSize(a)
			}
			return n + strSize(p.UserID) + strSize(p.SessionID) + strSize(p.Name) + strSize(p.CurrentOrgID)
		},
		Index: func(e *cachedSession) string { return e.p.SessionID },
	})}
}

func (c *sessionCache) get(h string, now time.Time) (*gatehouse.Principal, bool) {
	e, ok := c.c.Get(h, "")
	if !ok || now.Sub(e.cachedAt) > sessionCacheTTL || !now.Before(e.expires) {
		return nil, false
	}
	return e.p, true
}

// begin is taken before reading a session, for put.
func (c *sessionCache) begin(h string) cache.Ticket { return c.c.Begin(h, "") }

// put caches a session read after t, unless one ended in between.
func (c *sessionCache) put(t cache.Ticket, h string, p *gatehouse.Principal, expires, now time.Time) {
	c.c.Fill(t, h, "", &cachedSession{p: p, expires: expires, cachedAt: now})
}

// evict forgets sessions, so their next request goes to the database.
func (c *sessionCache) evict(sessionIDs ...string) {
	for _, id := range sessionIDs {
		c.c.InvalidateIndex(id)
	}
}

// EvictSessions drops cached sessions (also called when another process
// reports that it ended them).
func (a *Auth) EvictSessions(ids ...string) { a.cache.evict(ids...) }
