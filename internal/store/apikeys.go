package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse"
)

const apiKeyColumns = `id, org_id, name, prefix, secret_hash, grants, created_by, created_at, expires_at, last_used_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*gatehouse.APIKey, error) {
	var k gatehouse.APIKey
	var grants string
	var created int64
	var expires, used sql.NullInt64
	if err := row.Scan(&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.SecretHash, &grants, &k.CreatedBy, &created, &expires, &used); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &k.Grants); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt = fromTS(created), fromNullTS(expires), fromNullTS(used)
	return &k, nil
}

// CreateAPIKey inserts a key.
func (c *Conn) CreateAPIKey(ctx context.Context, k *gatehouse.APIKey) error {
	grants, err := marshalGrants(k.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)`,
		k.ID, k.OrgID, k.Name, k.Prefix, k.SecretHash, grants, k.CreatedBy, ts(k.CreatedAt), nullTS(k.ExpiresAt))
	return err
}

// APIKey returns a key of an organization.
func (c *Conn) APIKey(ctx context.Context, orgID, id string) (*gatehouse.APIKey, error) {
	k, err := scanAPIKey(c.q.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = $1 AND id = $2`, orgID, id))
	return k, notFound(c.wrap(err, "api key"), "API key")
}

// APIKeyBySecretHash finds the key a secret belongs to.
func (c *Conn) APIKeyBySecretHash(ctx context.Context, h string) (*gatehouse.APIKey, error) {
	k, err := scanAPIKey(c.q.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE secret_hash = $1`, h))
	return k, notFound(c.wrap(err, "api key by secret"), "API key")
}

// DeleteAPIKey removes (revokes) a key.
func (c *Conn) DeleteAPIKey(ctx context.Context, orgID, id string) error {
	_, err := c.exec(ctx, `DELETE FROM api_keys WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

// ListAPIKeys lists an organization's keys, newest first.
func (c *Conn) ListAPIKeys(ctx context.Context, orgID string, p gatehouse.PageRequest) ([]*gatehouse.APIKey, error) {
	q, args := keyset(`SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = $1`, []any{orgID}, p)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list api keys")
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

// TouchAPIKeys records last-use times in one batch.
func (c *Conn) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	for id, t := range used {
		if _, err := c.exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, ts(t)); err != nil {
			return err
		}
	}
	return nil
}
