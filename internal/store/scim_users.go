package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// SCIM users: every member of the organization, and every user its identity
// provider provisioned (active while their membership exists).

const scimUserFrom = ` FROM (SELECT user_id FROM memberships WHERE org_id = $1 UNION SELECT user_id FROM scim_users WHERE org_id = $1) ids
	JOIN users u ON u.id = ids.user_id
	LEFT JOIN memberships m ON m.org_id = $1 AND m.user_id = u.id
	LEFT JOIN scim_users s ON s.org_id = $1 AND s.user_id = u.id`

const scimUserColumns = `u.id, u.email, u.name, COALESCE(s.user_name, u.email), COALESCE(s.external_id, ''),
	COALESCE(s.given_name, ''), COALESCE(s.family_name, ''),
	CASE WHEN m.id IS NULL THEN 0 ELSE 1 END,
	CASE WHEN m.id IS NULL THEN COALESCE(s.role_id, '') ELSE COALESCE(m.role_id, '') END,
	CASE WHEN m.id IS NULL THEN COALESCE(s.grants, '[]') ELSE m.grants END,
	CASE WHEN s.user_id IS NULL THEN 0 ELSE 1 END,
	COALESCE(s.created_at, m.created_at), COALESCE(s.updated_at, m.updated_at)`

func scanSCIMUser(orgID string, row interface{ Scan(...any) error }) (*gatehouse.SCIMUser, error) {
	u := gatehouse.SCIMUser{OrgID: orgID}
	var active, provisioned int
	var grants string
	var created, updated int64
	if err := row.Scan(&u.UserID, &u.Email, &u.Name, &u.UserName, &u.ExternalID, &u.GivenName, &u.FamilyName,
		&active, &u.RoleID, &grants, &provisioned, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &u.Grants); err != nil {
		return nil, err
	}
	u.Active, u.Provisioned = active == 1, provisioned == 1
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	return &u, nil
}

// SCIMUser returns one user of the organization as SCIM sees it: a member
// or a user its provider provisioned; anyone else is not found.
func (c *Conn) SCIMUser(ctx context.Context, orgID, userID string) (*gatehouse.SCIMUser, error) {
	u, err := scanSCIMUser(orgID, c.q.QueryRowContext(ctx, `SELECT `+scimUserColumns+scimUserFrom+` WHERE u.id = $2`, orgID, userID))
	return u, notFound(c.wrap(err, "scim user"), "User")
}

// ListSCIMUsers answers a page of the organization's users matching f (nil:
// all), in a stable order, skipping offset, and how many match in all.
func (c *Conn) ListSCIMUsers(ctx context.Context, orgID string, f *gatehouse.SCIMFilter, offset, limit int) ([]*gatehouse.SCIMUser, int, error) {
	args := []any{orgID}
	where := ""
	if f != nil {
		cond, err := scimWhere(f, &args)
		if err != nil {
			return nil, 0, err
		}
		where = " WHERE " + cond
	}
	var total int
	if err := c.q.QueryRowContext(ctx, `SELECT COUNT(*)`+scimUserFrom+where, args...).Scan(&total); err != nil {
		return nil, 0, c.wrap(err, "count scim users")
	}
	if limit == 0 || offset >= total {
		return []*gatehouse.SCIMUser{}, total, nil
	}
	args = append(args, limit, offset)
	rows, err := c.q.QueryContext(ctx, `SELECT `+scimUserColumns+scimUserFrom+where+
		fmt.Sprintf(` ORDER BY u.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, c.wrap(err, "list scim users")
	}
	defer rows.Close()
	out := []*gatehouse.SCIMUser{}
	for rows.Next() {
		u, err := scanSCIMUser(orgID, rows)
		if err != nil {
			return nil, 0, c.wrap(err, "scan scim user")
		}
		out = append(out, u)
	}
	return out, total, c.wrap(rows.Err(), "scim users rows")
}

// scimWhere turns a filter into SQL over scimUserFrom, appending its values
// to args.
func scimWhere(f *gatehouse.SCIMFilter, args *[]any) (string, error) {
	switch f.Op {
	case "and", "or":
		if f.Left == nil || f.Right == nil {
			return "", gatehouse.Errorf(gatehouse.EINVALID, "Incomplete filter.")
		}
		l, err := scimWhere(f.Left, args)
		if err != nil {
			return "", err
		}
		r, err := scimWhere(f.Right, args)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(f.Op) + " " + r + ")", nil
	case "eq":
	default:
		return "", gatehouse.Errorf(gatehouse.EINVALID, "Unsupported filter operator %q.", f.Op)
	}
	arg := func(v string) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	switch f.Attr {
	case "userName": // case-insensitive (RFC 7643 §4.1.1)
		return "COALESCE(s.user_name_norm, u.email_norm) = " + arg(NormalizeEmail(f.Value)), nil
	case "emails.value":
		return "u.email_norm = " + arg(NormalizeEmail(f.Value)), nil
	case "externalId": // case-exact
		return "COALESCE(s.external_id, '') = " + arg(f.Value), nil
	case "id":
		return "u.id = " + arg(strings.ToLower(f.Value)), nil
	case "active":
		if f.Value == "true" {
			return "m.id IS NOT NULL", nil
		}
		return "m.id IS NULL", nil
	}
	return "", gatehouse.Errorf(gatehouse.EINVALID, "Unsupported filter attribute %q.", f.Attr)
}

// PutSCIMUser records what the provider said about a user (inserting or
// replacing the row). A userName another user of the organization holds is
// a conflict.
func (c *Conn) PutSCIMUser(ctx context.Context, u *gatehouse.SCIMUser, now time.Time) error {
	grants, err := marshalGrants(u.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO scim_users (org_id, user_id, user_name, user_name_norm, external_id, given_name, family_name, role_id, grants, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (org_id, user_id) DO UPDATE SET user_name = $3, user_name_norm = $4, external_id = $5, given_name = $6,
			family_name = $7, role_id = $8, grants = $9, updated_at = $10`,
		u.OrgID, u.UserID, strings.TrimSpace(u.UserName), NormalizeEmail(u.UserName), u.ExternalID, u.GivenName, u.FamilyName,
		u.RoleID, grants, ts(now))
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "user_name_taken", Message: "Another user of this organization has this userName.", Cause: err}
	}
	return err
}

// DeleteSCIMUser forgets what the provider said about a user.
func (c *Conn) DeleteSCIMUser(ctx context.Context, orgID, userID string) error {
	_, err := c.exec(ctx, `DELETE FROM scim_users WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	return err
}

// RoleHolder is a member holding a role, for SCIM groups.
type RoleHolder struct {
	UserID string
	Email  string
	RoleID string
}

// RoleHolders lists the organization's members that hold a role (roleID
// "": any role), ordered by user.
func (c *Conn) RoleHolders(ctx context.Context, orgID, roleID string) ([]RoleHolder, error) {
	q := `SELECT m.user_id, u.email, m.role_id FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.role_id IS NOT NULL`
	args := []any{orgID}
	if roleID != "" {
		q += ` AND m.role_id = $2`
		args = append(args, roleID)
	}
	rows, err := c.q.QueryContext(ctx, q+` ORDER BY m.user_id`, args...)
	if err != nil {
		return nil, c.wrap(err, "role holders")
	}
	defer rows.Close()
	var out []RoleHolder
	for rows.Next() {
		var h RoleHolder
		if err := rows.Scan(&h.UserID, &h.Email, &h.RoleID); err != nil {
			return nil, c.wrap(err, "scan role holder")
		}
		out = append(out, h)
	}
	return out, c.wrap(rows.Err(), "role holders rows")
}

// DeleteUserOrgSessions ends every session of a user acting in an
// organization and returns the ids it ended.
func (c *Conn) DeleteUserOrgSessions(ctx context.Context, userID, orgID string) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND current_org_id = $2 RETURNING id`, userID, orgID)
	if err != nil {
		return nil, c.wrap(err, "delete org sessions")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, c.wrap(err, "scan session id")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, c.wrap(err, "sessions rows")
	}
	for _, id := range ids {
		if _, err := c.exec(ctx, `DELETE FROM used_refresh_tokens WHERE session_id = $1`, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// DeleteUserOrgAPIKeys revokes every API key a user made in an organization
// and returns their ids.
func (c *Conn) DeleteUserOrgAPIKeys(ctx context.Context, userID, orgID string) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `DELETE FROM api_keys WHERE org_id = $1 AND created_by = $2 RETURNING id`, orgID, userID)
	if err != nil {
		return nil, c.wrap(err, "delete user keys")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, c.wrap(err, "scan key id")
		}
		ids = append(ids, id)
	}
	return ids, c.wrap(rows.Err(), "keys rows")
}
