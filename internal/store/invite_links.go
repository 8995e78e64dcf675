package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse"
)

// InviteLink is a shareable invitation link (the token is kept hashed).
type InviteLink struct {
	ID             string
	OrgID          string
	TokenHash      string
	RoleID         string
	Grants         []gatehouse.Grant
	AllowedDomains []string
	MaxUses        int
	Uses           int
	Revoked        bool
	CreatedBy      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

func init() {
	// Deleted with their organization, before it (uses go by cascade).
	orgOwnedTables = append([]string{"invite_links"}, orgOwnedTables...)
}

const inviteLinkColumns = `id, org_id, token_hash, COALESCE(role_id, ''), grants, allowed_domains, max_uses, uses, revoked, created_by, created_at, expires_at`

func scanInviteLink(row interface{ Scan(...any) error }) (*InviteLink, error) {
	var l InviteLink
	var grants, domains string
	var revoked int
	var created, expires int64
	if err := row.Scan(&l.ID, &l.OrgID, &l.TokenHash, &l.RoleID, &grants, &domains, &l.MaxUses, &l.Uses, &revoked, &l.CreatedBy, &created, &expires); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &l.Grants); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(domains), &l.AllowedDomains); err != nil {
		return nil, err
	}
	l.Revoked, l.CreatedAt, l.ExpiresAt = revoked != 0, fromTS(created), fromTS(expires)
	return &l, nil
}

// CreateInviteLink inserts a link.
func (c *Conn) CreateInviteLink(ctx context.Context, l *InviteLink) error {
	grants, err := marshalGrants(l.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	domains, err := json.Marshal(l.AllowedDomains)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO invite_links (id, org_id, token_hash, role_id, grants, allowed_domains, max_uses, uses, revoked, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		l.ID, l.OrgID, l.TokenHash, nullStr(l.RoleID), grants, string(domains), l.MaxUses, l.Uses, 0, l.CreatedBy, ts(l.CreatedAt), ts(l.ExpiresAt))
	return err
}

// InviteLink returns a link of an organization.
func (c *Conn) InviteLink(ctx context.Context, orgID, id string) (*InviteLink, error) {
	l, err := scanInviteLink(c.q.QueryRowContext(ctx, `SELECT `+inviteLinkColumns+` FROM invite_links WHERE org_id = $1 AND id = $2`, orgID, id))
	return l, notFound(c.wrap(err, "invite link"), "Invitation link")
}

// InviteLinkByTokenHash returns the link of a token.
func (c *Conn) InviteLinkByTokenHash(ctx context.Context, h string) (*InviteLink, error) {
	l, err := scanInviteLink(c.q.QueryRowContext(ctx, `SELECT `+inviteLinkColumns+` FROM invite_links WHERE token_hash = $1`, h))
	return l, notFound(c.wrap(err, "invite link by token"), "Invitation link")
}

// ListInviteLinks lists an organization's links, newest first (at most 1000).
func (c *Conn) ListInviteLinks(ctx context.Context, orgID string) ([]*InviteLink, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+inviteLinkColumns+` FROM invite_links WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1000`, orgID)
	if err != nil {
		return nil, c.wrap(err, "list invite links")
	}
	defer rows.Close()
	out := []*InviteLink{}
	for rows.Next() {
		l, err := scanInviteLink(rows)
		if err != nil {
			return nil, c.wrap(err, "scan invite link")
		}
		out = append(out, l)
	}
	return out, c.wrap(rows.Err(), "list invite links")
}

// RevokeInviteLink marks a link revoked; false when it already was.
func (c *Conn) RevokeInviteLink(ctx context.Context, id string) (bool, error) {
	res, err := c.exec(ctx, `UPDATE invite_links SET revoked = 1 WHERE id = $1 AND revoked = 0`, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseInviteLink counts one join by userID: false when the link is used up
// or the account used it already.
func (c *Conn) UseInviteLink(ctx context.Context, id, userID string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE invite_links SET uses = uses + 1 WHERE id = $1 AND uses < max_uses`, id)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	_, err = c.exec(ctx, `INSERT INTO invite_link_uses (link_id, user_id, created_at) VALUES ($1, $2, $3)`, id, userID, ts(now))
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return false, nil
	}
	return err == nil, err
}
