package service

// SCIM Groups: each group is one of the organization's roles, built-in or
// custom, and its members are the members holding that role. Adding a
// member to a group gives them the role (keeping their other grants);
// removing them takes it away (they stay a member with no role).

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SCIMGroup is a role with the members holding it.
type SCIMGroup struct {
	Role    *gatehouse.Role
	Members []store.RoleHolder
}

var errSCIMGroupNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Group not found.")

// Groups lists the organization's roles with their members (withMembers
// false leaves them out).
func (s *SCIM) Groups(ctx context.Context, sc *SCIMCaller, withMembers bool) ([]*SCIMGroup, error) {
	conn := s.store.R()
	var out []*SCIMGroup
	for _, r := range gatehouse.BuiltinRoles() {
		out = append(out, &SCIMGroup{Role: &r})
	}
	custom, err := conn.ListRoles(ctx, sc.OrgID)
	if err != nil {
		return nil, err
	}
	for _, r := range custom {
		out = append(out, &SCIMGroup{Role: r})
	}
	if !withMembers {
		return out, nil
	}
	holders, err := conn.RoleHolders(ctx, sc.OrgID, "")
	if err != nil {
		return nil, err
	}
	byRole := map[string][]store.RoleHolder{}
	for _, h := range holders {
		byRole[h.RoleID] = append(byRole[h.RoleID], h)
	}
	for _, g := range out {
		g.Members = byRole[g.Role.ID]
	}
	return out, nil
}

// Group returns one group by its id (the role's).
func (s *SCIM) Group(ctx context.Context, sc *SCIMCaller, id string, withMembers bool) (*SCIMGroup, error) {
	if !authz.IsUUID(id) { // a role's name is not its id
		return nil, errSCIMGroupNotFound
	}
	r, err := s.access.role(ctx, sc.OrgID, strings.ToLower(id))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errSCIMGroupNotFound
	}
	g := &SCIMGroup{Role: r}
	if withMembers {
		if g.Members, err = s.store.R().RoleHolders(ctx, sc.OrgID, r.ID); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// GroupChange changes a group's members: Replace (when set) becomes the
// whole list; otherwise Add and Remove apply. Values are user ids.
type GroupChange struct {
	Replace *[]string
	Add     []string
	Remove  []string
}

// ChangeGroup changes which members hold the group's role. Each member
// changed must be an active member of the organization (else 400
// invalidValue); the token's creator must hold what is given and taken;
// the last owner stays.
func (s *SCIM) ChangeGroup(ctx context.Context, sc *SCIMCaller, id string, ch GroupChange) (*SCIMGroup, error) {
	g, err := s.Group(ctx, sc, id, false)
	if err != nil {
		return nil, err
	}
	roleID := g.Role.ID
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, sc.OrgID); err != nil {
			return err
		}
		holders, err := tx.RoleHolders(ctx, sc.OrgID, roleID)
		if err != nil {
			return err
		}
		current := map[string]bool{}
		for _, h := range holders {
			current[h.UserID] = true
		}
		add, remove := normIDs(ch.Add), normIDs(ch.Remove)
		if ch.Replace != nil {
			want := normIDs(*ch.Replace)
			add, remove = nil, nil
			for _, u := range want {
				if !current[u] {
					add = append(add, u)
				}
			}
			for _, h := range holders {
				if !slices.Contains(want, h.UserID) {
					remove = append(remove, h.UserID)
				}
			}
		}
		for _, u := range add {
			if !current[u] {
				if err := s.setRole(ctx, tx, sc, u, roleID); err != nil {
					return err
				}
			}
		}
		for _, u := range remove {
			if current[u] && !slices.Contains(add, u) {
				if err := s.setRole(ctx, tx, sc, u, ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Group(ctx, sc, roleID, true)
}

func normIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func scimInvalidMember(id string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalidValue",
		Message: "members: " + id + " is not an active member of this organization."}
}

// setRole gives a member roleID ("" for none), keeping their grants.
func (s *SCIM) setRole(ctx context.Context, tx *store.Conn, sc *SCIMCaller, userID, roleID string) error {
	if len(userID) > 64 {
		return scimInvalidMember(userID[:64])
	}
	m, err := tx.Membership(ctx, sc.OrgID, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return scimInvalidMember(userID)
	}
	if err != nil {
		return err
	}
	current, err := s.access.Compile(ctx, CompileRequest{OrgID: sc.OrgID, RoleID: m.RoleID, Grants: m.Grants})
	if err != nil {
		return err
	}
	if err := sc.caller.RequireCovers(current, "change this member's access"); err != nil {
		return err
	}
	role, err := sc.caller.MayGrant(ctx, tx, roleID, m.Grants, "grant this access")
	if err != nil {
		return err
	}
	next, err := s.access.Compile(ctx, CompileRequest{OrgID: sc.OrgID, RoleID: roleID, Grants: m.Grants, Role: role})
	if err != nil {
		return err
	}
	wasOwner, _ := current.Owner()
	isOwner, _ := next.Owner()
	if wasOwner && !isOwner {
		n, err := s.ownerCount(ctx, tx, sc.OrgID)
		if err != nil {
			return err
		}
		if n <= 1 {
			return lastOwner()
		}
	}
	before := m.RoleID
	m.RoleID = roleID
	if err := tx.UpdateMembership(ctx, m, s.now()); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, "member.updated", "member", userID, map[string]any{
		"before": map[string]any{"role_id": before}, "after": map[string]any{"role_id": roleID}, "source": "scim"}); err != nil {
		return err
	}
	if err := tx.Notify(ctx, memberChanged(sc.OrgID, userID)); err != nil {
		return err
	}
	return s.invitations.RevokeOrphaned(ctx, tx, sc.OrgID, userID)
}
