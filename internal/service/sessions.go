package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// openSession creates a session for u inside tx and returns its tokens.
func (a *Auth) openSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) (*gatehouse.Tokens, error) {
	now := a.now()
	access, refresh := secret.Token(AccessTokenPrefix, 32), secret.Token(RefreshTokenPrefix, 32)
	s := &gatehouse.Session{
		ID: newID(), UserID: u.ID,
		AccessHash: secret.HashToken(access), AccessExpiresAt: now.Add(AccessTokenTTL),
		RefreshHash: secret.HashToken(refresh), RefreshExpiresAt: now.Add(RefreshTokenTTL),
		IP: actor.IP, UserAgent: truncate(actor.UserAgent, 512), CreatedAt: now, LastUsedAt: now,
		CurrentOrgID: u.CurrentOrgID, // a new session starts where the user last chose
	}
	if err := tx.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
	if err := a.audit(ctx, tx, actor, "", "session.created", "session", s.ID, nil); err != nil {
		return nil, err
	}
	return &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, SessionID: s.ID}, nil
}

// OpenSession signs u in (used where another proof replaced the password,
// such as accepting an invitation that created the account).
func (a *Auth) OpenSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) (*gatehouse.Tokens, error) {
	return a.openSession(ctx, tx, actor, u)
}

var errBadRefresh = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_refresh_token", Message: "The refresh token is invalid or expired; sign in again."}

// Refresh rotates a session's tokens. Presenting a refresh token that was
// already rotated away is reuse, a sign of theft: it ends the whole session.
func (a *Auth) Refresh(ctx context.Context, actor gatehouse.Actor, refreshToken string) (*gatehouse.Tokens, *gatehouse.User, error) {
	if refreshToken == "" {
		return nil, nil, fields(&gatehouse.FieldError{Field: "refresh_token", Message: "is required"})
	}
	h := secret.HashToken(refreshToken)
	var tokens *gatehouse.Tokens
	var u *gatehouse.User
	var ended []string
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		now := a.now()
		s, err := tx.SessionByRefreshHash(ctx, h)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			sid, err := tx.UsedRefreshSession(ctx, h)
			if err != nil || sid == "" {
				return errBadRefresh, err
			}
			old, err := tx.SessionByID(ctx, sid)
			if err != nil {
				return errBadRefresh, nil
			}
			if _, err := tx.DeleteSession(ctx, sid); err != nil {
				return nil, err
			}
			ended = append(ended, sid)
			actor.Kind, actor.ID = gatehouse.PrincipalUser, old.UserID
			return errBadRefresh, a.audit(ctx, tx, actor, "", "session.revoked", "session", sid, map[string]any{"reason": "refresh_token_reuse"})
		}
		if err != nil {
			return nil, err
		}
		if !now.Before(s.RefreshExpiresAt) {
			if _, err := tx.DeleteSession(ctx, s.ID); err != nil {
				return nil, err
			}
			ended = append(ended, s.ID)
			return errBadRefresh, nil
		}
		if u, err = tx.UserByID(ctx, s.UserID); err != nil {
			return nil, err
		}
		access, refresh := secret.Token(AccessTokenPrefix, 32), secret.Token(RefreshTokenPrefix, 32)
		ended = append(ended, s.ID) // evict the old access token from caches
		s.AccessHash, s.AccessExpiresAt = secret.HashToken(access), now.Add(AccessTokenTTL)
		s.RefreshHash, s.RefreshExpiresAt = secret.HashToken(refresh), now.Add(RefreshTokenTTL)
		s.IP, s.UserAgent = actor.IP, truncate(actor.UserAgent, 512)
		if err := tx.RotateSession(ctx, s, h, now); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errBadRefresh, nil // lost a race with another rotation
			}
			return nil, err
		}
		tokens = &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, SessionID: s.ID}
		return nil, nil
	})
	a.ended(ctx, ended...)
	if err != nil {
		return nil, nil, err
	}
	return tokens, u, nil
}

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
	s, err := a.store.R().SessionByAccessHash(ctx, h)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(s.AccessExpiresAt) {
		return nil, errBadToken
	}
	u, err := a.store.R().UserByID(ctx, s.UserID)
	if err != nil {
		return nil, errBadToken
	}
	p := &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: u.ID, SessionID: s.ID, Name: u.Name, CurrentOrgID: s.CurrentOrgID}
	// last_used_at is written at most once per cache period per session.
	if err := a.store.Tx(ctx, func(tx *store.Conn) error { return tx.TouchSession(ctx, s.ID, now) }); err != nil {
		return nil, err
	}
	a.cache.put(h, p, s.AccessExpiresAt, now)
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

// sessionCache maps access-token hashes to principals for a short while.
type sessionCache struct {
	mu        sync.RWMutex
	byHash    map[string]cachedSession
	bySession map[string]string
}

type cachedSession struct {
	p        *gatehouse.Principal
	expires  time.Time // the access token's own expiry
	cachedAt time.Time
}

func newSessionCache() *sessionCache {
	return &sessionCache{byHash: map[string]cachedSession{}, bySession: map[string]string{}}
}

func (c *sessionCache) get(h string, now time.Time) (*gatehouse.Principal, bool) {
	c.mu.RLock()
	e, ok := c.byHash[h]
	c.mu.RUnlock()
	if !ok || now.Sub(e.cachedAt) > sessionCacheTTL || !now.Before(e.expires) {
		return nil, false
	}
	return e.p, true
}

func (c *sessionCache) put(h string, p *gatehouse.Principal, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byHash) > 100_000 { // bound memory; entries are cheap to rebuild
		c.byHash, c.bySession = map[string]cachedSession{}, map[string]string{}
	}
	if old, ok := c.bySession[p.SessionID]; ok {
		delete(c.byHash, old)
	}
	c.byHash[h] = cachedSession{p: p, expires: expires, cachedAt: now}
	c.bySession[p.SessionID] = h
}

// evict forgets sessions, so their next request goes to the database.
func (c *sessionCache) evict(sessionIDs ...string) {
	if len(sessionIDs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range sessionIDs {
		if h, ok := c.bySession[id]; ok {
			delete(c.byHash, h)
			delete(c.bySession, id)
		}
	}
}

// EvictSessions drops cached sessions (also called when another process
// reports that it ended them).
func (a *Auth) EvictSessions(ids ...string) { a.cache.evict(ids...) }
