package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
)

// OrgShape is what rights compile against: an organization's project ids
// and its folders (id, parent, project), in creation order.
type OrgShape struct {
	ProjectIDs []string
	Folders    []gatehouse.Folder
	// RequireMFA is the organization's second-factor policy (see
	// OrgRequiresMFA), read in the same query.
	RequireMFA bool
}

// OrgShape loads an organization's projects, folders and second-factor
// policy in one query (the cache miss of a permission check).
func (c *Conn) OrgShape(ctx context.Context, orgID string) (*OrgShape, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT 'f', id, COALESCE(parent_id, ''), project_id, created_at FROM folders WHERE org_id = $1
		UNION ALL SELECT 'p', id, '', '', created_at FROM projects WHERE org_id = $1
		UNION ALL SELECT 'm', '', '', '', 0 FROM org_mfa_policy WHERE org_id = $1 AND require_mfa
		ORDER BY 5, 2`, orgID)
	if err != nil {
		return nil, c.wrap(err, "org shape")
	}
	defer rows.Close()
	var out OrgShape
	for rows.Next() {
		var kind, id, parent, project string
		var created int64
		if err := rows.Scan(&kind, &id, &parent, &project, &created); err != nil {
			return nil, c.wrap(err, "scan org shape")
		}
		switch kind {
		case "m":
			out.RequireMFA = true
		case "p":
			out.ProjectIDs = append(out.ProjectIDs, id)
		default:
			out.Folders = append(out.Folders, gatehouse.Folder{ID: id, ParentID: parent, ProjectID: project})
		}
	}
	return &out, c.wrap(rows.Err(), "org shape rows")
}

// MemberRights loads a user's membership in an organization with its custom
// role, when it has one that still exists, in one query (the other cache
// miss of a permission check). Not a member → not found.
func (c *Conn) MemberRights(ctx context.Context, orgID, userID string) (*gatehouse.Membership, *gatehouse.Role, error) {
	var m gatehouse.Membership
	var grants, roleName, roleGrants string
	var created, updated int64
	err := c.q.QueryRowContext(ctx, `SELECT `+membershipColumns+`, COALESCE(r.name, ''), COALESCE(r.grants, '')
		FROM memberships m JOIN users u ON u.id = m.user_id
		LEFT JOIN roles r ON r.org_id = m.org_id AND r.id = m.role_id
		WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID).Scan(
		&m.ID, &m.OrgID, &m.UserID, &m.RoleID, &grants, &m.InvitedBy, &created, &updated, &m.UserName, &m.UserEmail, &roleName, &roleGrants)
	if err == sql.ErrNoRows {
		return nil, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Member not found.")
	}
	if err != nil {
		return nil, nil, c.wrap(err, "member rights")
	}
	if err := json.Unmarshal([]byte(grants), &m.Grants); err != nil {
		return nil, nil, gatehouse.Internal(err)
	}
	m.CreatedAt, m.UpdatedAt = fromTS(created), fromTS(updated)
	if roleName == "" {
		return &m, nil, nil
	}
	role := &gatehouse.Role{ID: m.RoleID, Name: roleName}
	if err := json.Unmarshal([]byte(roleGrants), &role.Grants); err != nil {
		return nil, nil, gatehouse.Internal(err)
	}
	return &m, role, nil
}
