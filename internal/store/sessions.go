package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

const sessionColumns = `id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, ip, user_agent, created_at, last_used_at, COALESCE(current_org_id, ''), refresh_seed, refresh_gen, rotated_at, amr`

func scanSession(row interface{ Scan(...any) error }) (*gatehouse.Session, error) {
	var s gatehouse.Session
	var ae, re, created, used, rotated int64
	var amr string
	if err := row.Scan(&s.ID, &s.UserID, &s.AccessHash, &ae, &s.RefreshHash, &re, &s.IP, &s.UserAgent, &created, &used, &s.CurrentOrgID,
		&s.RefreshSeed, &s.RefreshGen, &rotated, &amr); err != nil {
		return nil, err
	}
	s.AMR = strings.Fields(amr)
	s.AccessExpiresAt, s.RefreshExpiresAt, s.CreatedAt, s.LastUsedAt = fromTS(ae), fromTS(re), fromTS(created), fromTS(used)
	if rotated != 0 {
		s.RotatedAt = fromTS(rotated)
	}
	return &s, nil
}

// CreateSession inserts a session.
func (c *Conn) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	_, err := c.exec(ctx, `INSERT INTO sessions (id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, ip, user_agent,
		created_at, last_used_at, current_org_id, refresh_seed, refresh_gen, amr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.ID, s.UserID, s.AccessHash, ts(s.AccessExpiresAt), s.RefreshHash, ts(s.RefreshExpiresAt), s.IP, s.UserAgent, ts(s.CreatedAt), ts(s.LastUsedAt),
		nullStr(s.CurrentOrgID), s.RefreshSeed, s.RefreshGen, sessionAMR(s.AMR))
	return err
}

// SetSessionOrg sets (or, with "", clears) the organization a session acts in.
func (c *Conn) SetSessionOrg(ctx context.Context, sessionID, orgID string) error {
	_, err := c.exec(ctx, `UPDATE sessions SET current_org_id = $2 WHERE id = $1`, sessionID, nullStr(orgID))
	return err
}

// SessionByAccessHash finds the session whose current access token hashes to h.
func (c *Conn) SessionByAccessHash(ctx context.Context, h string) (*gatehouse.Session, error) {
	s, err := scanSession(c.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE access_hash = $1`, h))
	return s, notFound(c.wrap(err, "session by access"), "Session")
}

// SessionPrincipal is what a request's authentication needs of a session
// found by its access token's hash: the session and its user's name.
type SessionPrincipal struct {
	SessionID, UserID, UserName, CurrentOrgID string
	AccessExpiresAt, LastUsedAt               time.Time
	AMR                                       []string
}

// SessionPrincipalByAccessHash finds the session whose access token hashes
// to h with its user's name, in one query (the cache miss of every
// session-authenticated request). A session whose user is gone is not found.
func (c *Conn) SessionPrincipalByAccessHash(ctx context.Context, h string) (*SessionPrincipal, error) {
	var p SessionPrincipal
	var expires, used int64
	var amr string
	err := c.q.QueryRowContext(ctx, `SELECT s.id, s.user_id, u.name, COALESCE(s.current_org_id, ''), s.access_expires_at, s.last_used_at, s.amr
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.access_hash = $1`, h).Scan(
		&p.SessionID, &p.UserID, &p.UserName, &p.CurrentOrgID, &expires, &used, &amr)
	if err != nil {
		return nil, notFound(c.wrap(err, "session principal"), "Session")
	}
	p.AccessExpiresAt, p.LastUsedAt, p.AMR = fromTS(expires), fromTS(used), strings.Fields(amr)
	return &p, nil
}

// SessionByRefreshHash finds the session whose current refresh token hashes to h.
func (c *Conn) SessionByRefreshHash(ctx context.Context, h string) (*gatehouse.Session, error) {
	s, err := scanSession(c.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE refresh_hash = $1`, h))
	return s, notFound(c.wrap(err, "session by refresh"), "Session")
}

// SessionByID returns a session.
func (c *Conn) SessionByID(ctx context.Context, id string) (*gatehouse.Session, error) {
	s, err := scanSession(c.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	return s, notFound(c.wrap(err, "session by id"), "Session")
}

// AdvanceSession moves a session to its next refresh generation: new
// tokens (hashes), expiries, seed, client and rotated_at = now. It succeeds
// only while the session is still at generation fromGen with refresh hash
// fromHash, and fails with not-found otherwise (a concurrent rotation won).
// Nothing is kept of the old tokens: s.RefreshGen says which are old.
func (c *Conn) AdvanceSession(ctx context.Context, s *gatehouse.Session, fromGen int64, fromHash string, now time.Time) error {
	res, err := c.exec(ctx, `UPDATE sessions SET access_hash = $2, access_expires_at = $3, refresh_hash = $4, refresh_expires_at = $5,
		ip = $6, user_agent = $7, last_used_at = $8, rotated_at = $8, refresh_seed = $9, refresh_gen = $10
		WHERE id = $1 AND refresh_gen = $11 AND refresh_hash = $12`,
		s.ID, s.AccessHash, ts(s.AccessExpiresAt), s.RefreshHash, ts(s.RefreshExpiresAt), s.IP, s.UserAgent, ts(now),
		s.RefreshSeed, s.RefreshGen, fromGen, fromHash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "Session not found.")
	}
	return nil
}

// UsedRefreshSession returns the session id of a refresh token rotated away
// before refresh generations existed (migration 00011), "" when none.
func (c *Conn) UsedRefreshSession(ctx context.Context, h string) (string, error) {
	var id string
	err := c.q.QueryRowContext(ctx, `SELECT session_id FROM used_refresh_tokens WHERE hash = $1`, h).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, c.wrap(err, "used refresh")
}

// TouchSession records that a session was used.
func (c *Conn) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE sessions SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2`, id, ts(now))
	return err
}

// DeleteSession ends one session; it reports whether it existed.
func (c *Conn) DeleteSession(ctx context.Context, id string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return false, err
	}
	if _, err := c.exec(ctx, `DELETE FROM used_refresh_tokens WHERE session_id = $1`, id); err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteUserSessions ends every session of a user except keep ("" for all)
// and returns the ids it ended.
func (c *Conn) DeleteUserSessions(ctx context.Context, userID, keep string) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, keep)
	if err != nil {
		return nil, c.wrap(err, "delete sessions")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, c.wrap(err, "scan session id")
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, c.wrap(err, "sessions rows")
	}
	for _, id := range ids {
		if _, err := c.exec(ctx, `DELETE FROM used_refresh_tokens WHERE session_id = $1`, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// ListUserSessions returns a user's sessions, newest first.
func (c *Conn) ListUserSessions(ctx context.Context, userID string, p gatehouse.PageRequest) ([]*gatehouse.Session, error) {
	q, args := keyset(`SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1`, []any{userID}, p)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list sessions")
	}
	defer rows.Close()
	var out []*gatehouse.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, c.wrap(err, "scan session")
		}
		out = append(out, s)
	}
	return out, c.wrap(rows.Err(), "sessions rows")
}

// sessionAMR is how a session's amr is stored: space-separated, "pwd" when
// none is given.
func sessionAMR(amr []string) string {
	if len(amr) == 0 {
		return "pwd"
	}
	return strings.Join(amr, " ")
}
