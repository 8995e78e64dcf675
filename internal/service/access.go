package service

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Access compiles and caches principals' rights per organization. Every
// authorization decision goes through a Caller built here. Its caches are
// views of the one bounded store (GATEHOUSE_CACHE_SIZE); entries are dropped
// on notifications (store.Notify), which reach every process, and a load
// that began before a notification is never stored.
type Access struct {
	*base
	// orgs holds each organization's folder tree and project ids.
	orgs *cache.Cache[*orgEntry]
	// members holds (org, user) → compiled rights, tied to the orgs entry
	// they were compiled against: a new tree or changed roles recompile.
	members *cache.Cache[*memberEntry]

	// loaded, in tests, runs between a miss's query and its fill.
	loaded func(view string)

	// keySets memoises each API key's capped rights (key id → keySetEntry;
	// see keyRights).
	keySets *cache.Cache[*keySetEntry]
}

type orgEntry struct {
	tree     *authz.Tree
	projects *authz.IDSet
	// requireMFA is the organization's second-factor policy, read with
	// its shape, so that sessions without a second factor cost no query
	// and no look-up of their own (see requireMFA).
	requireMFA bool
	// dropped is set as the entry leaves the cache (invalidated or
	// evicted) or when it was never stored (an invalidation raced its
	// load): member entries compiled against it are stale from then on.
	dropped atomic.Bool
}

// memberEntry keeps the compiled rights only: the membership row they were
// compiled from is not needed again (and would double the entry).
type memberEntry struct {
	org *orgEntry
	set *authz.Set
}

// Notification messages.
func memberChanged(orgID, userID string) string { return "member:" + orgID + ":" + userID }
func orgChanged(orgID string) string            { return "org:" + orgID }
func treeChanged(orgID string) string           { return "tree:" + orgID }
func sessionEnded(id string) string             { return "session:" + id }
func userChanged(id string) string              { return "user:" + id }

func newAccess(b *base) *Access {
	a := &Access{base: b,
		orgs: cache.NewCache(b.cache, "trees", cache.Options[*orgEntry]{Weigh: func(e *orgEntry) int {
			return int(unsafe.Sizeof(*e)) + e.tree.Size() + e.projects.Size()
		}, OnDrop: func(e *orgEntry) { e.dropped.Store(true) }}),
		members: cache.NewCache(b.cache, "members", cache.Options[*memberEntry]{Weigh: func(e *memberEntry) int {
			return int(unsafe.Sizeof(*e)) + e.set.Size()
		}}),
		keySets: cache.NewCache(b.cache, "api_key_rights", cache.Options[*keySetEntry]{
			Weigh: func(e *keySetEntry) int { return 64 + e.set.Size() },
		}),
	}
	b.store.Subscribe(a.invalidate)
	return a
}

// membershipSize estimates a membership's memory (its grants dominate):
// every string counted at its allocation (strSize), every slice at its
// elements, as decoded from the store.
func membershipSize(m *gatehouse.Membership) int {
	n := int(unsafe.Sizeof(*m))
	for _, f := range []string{m.ID, m.OrgID, m.UserID, m.RoleID, m.InvitedBy, m.UserName, m.UserEmail} {
		n += strSize(f)
	}
	return n + grantsSize(m.Grants)
}

// grantsSize estimates the memory of decoded grants.
func grantsSize(gs []gatehouse.Grant) int {
	n := cap(gs) * int(unsafe.Sizeof(gatehouse.Grant{}))
	for _, g := range gs {
		n += strSize(g.EntityType) + strSize(g.EntityID) + strSize(g.Name) + strSize(g.Action)
		n += cap(g.Permission) * int(unsafe.Sizeof(gatehouse.AreaGrant{}))
		for _, p := range g.Permission {
			n += strSize(p.Name) + strSize(p.Action) + cap(p.Folders)*int(unsafe.Sizeof(gatehouse.FolderGrant{}))
			for _, f := range p.Folders {
				n += strSize(f.FolderID) + strSize(f.Action)
			}
		}
	}
	return n
}

// strSize is a string's allocation (cache.AllocSize of its bytes).
func strSize(s string) int { return cache.AllocSize(len(s)) }

// invalidate drops what a notification says changed. An organization's
// rights-level change (its roles, or its deletion) drops the organization's
// entry, which every member entry compiled against it then no longer
// matches; nothing walks the cache.
func (a *Access) invalidate(msg string) {
	kind, rest, _ := strings.Cut(msg, ":")
	switch kind {
	case "member":
		org, user, _ := strings.Cut(rest, ":")
		a.members.Invalidate(org, user)
	case "tree":
		a.orgs.Invalidate(rest, "")
	case "org", "mfapolicy": // mfaPolicyChanged: the policy is part of the entry
		a.orgs.Invalidate(rest, "")
	case "apikey": // apiKeyEnded
		a.keySets.Invalidate(rest, "")
	case store.FlushAll: // this process may have missed notifications
		a.cache.Clear()
	}
}

// org returns the organization's cached tree and projects, loading both in
// one query on a miss.
func (a *Access) org(ctx context.Context, orgID string) (*orgEntry, error) {
	if e, ok := a.orgs.Get(orgID, ""); ok {
		return e, nil
	}
	t := a.orgs.Begin(orgID, "")
	shape, err := a.store.R().OrgShape(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if a.loaded != nil {
		a.loaded("trees")
	}
	e := &orgEntry{tree: newTree(shape.Folders), projects: authz.NewIDSet(shape.ProjectIDs), requireMFA: shape.RequireMFA}
	if !a.orgs.Fill(t, orgID, "", e) {
		e.dropped.Store(true) // outdated already: rights compiled on it are not kept
	}
	return e, nil
}

func newTree(fs []gatehouse.Folder) *authz.Tree {
	nodes := make([]authz.FolderNode, len(fs))
	for i, f := range fs {
		nodes[i] = authz.FolderNode{ID: f.ID, ParentID: f.ParentID, ProjectID: f.ProjectID}
	}
	return authz.NewTree(nodes)
}

// Tree returns the organization's folder tree.
func (a *Access) Tree(ctx context.Context, orgID string) (*authz.Tree, error) {
	e, err := a.org(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return e.tree, nil
}

// ProjectExists reports whether id is a project of the organization, from
// the organization's cached entry (dropped whenever projects or folders
// change).
func (a *Access) ProjectExists(ctx context.Context, orgID, id string) (bool, error) {
	e, err := a.org(ctx, orgID)
	if err != nil {
		return false, err
	}
	return e.projects.Has(id), nil
}

var errNoOrganization = &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "no_organization",
	Message: "No organization selected: send X-Organization-Id, or create or switch to an organization first."}

var errOrgNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Organization not found.")

// MemberRights returns a user's compiled rights in an organization; not a
// member → not found. A hit costs one cache look-up and
// no allocation: the entry is valid while the organization's entry it was
// compiled against is still cached. A miss costs one query for the
// organization (when it is not cached either) and one for the membership
// with its role.
func (a *Access) MemberRights(ctx context.Context, orgID, userID string) (*authz.Set, error) {
	set, _, err := a.memberRights(ctx, orgID, userID)
	return set, err
}

// memberRights is MemberRights with the organization's entry the rights
// were compiled against.
func (a *Access) memberRights(ctx context.Context, orgID, userID string) (*authz.Set, *orgEntry, error) {
	if e, ok := a.members.Get(orgID, userID); ok && !e.org.dropped.Load() {
		return e.set, e.org, nil
	}
	org, err := a.org(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	t := a.members.Begin(orgID, userID)
	m, role, err := a.store.R().MemberRights(ctx, orgID, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, errOrgNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if a.loaded != nil {
		a.loaded("members")
	}
	roleID := m.RoleID
	if _, builtin := gatehouse.BuiltinRole(roleID); role == nil && !builtin {
		roleID = "" // a custom role deleted since: it grants nothing
	}
	set, err := a.Compile(ctx, CompileRequest{OrgID: orgID, RoleID: roleID, Grants: m.Grants, Role: role, Tree: org.tree})
	if err != nil {
		return nil, nil, err
	}
	a.members.Fill(t, orgID, userID, &memberEntry{org: org, set: set})
	return set, org, nil
}

// directLabel labels a principal's own grants (those outside any role) in
// a check's granted_by: "direct.permissions[0]". A role's are labelled
// "role:<name>", an API key's "api_key".
const directLabel = "direct"

// CompileRequest says what to compile: a role and grants in an
// organization, as a member, an invitation, a role or a key would hold them.
type CompileRequest struct {
	OrgID  string
	RoleID string
	Grants []gatehouse.Grant
	// Role, when its ID is RoleID, stands in for the stored role: one
	// changed inside the caller's transaction, or already loaded.
	Role *gatehouse.Role
	// Tree, when set, replaces the organization's cached tree (one read
	// inside a transaction, uncommitted moves included: see treeIn).
	Tree *authz.Tree
}

// Compile is the one way rights are compiled: the role's grants (labelled
// "role:<name>") then the direct grants (directLabel), against the
// organization's folder tree. A role that no longer exists grants nothing.
func (a *Access) Compile(ctx context.Context, r CompileRequest) (*authz.Set, error) {
	tree := r.Tree
	if tree == nil {
		var err error
		if tree, err = a.Tree(ctx, r.OrgID); err != nil {
			return nil, err
		}
	}
	role := r.Role
	if r.RoleID != "" && (role == nil || role.ID != r.RoleID) {
		var err error
		if role, err = a.role(ctx, r.OrgID, r.RoleID); err != nil {
			return nil, err
		}
	}
	var sources []authz.Source
	if role != nil && r.RoleID != "" {
		sources = append(sources, authz.Source{Label: "role:" + role.Name, Grants: role.GrantsFor(r.OrgID)})
	}
	sources = append(sources, authz.Source{Label: directLabel, Grants: r.Grants})
	return authz.Compile(r.OrgID, sources, tree), nil
}

// role finds a built-in or custom role; nil when it no longer exists.
func (a *Access) role(ctx context.Context, orgID, roleID string) (*gatehouse.Role, error) {
	if r, ok := gatehouse.BuiltinRole(roleID); ok {
		return &r, nil
	}
	if !authz.IsUUID(roleID) {
		return nil, nil
	}
	role, err := a.store.R().Role(ctx, orgID, roleID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	}
	return role, err
}

// treeIn builds the organization's folder tree as tx sees it, uncommitted
// moves included (the cached tree is the one before them), for
// CompileRequest.Tree.
func (a *Access) treeIn(ctx context.Context, tx *store.Conn, orgID string) (*authz.Tree, error) {
	shape, err := tx.OrgShape(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return newTree(shape.Folders), nil
}

// Caller is a principal acting in one organization with its rights.
type Caller struct {
	Actor     gatehouse.Actor
	Principal *gatehouse.Principal
	OrgID     string
	Rights    *authz.Set

	// access compiles what MayGrant is asked about.
	access *Access
}

// Caller resolves the organization a request acts in — the explicit one
// (X-Organization-Id), else the key's, else the user's current one — and
// loads the principal's rights there. Not a member → 404. The current
// organization belongs to the session (each sign-in keeps its own); when
// the user has left it meanwhile, the session has none.
func (a *Access) Caller(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, orgID string) (*Caller, error) {
	if orgID == "" {
		orgID = p.OrgID
	}
	fromSession := false
	if orgID == "" && p.Kind == gatehouse.PrincipalUser {
		orgID, fromSession = p.CurrentOrgID, true
	}
	if orgID == "" {
		return nil, errNoOrganization
	}
	if p.Kind == gatehouse.PrincipalAPIKey && p.OrgID != orgID {
		return nil, errOrgNotFound
	}
	if !authz.IsUUID(orgID) {
		return nil, errOrgNotFound
	}
	set, org, err := a.memberRights(ctx, orgID, p.UserID)
	if fromSession && gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errNoOrganization
	}
	if p.Kind == gatehouse.PrincipalAPIKey {
		// A key whose creator left keeps working for nothing: its rights are
		// capped by the creator's, which are now none.
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			set, err = nil, nil
		}
		if err == nil {
			set, err = a.keyRights(ctx, p, set)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := requireMFA(p, org); err != nil { // mfa_policy.go
		return nil, err
	}
	return &Caller{Actor: actor, Principal: p, OrgID: orgID, Rights: set, access: a}, nil
}

// keySetEntry memoises a key's capped rights for one tree and one creator set.
type keySetEntry struct {
	tree    *authz.Tree
	creator *authz.Set
	set     *authz.Set
}

// keyRights is the one home of "an API key never exceeds its creator": the
// key's own grants capped by its creator's current rights (creator; nil when
// the creator left, who then holds nothing), so a key never does more than
// the person who made it can do now. Caller applies it to every key.
func (a *Access) keyRights(ctx context.Context, p *gatehouse.Principal, creator *authz.Set) (*authz.Set, error) {
	tree, err := a.Tree(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if e, ok := a.keySets.Get(p.APIKeyID, ""); ok && e.tree == tree && e.creator == creator {
		return e.set, nil
	}
	t := a.keySets.Begin(p.APIKeyID, "")
	key, err := a.store.R().APIKey(ctx, p.OrgID, p.APIKeyID)
	if err != nil {
		return nil, errBadKey
	}
	own := authz.Compile(p.OrgID, []authz.Source{{Label: "api_key", Grants: key.Grants}}, tree)
	if creator == nil {
		creator = authz.Compile(p.OrgID, nil, tree) // creator gone: nothing
	}
	set := authz.Intersect(own, creator)
	a.keySets.Fill(t, p.APIKeyID, "", &keySetEntry{tree: tree, creator: creator, set: set})
	return set, nil
}

// Require refuses with 403 unless the caller may do action on area of res.
func (c *Caller) Require(res authz.Resource, area string, action authz.Action) error {
	if ok, _ := c.Rights.Check(res, area, action); ok {
		return nil
	}
	what := "the organization"
	switch res.Kind {
	case authz.KindProject:
		what = "project " + res.ID
	case authz.KindFolder:
		what = "folder " + res.ID
	}
	if area == gatehouse.OrgOwner {
		return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden", Message: "Only an owner of the organization may do this."}
	}
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden",
		Message: fmt.Sprintf("You need %s permission on %s of %s.", action, area, what)}
}

// RequireCovers refuses with 403 unless the caller holds every right of req.
func (c *Caller) RequireCovers(req *authz.Set, what string) error {
	right, _, uncovered := authz.Uncovered(c.Rights, req)
	if !uncovered {
		return nil
	}
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "escalation",
		Message: fmt.Sprintf("You cannot %s: it needs %s, which you do not hold.", what, right)}
}

// MayGrant is the one "may this caller hand out these rights?" rule, for
// invitations, members' permissions, custom roles and API keys: the grants
// must be well formed and name only the organization's projects and folders
// (field "permissions"), the role (id or name; "" for none) must exist, and
// the caller must hold every right the role and grants add up to — nobody
// grants more than they hold (403 "escalation", naming what for). It
// returns the resolved role, nil for none.
func (c *Caller) MayGrant(ctx context.Context, tx *store.Conn, role string, grants []gatehouse.Grant, what string) (*gatehouse.Role, error) {
	if err := c.access.validateGrants(ctx, tx, c.OrgID, grants, "permissions"); err != nil {
		return nil, err
	}
	var r *gatehouse.Role
	roleID := ""
	if role = strings.TrimSpace(role); role != "" {
		var err error
		if r, err = resolveRole(ctx, tx, c.OrgID, role); err != nil {
			return nil, err
		}
		roleID = r.ID
	}
	req, err := c.access.Compile(ctx, CompileRequest{OrgID: c.OrgID, RoleID: roleID, Grants: grants, Role: r})
	if err != nil {
		return nil, err
	}
	return r, c.RequireCovers(req, what)
}

// validateGrants checks a permission list's grammar and that every project
// and folder it names exists in the organization (two queries in all).
func (b *base) validateGrants(ctx context.Context, conn *store.Conn, orgID string, grants []gatehouse.Grant, field string) error {
	for i := range grants {
		// Stored and shown with "permission": [] rather than null.
		if grants[i].Permission == nil {
			grants[i].Permission = []gatehouse.AreaGrant{}
		}
	}
	refs, err := authz.Validate(orgID, grants, field)
	if err != nil {
		return err
	}
	found, err := conn.ExistingProjects(ctx, orgID, refs.ProjectIDs())
	if err != nil {
		return err
	}
	folders, err := conn.FoldersByID(ctx, orgID, refs.FolderIDs())
	if err != nil {
		return err
	}
	folderProject := make(map[string]string, len(folders))
	for _, f := range folders {
		folderProject[f.ID] = f.ProjectID
	}
	return refs.Verify(found, folderProject)
}
