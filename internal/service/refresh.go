package service

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RefreshGrace is how long after a rotation the previous refresh token
// still gets the current tokens instead of ending the session: two tabs or
// two processes refreshing at once, each with the same token, both succeed
// (with the same tokens), whichever process serves them.
const RefreshGrace = 10 * time.Second

// A session's tokens are derived, never drawn: for generation g,
//
//	refresh = gh_rt_<session id>.<g>.<HMAC(key, "refresh", id, g, seed)>
//	access  = gh_at_<HMAC(key, "access", id, g, seed)>
//
// The database keeps the seed (useless without the secret key), the
// current generation and the tokens' SHA-256 hashes. Every refresh token a
// session ever had can so be recognised from one row: one of an older
// generation is reuse. State per session is constant however often it is
// refreshed.
func (a *Auth) sessionTokens(id string, gen int64, seed string) (access, refresh string) {
	g := strconv.FormatInt(gen, 10)
	access = AccessTokenPrefix + a.cfg.Key.MAC("access", id, g, seed)
	refresh = RefreshTokenPrefix + id + "." + g + "." + a.cfg.Key.MAC("refresh", id, g, seed)
	return access, refresh
}

// parseRefresh splits a derived refresh token; ok is false for any other
// string (such as a token issued before generations).
func parseRefresh(token string) (id string, gen int64, ok bool) {
	rest, found := strings.CutPrefix(token, RefreshTokenPrefix)
	if !found {
		return "", 0, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || len(parts[0]) != 36 || len(parts[2]) != 64 {
		return "", 0, false
	}
	gen, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || gen < 0 {
		return "", 0, false
	}
	return parts[0], gen, true
}

// setGeneration gives s the tokens of generation gen (with a fresh seed
// when it has none) and returns them.
func (a *Auth) setGeneration(s *gatehouse.Session, gen int64, now time.Time) (access, refresh string) {
	if s.RefreshSeed == "" {
		s.RefreshSeed = secret.Token("", 32)
	}
	access, refresh = a.sessionTokens(s.ID, gen, s.RefreshSeed)
	s.RefreshGen = gen
	s.AccessHash, s.AccessExpiresAt = secret.HashToken(access), now.Add(AccessTokenTTL)
	s.RefreshHash, s.RefreshExpiresAt = secret.HashToken(refresh), now.Add(RefreshTokenTTL)
	return access, refresh
}

// openSession creates a session for u inside tx and returns its tokens.
func (a *Auth) openSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) (*gatehouse.Tokens, error) {
	return a.openSessionAMR(ctx, tx, actor, u, []string{"pwd"})
}

// openSessionAMR is openSession recording how the user proved who they are
// (RFC 8176 amr values).
func (a *Auth) openSessionAMR(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User, amr []string) (*gatehouse.Tokens, error) {
	now := a.now()
	s := &gatehouse.Session{
		ID: newID(), UserID: u.ID,
		IP: actor.IP, UserAgent: truncate(actor.UserAgent, 512), CreatedAt: now, LastUsedAt: now,
		CurrentOrgID: u.CurrentOrgID, // a new session starts where the user last chose
		AMR:          amr,
	}
	access, refresh := a.setGeneration(s, 0, now)
	if err := tx.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
	if err := a.audit(ctx, tx, actor, "", "session.created", "session", s.ID, map[string]any{"amr": amr}); err != nil {
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

// refreshState is what one refresh decided inside its transaction.
type refreshState struct {
	tokens *gatehouse.Tokens
	user   *gatehouse.User
	ended  []string // sessions to evict from every process's cache
}

// Refresh rotates a session's tokens to the next generation. The token of
// the generation just before, presented within RefreshGrace of the
// rotation, gets the current tokens (a concurrent refresh, not theft); any
// older generation is reuse, a sign of theft: it ends the whole session.
func (a *Auth) Refresh(ctx context.Context, actor gatehouse.Actor, refreshToken string) (*gatehouse.Tokens, *gatehouse.User, error) {
	if refreshToken == "" {
		return nil, nil, fields(&gatehouse.FieldError{Field: "refresh_token", Message: "is required"})
	}
	var st refreshState
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		st = refreshState{}
		id, gen, derived := parseRefresh(refreshToken)
		if !derived || !storableText(refreshToken) {
			return a.refreshLegacy(ctx, tx, actor, refreshToken, &st)
		}
		// Two tries: a rotation that loses a race re-reads the winner's row
		// and is then within the grace period.
		for try := 0; try < 2; try++ {
			s, err := tx.SessionByID(ctx, id)
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errBadRefresh, nil
			}
			if err != nil {
				return nil, err
			}
			if s.RefreshSeed == "" || gen > s.RefreshGen {
				return errBadRefresh, nil
			}
			if _, want := a.sessionTokens(s.ID, gen, s.RefreshSeed); !secret.Equal(refreshToken, want) {
				return errBadRefresh, nil // forged: it proves nothing, so it ends nothing
			}
			retry, refusal, err := a.refreshSession(ctx, tx, actor, s, gen, &st)
			if !retry {
				return refusal, err
			}
		}
		return errBadRefresh, nil
	})
	a.ended(ctx, st.ended...)
	if err != nil {
		return nil, nil, err
	}
	return st.tokens, st.user, nil
}

// refreshSession decides on a genuine token of generation gen of s.
func (a *Auth) refreshSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, s *gatehouse.Session, gen int64, st *refreshState) (retry bool, refusal, err error) {
	now := a.now()
	if !now.Before(s.RefreshExpiresAt) {
		if _, err := tx.DeleteSession(ctx, s.ID); err != nil {
			return false, nil, err
		}
		st.ended = append(st.ended, s.ID)
		return false, errBadRefresh, nil
	}
	switch {
	case gen == s.RefreshGen:
		fromHash := s.RefreshHash
		access, refresh := a.setGeneration(s, gen+1, now)
		s.IP, s.UserAgent = actor.IP, truncate(actor.UserAgent, 512)
		if err := tx.AdvanceSession(ctx, s, gen, fromHash, now); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return true, nil, nil // another rotation won: look again
			}
			return false, nil, err
		}
		st.ended = append(st.ended, s.ID) // evict the old access token from caches
		st.tokens = &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, SessionID: s.ID}
	case gen == s.RefreshGen-1 && !s.RotatedAt.IsZero() && now.Sub(s.RotatedAt) <= RefreshGrace:
		// The same rotation, asked for twice: the same answer.
		access, refresh := a.sessionTokens(s.ID, s.RefreshGen, s.RefreshSeed)
		st.tokens = &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.AccessExpiresAt.Sub(now), SessionID: s.ID}
	default:
		refusal, err := a.endForReuse(ctx, tx, actor, s, st)
		return false, refusal, err
	}
	u, err := tx.UserByID(ctx, s.UserID)
	if err != nil {
		return false, nil, err
	}
	st.user = u
	return false, nil, nil
}

// endForReuse ends a session whose rotated-away refresh token came back.
func (a *Auth) endForReuse(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, s *gatehouse.Session, st *refreshState) (refusal, err error) {
	if _, err := tx.DeleteSession(ctx, s.ID); err != nil {
		return nil, err
	}
	st.ended = append(st.ended, s.ID)
	actor.Kind, actor.ID = gatehouse.PrincipalUser, s.UserID
	return errBadRefresh, a.audit(ctx, tx, actor, "", "session.revoked", "session", s.ID, map[string]any{"reason": "refresh_token_reuse"})
}

// refreshLegacy serves a random refresh token issued before generations:
// the current one moves its session onto derived tokens; one recorded as
// rotated away ends its session.
func (a *Auth) refreshLegacy(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, token string, st *refreshState) (refusal, err error) {
	h := secret.HashToken(token)
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
		return a.endForReuse(ctx, tx, actor, old, st)
	}
	if err != nil {
		return nil, err
	}
	if s.RefreshSeed != "" {
		return errBadRefresh, nil
	}
	_, refusal, err = a.refreshSession(ctx, tx, actor, s, s.RefreshGen, st)
	return refusal, err
}
