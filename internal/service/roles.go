package service

import (
	"context"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Roles manages custom roles; built-in roles are fixed and read-only.
type Roles struct {
	*base
	access      *Access
	invitations *Invitations // a changed role may orphan invitations
}

var roleNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

func newRoles(b *base, access *Access, invitations *Invitations) *Roles {
	return &Roles{base: b, access: access, invitations: invitations}
}

// Resolve finds a role by id or name (built-in or of the organization).
func (s *Roles) Resolve(ctx context.Context, conn *store.Conn, orgID, idOrName string) (*gatehouse.Role, error) {
	return resolveRole(ctx, conn, orgID, idOrName)
}

// resolveRole finds a role by id or name; an unknown one is a 400 on "role".
func resolveRole(ctx context.Context, conn *store.Conn, orgID, idOrName string) (*gatehouse.Role, error) {
	if r, ok := gatehouse.BuiltinRole(strings.ToLower(idOrName)); ok {
		return &r, nil
	}
	var r *gatehouse.Role
	var err error
	if authz.IsUUID(idOrName) {
		r, err = conn.Role(ctx, orgID, idOrName)
	} else {
		r, err = conn.RoleByName(ctx, orgID, strings.ToLower(idOrName))
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, gatehouse.Invalid("Unknown role.", gatehouse.FieldError{Field: "role", Message: "is not a role of this organization"})
	}
	return r, err
}

// List returns the built-in roles, then the organization's own. Needs
// members read.
func (s *Roles) List(ctx context.Context, c *Caller) ([]*gatehouse.Role, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	var out []*gatehouse.Role
	for _, r := range gatehouse.BuiltinRoles() {
		r.Grants = r.GrantsFor(c.OrgID)
		out = append(out, &r)
	}
	custom, err := s.store.R().ListRoles(ctx, c.OrgID)
	return append(out, custom...), err
}

// Get returns one role.
func (s *Roles) Get(ctx context.Context, c *Caller, id string) (*gatehouse.Role, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	if r, ok := gatehouse.BuiltinRole(id); ok && r.ID == id {
		r.Grants = r.GrantsFor(c.OrgID)
		return &r, nil
	}
	if !authz.IsUUID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Role not found.")
	}
	return s.store.R().Role(ctx, c.OrgID, id)
}

// RoleInput is a role's editable part.
type RoleInput struct {
	Name        string
	Description string
	Grants      []gatehouse.Grant
	GrantsSet   bool
}

func (s *Roles) validate(ctx context.Context, tx *store.Conn, c *Caller, in RoleInput) (RoleInput, error) {
	in.Name = strings.TrimSpace(in.Name)
	var ferrs []*gatehouse.FieldError
	switch {
	case in.Name == "":
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "name", Message: "is required"})
	case !roleNameRe.MatchString(in.Name):
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "name", Message: "must be 1–50 lowercase letters, digits, '-' or '_'"})
	default:
		if _, ok := gatehouse.BuiltinRole(in.Name); ok {
			return in, &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "name_taken", Message: "That name belongs to a built-in role."}
		}
	}
	d, derr := validateDescription("description", in.Description)
	in.Description = d
	ferrs = append(ferrs, derr)
	if !in.GrantsSet {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "permissions", Message: "is required"})
	}
	if err := fields(ferrs...); err != nil {
		return in, err
	}
	_, err := c.MayGrant(ctx, tx, "", in.Grants, "define this role")
	return in, err
}

// Create adds a custom role; members write, and no right the caller lacks.
func (s *Roles) Create(ctx context.Context, c *Caller, in RoleInput) (*gatehouse.Role, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	var r *gatehouse.Role
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		in, err := s.validate(ctx, tx, c, in)
		if err != nil {
			return err
		}
		now := s.now()
		r = &gatehouse.Role{ID: newID(), Name: in.Name, Description: in.Description, Grants: in.Grants, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateRole(ctx, c.OrgID, c.Principal.UserID, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "role.created", "role", r.ID, map[string]any{"name": r.Name, "permissions": r.Grants})
	})
	return r, err
}

func builtinReadOnly() error {
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "builtin_role", Message: "Built-in roles cannot be changed or deleted; create a custom role instead."}
}

// Update replaces a custom role; its holders' rights change at once. The
// caller must hold both the role's current and new rights.
func (s *Roles) Update(ctx context.Context, c *Caller, id string, in RoleInput) (*gatehouse.Role, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	if _, ok := gatehouse.BuiltinRole(id); ok {
		return nil, builtinReadOnly()
	}
	if !authz.IsUUID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Role not found.")
	}
	var r *gatehouse.Role
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		// Holders' rights change with the role: serialise with member changes.
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		var err error
		if r, err = tx.Role(ctx, c.OrgID, id); err != nil {
			return err
		}
		current, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, Grants: r.Grants})
		if err != nil {
			return err
		}
		if err := c.RequireCovers(current, "change this role"); err != nil {
			return err
		}
		if in, err = s.validate(ctx, tx, c, in); err != nil {
			return err
		}
		before := map[string]any{"name": r.Name, "description": r.Description, "permissions": r.Grants}
		r.Name, r.Description, r.Grants, r.UpdatedAt = in.Name, in.Description, in.Grants, s.now()
		if err := tx.UpdateRole(ctx, c.OrgID, r); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "role.updated", "role", r.ID, map[string]any{
			"before": before, "after": map[string]any{"name": r.Name, "description": r.Description, "permissions": r.Grants}}); err != nil {
			return err
		}
		if s.invitations != nil {
			// Holders' pending invitations may now grant more than they hold,
			// and invitations granting the role may grant more than their inviter.
			if err := s.invitations.RevokeOrphanedByRole(ctx, tx, c.OrgID, r); err != nil {
				return err
			}
		}
		return tx.Notify(ctx, orgChanged(c.OrgID))
	})
	return r, err
}

// Delete removes a custom role that nobody holds.
func (s *Roles) Delete(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Delete); err != nil {
		return err
	}
	if _, ok := gatehouse.BuiltinRole(id); ok {
		return builtinReadOnly()
	}
	if !authz.IsUUID(id) {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "Role not found.")
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		// "Nobody holds it" must stay true until the role is gone.
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		r, err := tx.Role(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		used, err := tx.RoleInUse(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		if used {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "role_in_use", Message: "Members or pending invitations hold this role; move them to another role first."}
		}
		if err := tx.DeleteRole(ctx, c.OrgID, id); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "role.deleted", "role", id, map[string]any{"name": r.Name}); err != nil {
			return err
		}
		return tx.Notify(ctx, orgChanged(c.OrgID))
	})
}
