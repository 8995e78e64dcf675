package service

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RoleImpact is what saving a role edit would change, computed without
// writing: which members holding the role gain or lose which rights, and
// which pending invitations would be revoked (Update revokes those its
// inviter no longer covers). Summary says it in sentences ("3 members lose
// write on Marketing (folders)"; "1 pending invitation will be revoked").
type RoleImpact struct {
	Members []MemberImpact
	Revoked []*gatehouse.Invitation
	Summary []string
}

// MemberImpact is one holder of the role and what the edit changes for them.
type MemberImpact struct {
	UserID, Name, Email string
	Lost, Gained        []string // "write on Marketing (folders)"
}

// Changes reports whether the edit changes anything at all.
func (r *RoleImpact) Changes() bool { return len(r.Members) > 0 || len(r.Revoked) > 0 }

// Impact is Update's dry run: the same checks and errors (members write,
// built-in roles refused, every right held, the input valid), then what the
// edit would change. Nothing is written.
func (s *Roles) Impact(ctx context.Context, c *Caller, id string, in RoleInput) (*RoleImpact, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	if _, ok := gatehouse.BuiltinRole(id); ok {
		return nil, builtinReadOnly()
	}
	if !authz.IsUUID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Role not found.")
	}
	conn := s.store.R()
	old, err := conn.Role(ctx, c.OrgID, id)
	if err != nil {
		return nil, err
	}
	current, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, Grants: old.Grants})
	if err != nil {
		return nil, err
	}
	if err := c.RequireCovers(current, "change this role"); err != nil {
		return nil, err
	}
	if in, err = s.validate(ctx, conn, c, in); err != nil {
		return nil, err
	}
	changed := *old
	changed.Name, changed.Description, changed.Grants = in.Name, in.Description, in.Grants
	tree, err := s.access.Tree(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	n, err := rightNames(ctx, conn, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := &RoleImpact{}
	ms, err := conn.OrgMemberships(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	lost, gained := map[string]int{}, map[string]int{}
	for _, m := range ms {
		if m.RoleID != id {
			continue
		}
		before, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: id, Grants: m.Grants, Role: old, Tree: tree})
		if err != nil {
			return nil, err
		}
		after, err := s.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: id, Grants: m.Grants, Role: &changed, Tree: tree})
		if err != nil {
			return nil, err
		}
		mi := MemberImpact{UserID: m.UserID, Name: m.UserName, Email: m.UserEmail}
		mi.Lost, mi.Gained = diffRights(before, after, n)
		if len(mi.Lost)+len(mi.Gained) == 0 {
			continue
		}
		for _, l := range mi.Lost {
			lost[l]++
		}
		for _, g := range mi.Gained {
			gained[g]++
		}
		out.Members = append(out.Members, mi)
	}
	sort.Slice(out.Members, func(i, j int) bool {
		return strings.ToLower(out.Members[i].Name) < strings.ToLower(out.Members[j].Name)
	})
	invs, err := conn.PendingInvitationsTouchingRole(ctx, c.OrgID, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, inv := range invs {
		if inv.EffectiveStatus(now) != gatehouse.InvitationPending {
			continue
		}
		covered, err := s.invitations.stillCovers(ctx, conn, inv, &changed, nil)
		if err != nil {
			return nil, err
		}
		if !covered {
			out.Revoked = append(out.Revoked, inv)
		}
	}
	out.Summary = append(countSentences(lost, "lose"), countSentences(gained, "gain")...)
	if k := len(out.Revoked); k > 0 {
		out.Summary = append(out.Summary, fmt.Sprintf("%d pending %s will be revoked", k, plural(k, "invitation", "invitations")))
	}
	if len(out.Summary) == 0 {
		out.Summary = []string{"No member's access changes and no pending invitation is revoked"}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// countSentences turns "right → how many members" into sentences, the
// most common first.
func countSentences(m map[string]int, verb string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		n := m[k]
		v := verb
		if n == 1 {
			v += "s"
		}
		out[i] = fmt.Sprintf("%d %s %s %s", n, plural(n, "member", "members"), v, k)
	}
	return out
}

// rightNamer names projects and folders for rights in words.
type rightNamer struct {
	projects []string // sorted ids
	project  map[string]string
	folder   map[string]string
}

func rightNames(ctx context.Context, conn *store.Conn, orgID string) (*rightNamer, error) {
	ids, err := conn.OrgProjectIDs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	pn, err := conn.ProjectNames(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	fs, err := conn.OrgFolders(ctx, orgID)
	if err != nil {
		return nil, err
	}
	n := &rightNamer{projects: ids, project: pn, folder: make(map[string]string, len(fs))}
	for _, f := range fs {
		n.folder[f.ID] = f.Name
	}
	return n, nil
}

// diffRights lists, in words, the rights before has and after lacks (lost)
// and the reverse (gained): per organization area, per project area, and
// per folder carrying a folder grant in either set. Actions on one place
// are joined: "write, delete on Marketing (folders)".
func diffRights(before, after *authz.Set, n *rightNamer) (lost, gained []string) {
	cmp := func(res authz.Resource, area, where string) {
		var l, g []string
		for _, b := range actionBits {
			x, _ := before.Check(res, area, b)
			y, _ := after.Check(res, area, b)
			switch {
			case x && !y:
				l = append(l, b.String())
			case y && !x:
				g = append(g, b.String())
			}
		}
		if len(l) > 0 {
			lost = append(lost, strings.Join(l, ", ")+" on "+where)
		}
		if len(g) > 0 {
			gained = append(gained, strings.Join(g, ", ")+" on "+where)
		}
	}
	for _, area := range orgAreas {
		where := "the organization's " + orgAreaWords[area]
		if area == gatehouse.OrgOwner {
			where = "the organization (owner)"
		}
		cmp(authz.Organization(), area, where)
	}
	for _, id := range n.projects {
		if !before.Reaches(id) && !after.Reaches(id) {
			continue
		}
		for _, area := range projectAreas {
			cmp(authz.Project(id), area, n.project[id]+" ("+area+")")
		}
	}
	seen := map[string]bool{}
	tree := before.Tree()
	for _, set := range []*authz.Set{before, after} {
		for _, f := range set.FolderGrants() {
			if seen[f] {
				continue
			}
			seen[f] = true
			where := "folder " + n.folder[f]
			if p, ok := tree.Project(f); ok {
				where += " (" + n.project[p] + ")"
			}
			cmp(authz.Folder(f), gatehouse.AreaFolders, where)
		}
	}
	return lost, gained
}

// Holders lists, per custom role of the organization, the members holding
// it (sorted by name): members read. Built-in roles are left out.
func (s *Roles) Holders(ctx context.Context, c *Caller) (map[string][]MemberRef, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	ms, err := s.store.R().OrgMemberships(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := map[string][]MemberRef{}
	for _, m := range ms {
		if _, builtin := gatehouse.BuiltinRole(m.RoleID); m.RoleID == "" || builtin {
			continue
		}
		out[m.RoleID] = append(out[m.RoleID], MemberRef{UserID: m.UserID, Name: m.UserName, Email: m.UserEmail})
	}
	for _, refs := range out {
		sort.Slice(refs, func(i, j int) bool { return strings.ToLower(refs[i].Name) < strings.ToLower(refs[j].Name) })
	}
	return out, nil
}
