package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

const orgColumns = `id, name, logo_url, settings, created_by, created_at, updated_at`

// scanOrg reads orgColumns, then into extra the columns selected after them.
func scanOrg(row interface{ Scan(...any) error }, extra ...any) (*gatehouse.Organization, error) {
	var o gatehouse.Organization
	var settings string
	var created, updated int64
	if err := row.Scan(append([]any{&o.ID, &o.Name, &o.LogoURL, &settings, &o.CreatedBy, &created, &updated}, extra...)...); err != nil {
		return nil, err
	}
	o.Settings, o.CreatedAt, o.UpdatedAt = json.RawMessage(settings), fromTS(created), fromTS(updated)
	return &o, nil
}

// CreateOrg inserts an organization.
func (c *Conn) CreateOrg(ctx context.Context, o *gatehouse.Organization) error {
	if len(o.Settings) == 0 {
		o.Settings = json.RawMessage(`{}`)
	}
	_, err := c.exec(ctx, `INSERT INTO organizations (`+orgColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		o.ID, o.Name, o.LogoURL, string(o.Settings), o.CreatedBy, ts(o.CreatedAt), ts(o.UpdatedAt))
	return err
}

// OrgByID returns an organization.
func (c *Conn) OrgByID(ctx context.Context, id string) (*gatehouse.Organization, error) {
	o, err := scanOrg(c.q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
	return o, notFound(c.wrap(err, "org by id"), "Organization")
}

// LockOrg takes the organization's lock until the transaction ends
// (SELECT … FOR UPDATE on PostgreSQL; on SQLite the single writer already
// serialises write transactions). Every change that counts something of the
// organization before it writes (owners, role holders, the invitation
// budget) takes it first, so that two such changes cannot both read the
// count before either has written. Not found when the organization is gone.
func (c *Conn) LockOrg(ctx context.Context, id string) error {
	if !c.inTx {
		return gatehouse.Internal(fmt.Errorf("LockOrg outside a transaction"))
	}
	var got string
	err := c.q.QueryRowContext(ctx, `SELECT id FROM organizations WHERE id = $1 `+c.s.dialect.ForUpdate(), id).Scan(&got)
	return notFound(c.wrap(err, "lock org"), "Organization")
}

// UpdateOrg saves name, logo and settings.
func (c *Conn) UpdateOrg(ctx context.Context, o *gatehouse.Organization) error {
	_, err := c.exec(ctx, `UPDATE organizations SET name = $2, logo_url = $3, settings = $4, updated_at = $5 WHERE id = $1`,
		o.ID, o.Name, o.LogoURL, string(o.Settings), ts(o.UpdatedAt))
	return err
}

// DeleteOrg removes an organization with everything it owns (by cascade);
// audit events stay. Users whose current organization it was have none.
func (c *Conn) DeleteOrg(ctx context.Context, id string) error {
	if _, err := c.exec(ctx, `UPDATE users SET current_org_id = NULL WHERE current_org_id = $1`, id); err != nil {
		return err
	}
	// Folders reference each other; delete them before their projects so
	// that neither engine depends on cascade order.
	if _, err := c.exec(ctx, `DELETE FROM folders WHERE org_id = $1`, id); err != nil {
		return err
	}
	for _, q := range orgOwnedTables {
		if _, err := c.exec(ctx, `DELETE FROM `+q+` WHERE org_id = $1`, id); err != nil {
			return err
		}
	}
	_, err := c.exec(ctx, `DELETE FROM organizations WHERE id = $1`, id)
	return err
}

// orgOwnedTables are deleted with their organization (later migrations add
// to it).
var orgOwnedTables = []string{"invitation_quota", "api_keys", "invitations", "roles", "projects", "memberships"}

// UserOrg lives in the root package (it appears in service signatures).
type UserOrg = gatehouse.UserOrg

// ListUserOrgs lists the organizations a user belongs to, newest membership
// first, keyset-paged on (joined_at, organization id).
func (c *Conn) ListUserOrgs(ctx context.Context, userID string, p gatehouse.PageRequest) ([]UserOrg, error) {
	q := `SELECT o.id, o.name, o.logo_url, o.settings, o.created_by, o.created_at, o.updated_at, m.created_at
		FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1`
	args := []any{userID}
	if p.After != nil {
		args = append(args, p.After.CreatedAt.UnixMicro(), p.After.ID)
		q += ` AND (m.created_at, o.id) < ($2, $3)`
	}
	args = append(args, p.FetchLimit())
	q += fmt.Sprintf(` ORDER BY m.created_at DESC, o.id DESC LIMIT $%d`, len(args))
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list orgs")
	}
	defer rows.Close()
	var out []UserOrg
	for rows.Next() {
		var o gatehouse.Organization
		var settings string
		var created, updated, joined int64
		if err := rows.Scan(&o.ID, &o.Name, &o.LogoURL, &settings, &o.CreatedBy, &created, &updated, &joined); err != nil {
			return nil, c.wrap(err, "scan org")
		}
		o.Settings, o.CreatedAt, o.UpdatedAt = json.RawMessage(settings), fromTS(created), fromTS(updated)
		out = append(out, UserOrg{Organization: &o, JoinedAt: fromTS(joined)})
	}
	return out, c.wrap(rows.Err(), "orgs rows")
}
