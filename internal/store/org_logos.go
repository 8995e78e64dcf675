package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SetOrgLogo stores (or replaces) an organization's uploaded logo.
func (c *Conn) SetOrgLogo(ctx context.Context, orgID, contentType string, data []byte, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO org_logos (org_id, content_type, data, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, updated_at = excluded.updated_at`,
		orgID, contentType, data, ts(now))
	return err
}

// OrgLogo returns an organization's logo, or not found. version changes
// with every upload (its time in microseconds).
func (c *Conn) OrgLogo(ctx context.Context, orgID string) (contentType string, data []byte, version int64, err error) {
	err = c.q.QueryRowContext(ctx, `SELECT content_type, data, updated_at FROM org_logos WHERE org_id = $1`, orgID).Scan(&contentType, &data, &version)
	return contentType, data, version, notFound(c.wrap(err, "org logo"), "Logo")
}

// OrgLogoVersion answers the version of an organization's logo, 0 when it has none.
func (c *Conn) OrgLogoVersion(ctx context.Context, orgID string) (int64, error) {
	var v int64
	err := c.q.QueryRowContext(ctx, `SELECT updated_at FROM org_logos WHERE org_id = $1`, orgID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, c.wrap(err, "org logo version")
	}
	return v, nil
}

// DeleteOrgLogo removes an organization's logo; removed says whether there was one.
func (c *Conn) DeleteOrgLogo(ctx context.Context, orgID string) (removed bool, err error) {
	res, err := c.exec(ctx, `DELETE FROM org_logos WHERE org_id = $1`, orgID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
