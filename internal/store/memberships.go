package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse"
)

const membershipColumns = `m.id, m.org_id, m.user_id, COALESCE(m.role_id, ''), m.grants, COALESCE(m.invited_by, ''), m.created_at, m.updated_at, u.name, u.email`

// membershipRows reads every membership of rows and closes them: the one
// row loop of the membership lists.
func (c *Conn) membershipRows(rows *sql.Rows) ([]*gatehouse.Membership, error) {
	defer rows.Close()
	var out []*gatehouse.Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, c.wrap(err, "scan member")
		}
		out = append(out, m)
	}
	return out, c.wrap(rows.Err(), "members rows")
}

func scanMembership(row interface{ Scan(...any) error }) (*gatehouse.Membership, error) {
	var m gatehouse.Membership
	var grants string
	var created, updated int64
	if err := row.Scan(&m.ID, &m.OrgID, &m.UserID, &m.RoleID, &grants, &m.InvitedBy, &created, &updated, &m.UserName, &m.UserEmail); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &m.Grants); err != nil {
		return nil, err
	}
	m.CreatedAt, m.UpdatedAt = fromTS(created), fromTS(updated)
	return &m, nil
}

func marshalGrants(g []gatehouse.Grant) (string, error) {
	if g == nil {
		g = []gatehouse.Grant{}
	}
	b, err := json.Marshal(g)
	return string(b), err
}

// CreateMembership adds a user to an organization; an existing member is a
// conflict.
func (c *Conn) CreateMembership(ctx context.Context, m *gatehouse.Membership) error {
	grants, err := marshalGrants(m.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO memberships (id, org_id, user_id, role_id, grants, invited_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, m.ID, m.OrgID, m.UserID, nullStr(m.RoleID), grants, nullStr(m.InvitedBy), ts(m.CreatedAt))
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "already_member", Message: "The user is already a member of this organization.", Cause: err}
	}
	return err
}

// Membership returns a user's membership in an organization, or not found.
func (c *Conn) Membership(ctx context.Context, orgID, userID string) (*gatehouse.Membership, error) {
	m, err := scanMembership(c.q.QueryRowContext(ctx, `SELECT `+membershipColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID))
	if err == sql.ErrNoRows {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Member not found.")
	}
	return m, c.wrap(err, "membership")
}

// UpdateMembership replaces a member's role and grants.
func (c *Conn) UpdateMembership(ctx context.Context, m *gatehouse.Membership, now time.Time) error {
	grants, err := marshalGrants(m.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `UPDATE memberships SET role_id = $3, grants = $4, updated_at = $5 WHERE org_id = $1 AND user_id = $2`,
		m.OrgID, m.UserID, nullStr(m.RoleID), grants, ts(now))
	return err
}

// DeleteMembership removes a user from an organization.
func (c *Conn) DeleteMembership(ctx context.Context, orgID, userID string) error {
	if _, err := c.exec(ctx, `UPDATE users SET current_org_id = NULL WHERE id = $1 AND current_org_id = $2`, userID, orgID); err != nil {
		return err
	}
	_, err := c.exec(ctx, `DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	return err
}

// ListMemberships lists an organization's members, newest first; search
// matches name or email (case-insensitive substring).
func (c *Conn) ListMemberships(ctx context.Context, orgID, search string, p gatehouse.PageRequest) ([]*gatehouse.Membership, error) {
	q := `SELECT ` + membershipColumns + ` FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1`
	args := []any{orgID}
	if search != "" {
		args = append(args, "%"+escapeLike(lower(search))+"%")
		q += ` AND (LOWER(u.name) LIKE $2 ESCAPE '\' OR u.email_norm LIKE $2 ESCAPE '\')`
	}
	q, args = keysetOn(q, args, p, "m.created_at", "m.id")
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list members")
	}
	return c.membershipRows(rows)
}

// OwnerCandidates lists the memberships that may hold owner rights: those
// with a role or with an owner grant. Callers compile them to be sure.
func (c *Conn) OwnerCandidates(ctx context.Context, orgID string) ([]*gatehouse.Membership, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+membershipColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND (m.role_id IS NOT NULL OR m.grants LIKE '%"owner"%')`, orgID)
	if err != nil {
		return nil, c.wrap(err, "owner candidates")
	}
	return c.membershipRows(rows)
}
