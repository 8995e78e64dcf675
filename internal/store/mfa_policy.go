package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// OrgRequiresMFA reports whether an organization requires a second factor.
func (c *Conn) OrgRequiresMFA(ctx context.Context, orgID string) (bool, error) {
	var v bool
	err := c.q.QueryRowContext(ctx, `SELECT require_mfa FROM org_mfa_policy WHERE org_id = $1`, orgID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v, c.wrap(err, "org mfa policy")
}

// SetOrgRequireMFA sets an organization's second-factor policy.
func (c *Conn) SetOrgRequireMFA(ctx context.Context, orgID string, require bool, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO org_mfa_policy (org_id, require_mfa, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET require_mfa = excluded.require_mfa, updated_at = excluded.updated_at`, orgID, require, ts(now))
	return err
}

// UsersWithMFA answers which of the given users have a second factor on
// (an authenticator app or a passkey).
func (c *Conn) UsersWithMFA(ctx context.Context, userIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		var n int
		if err := c.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM user_totp WHERE user_id = $1 AND confirmed_at <> 0) + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)`, id).Scan(&n); err != nil {
			return nil, c.wrap(err, "users with mfa")
		}
		out[id] = n > 0
	}
	return out, nil
}

// MemberWithoutMFA is a member a second-factor requirement would lock out.
type MemberWithoutMFA struct {
	UserID, Email, Name string
}

// MembersWithoutMFA lists (at most limit of) an organization's members
// with no second factor on, by email.
func (c *Conn) MembersWithoutMFA(ctx context.Context, orgID string, limit int) ([]MemberWithoutMFA, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT m.user_id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND NOT EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = m.user_id AND t.confirmed_at <> 0)
		AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id)
		ORDER BY u.email_norm LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, c.wrap(err, "members without mfa")
	}
	defer rows.Close()
	out := []MemberWithoutMFA{}
	for rows.Next() {
		var m MemberWithoutMFA
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name); err != nil {
			return nil, c.wrap(err, "scan member without mfa")
		}
		out = append(out, m)
	}
	return out, c.wrap(rows.Err(), "members without mfa rows")
}
