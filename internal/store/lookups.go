package store

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// OrgMemberships lists every member of an organization with their name and
// email, oldest first (for look-ups over all members and the access review).
func (c *Conn) OrgMemberships(ctx context.Context, orgID string) ([]*gatehouse.Membership, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+membershipColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 ORDER BY m.created_at, m.id`, orgID)
	if err != nil {
		return nil, c.wrap(err, "org members")
	}
	return c.membershipRows(rows)
}

// OrgAPIKeys lists every API key of an organization, oldest first.
func (c *Conn) OrgAPIKeys(ctx context.Context, orgID string) ([]*gatehouse.APIKey, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, c.wrap(err, "org api keys")
	}
	defer rows.Close()
	var out []*gatehouse.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, c.wrap(err, "scan api key")
		}
		out = append(out, k)
	}
	return out, c.wrap(rows.Err(), "api keys rows")
}
