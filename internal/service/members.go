package service

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxBatchChecks caps one batch of permission checks.
const MaxBatchChecks = 100

// Members manages an organization's members and answers permission checks.
type Members struct {
	*base
	access      *Access
	invitations *Invitations
}

// MemberView is a membership with its role.
type MemberView struct {
	*gatehouse.Membership
	Role *gatehouse.Role
}

func (s *Members) view(ctx context.Context, m *gatehouse.Membership) (*MemberView, error) {
	v := &MemberView{Membership: m}
	if m.RoleID != "" {
		r, err := s.access.role(ctx, m.OrgID, m.RoleID)
		if err != nil {
			return nil, err
		}
		v.Role = r
	}
	return v, nil
}

var errMemberNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Member not found.")

// List lists members, searching name and email: members read.
func (s *Members) List(ctx context.Context, c *Caller, search string, page gatehouse.PageRequest) (gatehouse.Page[*MemberView], error) {
	var empty gatehouse.Page[*MemberView]
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return empty, err
	}
	if len(search) > 200 {
		return empty, gatehouse.Invalid("Search too long.", gatehouse.FieldError{Field: "q", Message: "must be at most 200 characters"})
	}
	ms, err := s.store.R().ListMemberships(ctx, c.OrgID, strings.TrimSpace(search), page)
	if err != nil {
		return empty, err
	}
	pg := gatehouse.MakePage(ms, page, func(m *gatehouse.Membership) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: m.CreatedAt, ID: m.ID}
	})
	out := gatehouse.Page[*MemberView]{NextCursor: pg.NextCursor, Items: make([]*MemberView, 0, len(pg.Items))}
	for _, m := range pg.Items {
		v, err := s.view(ctx, m)
		if err != nil {
			return empty, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Get returns one member: members read, or oneself.
func (s *Members) Get(ctx context.Context, c *Caller, userID string) (*MemberView, error) {
	if userID != c.Principal.UserID || c.Principal.Kind != gatehouse.PrincipalUser {
		if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
			return nil, err
		}
	}
	if !authz.IsUUID(userID) {
		return nil, errMemberNotFound
	}
	m, err := s.store.R().Membership(ctx, c.OrgID, userID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, m)
}

// isOwner reports whether a membership carries organization owner.
func (s *Members) isOwner(ctx context.Context, m *gatehouse.Membership) (bool, error) {
	set, err := s.access.Compile(ctx, CompileRequest{OrgID: m.OrgID, RoleID: m.RoleID, Grants: m.Grants})
	if err != nil {
		return false, err
	}
	ok, _ := set.Owner()
	return ok, nil
}

// ownerCount counts the members holding organization owner.
func (s *Members) ownerCount(ctx context.Context, tx *store.Conn, orgID string) (int, error) {
	ms, err := tx.OwnerCandidates(ctx, orgID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		ok, err := s.isOwner(ctx, m)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func lastOwner() error {
	return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "last_owner",
		Message: "The organization must keep at least one owner: make someone else an owner first."}
}

// UpdateInput replaces a member's role and grants.
type UpdateInput struct {
	Role   string // id or name; "" for none
	Grants []gatehouse.Grant
}

// UpdatePermissions replaces a member's role and grants. The editor needs
// members write and must hold both the member's current and new rights;
// nobody edits their own rights.
func (s *Members) UpdatePermissions(ctx context.Context, c *Caller, userID string, in UpdateInput) (*MemberView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	if !authz.IsUUID(userID) {
		return nil, errMemberNotFound
	}
	if userID == c.Principal.UserID {
		return nil, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "self_edit", Message: "You cannot change your own permissions; ask another admin."}
	}
	var view *MemberView
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		// The organization's lock first: the owner count below must not
		// change before this transaction commits.
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		m, err := tx.Membership(ctx, c.OrgID, userID)
		if err != nil {
			return err
		}
		current, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: m.RoleID, Grants: m.Grants})
		if err != nil {
			return err
		}
		if err := c.RequireCovers(current, "change this member's access"); err != nil {
			return err
		}
		role, err := c.MayGrant(ctx, tx, in.Role, in.Grants, "grant this access")
		if err != nil {
			return err
		}
		roleID := ""
		if role != nil {
			roleID = role.ID
		}
		next, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: roleID, Grants: in.Grants, Role: role})
		if err != nil {
			return err
		}
		wasOwner, _ := current.Owner()
		isOwner, _ := next.Owner()
		if wasOwner && !isOwner {
			n, err := s.ownerCount(ctx, tx, c.OrgID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return lastOwner()
			}
		}
		before := map[string]any{"role_id": m.RoleID, "permissions": m.Grants}
		if in.Grants == nil {
			in.Grants = []gatehouse.Grant{}
		}
		m.RoleID, m.Grants = roleID, in.Grants
		if err := tx.UpdateMembership(ctx, m, s.now()); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "member.updated", "member", userID, map[string]any{
			"before": before, "after": map[string]any{"role_id": roleID, "permissions": in.Grants}}); err != nil {
			return err
		}
		if err := tx.Notify(ctx, memberChanged(c.OrgID, userID)); err != nil {
			return err
		}
		// Their pending invitations may now grant more than they hold.
		if err := s.invitations.RevokeOrphaned(ctx, tx, c.OrgID, userID); err != nil {
			return err
		}
		view = &MemberView{Membership: m, Role: role}
		return nil
	})
	return view, err
}

// Remove takes a member out of the organization: members delete for
// others; anyone may leave. The last owner stays.
func (s *Members) Remove(ctx context.Context, c *Caller, userID string) error {
	self := c.Principal.Kind == gatehouse.PrincipalUser && userID == c.Principal.UserID
	if !self {
		if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Delete); err != nil {
			return err
		}
	}
	if !authz.IsUUID(userID) {
		return errMemberNotFound
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		// The organization's lock first: the owner count below must not
		// change before this transaction commits.
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		m, err := tx.Membership(ctx, c.OrgID, userID)
		if err != nil {
			return err
		}
		current, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: m.RoleID, Grants: m.Grants})
		if err != nil {
			return err
		}
		if !self {
			if err := c.RequireCovers(current, "remove this member"); err != nil {
				return err
			}
		}
		if owner, _ := current.Owner(); owner {
			n, err := s.ownerCount(ctx, tx, c.OrgID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return lastOwner()
			}
		}
		if err := tx.DeleteMembership(ctx, c.OrgID, userID); err != nil {
			return err
		}
		verb := "member.removed"
		if self {
			verb = "member.left"
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, verb, "member", userID, map[string]any{"email": m.UserEmail, "role_id": m.RoleID, "permissions": m.Grants}); err != nil {
			return err
		}
		if err := tx.Notify(ctx, memberChanged(c.OrgID, userID)); err != nil {
			return err
		}
		return s.invitations.RevokeOrphaned(ctx, tx, c.OrgID, userID)
	})
}

// CheckInput is one permission question.
type CheckInput struct {
	UserID     string
	EntityType string // organizations, projects or folders
	EntityID   string
	Name       string // the area
	Action     string
}

// CheckResult answers it, naming the grant that allowed it.
type CheckResult struct {
	Allowed   bool    `json:"allowed"`
	GrantedBy *string `json:"granted_by"`
}

// Check answers permission questions about the caller, or (with members
// read) about another member of the organization.
func (s *Members) Check(ctx context.Context, c *Caller, checks []CheckInput, field string) ([]CheckResult, error) {
	if len(checks) > MaxBatchChecks {
		return nil, gatehouse.Invalid("Too many checks.", gatehouse.FieldError{Field: "checks", Message: "must hold at most 100 checks"})
	}
	var ferrs []gatehouse.FieldError
	type parsed struct {
		res    authz.Resource
		action authz.Action
	}
	// The single check (the hot path, issue 17) keeps its parsed form on
	// the stack and its answer and granted_by in one allocation.
	var ps1 [1]parsed
	ps := ps1[:]
	if len(checks) != 1 {
		ps = make([]parsed, len(checks))
	}
	for i, ch := range checks {
		prefix := field
		if field != "" {
			prefix = field + "[" + itoa(i) + "]."
		}
		switch ch.EntityType {
		case gatehouse.EntityOrganizations:
			if ch.EntityID != "" && ch.EntityID != c.OrgID {
				ps[i].res = authz.Resource{Kind: "foreign"}
			} else {
				ps[i].res = authz.Organization()
			}
		case gatehouse.EntityProjects:
			if ch.EntityID == "" {
				ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "entity_id", Message: "is required"})
			}
			ps[i].res = authz.Project(ch.EntityID)
		case "folders":
			if ch.EntityID == "" {
				ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "entity_id", Message: "is required"})
			}
			ps[i].res = authz.Folder(ch.EntityID)
		case "":
			ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "entity_type", Message: "is required"})
		default:
			ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "entity_type", Message: "must be organizations, projects or folders"})
		}
		if ch.Name == "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "name", Message: "is required"})
		}
		a, err := authz.ParseAction(ch.Action)
		if err != nil || ch.Action == "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: prefix + "action", Message: "must be read, write, delete or a combination joined by +"})
		}
		ps[i].action = a
	}
	if len(ferrs) > 0 {
		return nil, gatehouse.Invalid("Invalid check.", ferrs...)
	}
	var sets map[string]*authz.Set // other members' rights, by user id
	var out []CheckResult
	var by1 *string // the single check's granted_by
	if len(checks) == 1 {
		one := new(struct {
			res [1]CheckResult
			by  string
		})
		out, by1 = one.res[:], &one.by
	} else {
		out = make([]CheckResult, len(checks))
	}
	for i, ch := range checks {
		set := c.Rights
		if ch.UserID != "" && !(c.Principal.Kind == gatehouse.PrincipalUser && ch.UserID == c.Principal.UserID) {
			if set = sets[ch.UserID]; set == nil {
				if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
					return nil, err
				}
				if !authz.IsUUID(ch.UserID) {
					return nil, errMemberNotFound
				}
				var err error
				if set, err = s.access.MemberRights(ctx, c.OrgID, ch.UserID); err != nil {
					if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
						return nil, errMemberNotFound
					}
					return nil, err
				}
				if sets == nil {
					sets = map[string]*authz.Set{}
				}
				sets[ch.UserID] = set
			}
		}
		if ps[i].res.Kind == "foreign" {
			continue // another organization: nothing here allows it
		}
		if ps[i].res.Kind == authz.KindProject {
			known, err := s.access.ProjectExists(ctx, c.OrgID, ps[i].res.ID)
			if err != nil {
				return nil, err
			}
			if !known {
				continue // not a project of this organization ("*" must not cover it)
			}
		}
		ok, by := set.Check(ps[i].res, ch.Name, ps[i].action)
		out[i].Allowed = ok
		if ok {
			b := by1
			if b == nil {
				b = new(string)
			}
			*b = by.String()
			out[i].GrantedBy = b
		}
	}
	return out, nil
}
