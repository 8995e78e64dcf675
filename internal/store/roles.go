package store

import (
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
)

const roleColumns = `id, name, description, grants, created_at, updated_at`

func scanRole(row interface{ Scan(...any) error }) (*gatehouse.Role, error) {
	var r gatehouse.Role
	var grants string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Name, &r.Description, &grants, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &r.Grants); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromTS(created), fromTS(updated)
	return &r, nil
}

func roleConflict(err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "name_taken", Message: "A role with this name already exists.", Cause: err}
	}
	return err
}

// CreateRole inserts a custom role.
func (c *Conn) CreateRole(ctx context.Context, orgID, createdBy string, r *gatehouse.Role) error {
	grants, err := marshalGrants(r.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO roles (id, org_id, name, description, grants, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, orgID, r.Name, r.Description, grants, createdBy, ts(r.CreatedAt), ts(r.UpdatedAt))
	return roleConflict(err)
}

// Role returns a custom role of an organization.
func (c *Conn) Role(ctx context.Context, orgID, id string) (*gatehouse.Role, error) {
	r, err := scanRole(c.q.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 AND id = $2`, orgID, id))
	return r, notFound(c.wrap(err, "role"), "Role")
}

// RoleByName returns a custom role by its name.
func (c *Conn) RoleByName(ctx context.Context, orgID, name string) (*gatehouse.Role, error) {
	r, err := scanRole(c.q.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 AND name = $2`, orgID, name))
	return r, notFound(c.wrap(err, "role by name"), "Role")
}

// UpdateRole saves a custom role.
func (c *Conn) UpdateRole(ctx context.Context, orgID string, r *gatehouse.Role) error {
	grants, err := marshalGrants(r.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `UPDATE roles SET name = $3, description = $4, grants = $5, updated_at = $6 WHERE org_id = $1 AND id = $2`,
		orgID, r.ID, r.Name, r.Description, grants, ts(r.UpdatedAt))
	return roleConflict(err)
}

// DeleteRole removes a custom role.
func (c *Conn) DeleteRole(ctx context.Context, orgID, id string) error {
	_, err := c.exec(ctx, `DELETE FROM roles WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

// RoleInUse reports whether members or pending invitations hold a role.
func (c *Conn) RoleInUse(ctx context.Context, orgID, id string) (bool, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role_id = $2) +
		(SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND role_id = $2 AND status = 'pending')`, orgID, id).Scan(&n)
	return n > 0, c.wrap(err, "role in use")
}

// ListRoles lists an organization's custom roles, oldest first.
func (c *Conn) ListRoles(ctx context.Context, orgID string) ([]*gatehouse.Role, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, c.wrap(err, "list roles")
	}
	defer rows.Close()
	var out []*gatehouse.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, c.wrap(err, "scan role")
		}
		out = append(out, r)
	}
	return out, c.wrap(rows.Err(), "roles rows")
}
