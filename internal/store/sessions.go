package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

const sessionColumns = `id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, ip, user_agent, created_at, last_used_at, COALESCE(current_org_id, '')`

func scanSession(row interface{ Scan(...any) error }) (*gatehouse.Session, error) {
	var s gatehouse.Session
	var ae, re, created, used int64
	if err := row.Scan(&s.ID, &s.UserID, &s.AccessHash, &ae, &s.RefreshHash, &re, &s.IP, &s.UserAgent, &created, &used, &s.CurrentOrgID); err != nil {
		return nil, err
	}
	s.AccessExpiresAt, s.RefreshExpiresAt, s.CreatedAt, s.LastUsedAt = fromTS(ae), fromTS(re), fromTS(created), fromTS(used)
	return &s, nil
}

// CreateSession inserts a session.
func (c *Conn) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	_, err := c.exec(ctx, `INSERT INTO sessions (id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, ip, user_agent,
		created_at, last_used_at, current_org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, s.UserID, s.AccessHash, ts(s.AccessExpiresAt), s.RefreshHash, ts(s.RefreshExpiresAt), s.IP, s.UserAgent, ts(s.CreatedAt), ts(s.LastUsedAt),
		nullStr(s.CurrentOrgID))
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

// RotateSession replaces a session's tokens, remembering the old refresh
// hash so that presenting it again is recognised as reuse. It fails with
// not-found when oldRefreshHash is no longer current (a concurrent rotation).
func (c *Conn) RotateSession(ctx context.Context, s *gatehouse.Session, oldRefreshHash string, now time.Time) error {
	res, err := c.exec(ctx, `UPDATE sessions SET access_hash = $2, access_expires_at = $3, refresh_hash = $4, refresh_expires_at = $5,
		ip = $6, user_agent = $7, last_used_at = $8 WHERE id = $1 AND refresh_hash = $9`,
		s.ID, s.AccessHash, ts(s.AccessExpiresAt), s.RefreshHash, ts(s.RefreshExpiresAt), s.IP, s.UserAgent, ts(now), oldRefreshHash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "Session not found.")
	}
	_, err = c.exec(ctx, `INSERT INTO used_refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, $3)`, oldRefreshHash, s.ID, ts(now))
	return err
}

// UsedRefreshSession returns the session id of a rotated-away refresh token,
// "" when the hash was never a refresh token of a live session.
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
