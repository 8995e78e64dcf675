package store

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// SCIM provisioning tokens. The users and their filters are in scim_users.go.

const scimTokenColumns = `id, org_id, name, prefix, secret_hash, created_by, created_at, last_used_at`

func scanSCIMToken(row interface{ Scan(...any) error }) (*gatehouse.SCIMToken, error) {
	var t gatehouse.SCIMToken
	var created, used int64
	if err := row.Scan(&t.ID, &t.OrgID, &t.Name, &t.Prefix, &t.SecretHash, &t.CreatedBy, &created, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt = fromTS(created), fromTS(used)
	return &t, nil
}

// CreateSCIMToken inserts a token.
func (c *Conn) CreateSCIMToken(ctx context.Context, t *gatehouse.SCIMToken) error {
	_, err := c.exec(ctx, `INSERT INTO scim_tokens (`+scimTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
		t.ID, t.OrgID, t.Name, t.Prefix, t.SecretHash, t.CreatedBy, ts(t.CreatedAt))
	return err
}

// SCIMToken returns a token of an organization.
func (c *Conn) SCIMToken(ctx context.Context, orgID, id string) (*gatehouse.SCIMToken, error) {
	t, err := scanSCIMToken(c.q.QueryRowContext(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens WHERE org_id = $1 AND id = $2`, orgID, id))
	return t, notFound(c.wrap(err, "scim token"), "SCIM token")
}

// SCIMTokenBySecretHash finds the token a secret belongs to.
func (c *Conn) SCIMTokenBySecretHash(ctx context.Context, h string) (*gatehouse.SCIMToken, error) {
	t, err := scanSCIMToken(c.q.QueryRowContext(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens WHERE secret_hash = $1`, h))
	return t, notFound(c.wrap(err, "scim token by secret"), "SCIM token")
}

// DeleteSCIMToken removes (revokes) a token; it reports whether it existed.
func (c *Conn) DeleteSCIMToken(ctx context.Context, orgID, id string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM scim_tokens WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ListSCIMTokens lists an organization's tokens, newest first.
func (c *Conn) ListSCIMTokens(ctx context.Context, orgID string, p gatehouse.PageRequest) ([]*gatehouse.SCIMToken, error) {
	q, args := keyset(`SELECT `+scimTokenColumns+` FROM scim_tokens WHERE org_id = $1`, []any{orgID}, p)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list scim tokens")
	}
	defer rows.Close()
	var out []*gatehouse.SCIMToken
	for rows.Next() {
		t, err := scanSCIMToken(rows)
		if err != nil {
			return nil, c.wrap(err, "scan scim token")
		}
		out = append(out, t)
	}
	return out, c.wrap(rows.Err(), "scim tokens rows")
}

// TouchSCIMToken records that a token was used (at most once a minute).
func (c *Conn) TouchSCIMToken(ctx context.Context, id string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1 AND last_used_at < $3`, id, ts(now), ts(now.Add(-time.Minute)))
	return err
}
