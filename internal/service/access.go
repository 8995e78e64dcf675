package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Access compiles and caches principals' rights per organization. Every
// authorization decision goes through a Caller built here. Caches are
// dropped on notifications (store.Notify), which reach every process.
type Access struct {
	*base
	mu    sync.RWMutex
	trees map[string]*authz.Tree     // org id → folder tree
	projs map[string]map[string]bool // org id → its project ids
	sets  map[memberKey]*compiledSet // (org, user) → rights
	// gen counts invalidations; a cache fill that raced with one is dropped.
	gen atomic.Uint64

	// customRole and keyRights are filled by the roles and API key services.
	customRole func(ctx context.Context, orgID, roleID string) (*gatehouse.Role, error)
	keyRights  func(ctx context.Context, p *gatehouse.Principal, creator *authz.Set) (*authz.Set, error)
}

type memberKey struct{ org, user string }

type compiledSet struct {
	set        *authz.Set
	membership *gatehouse.Membership
	sources    []authz.Source
}

// Notification messages.
func memberChanged(orgID, userID string) string { return "member:" + orgID + ":" + userID }
func orgChanged(orgID string) string            { return "org:" + orgID }
func treeChanged(orgID string) string           { return "tree:" + orgID }
func sessionEnded(id string) string             { return "session:" + id }

func newAccess(b *base) *Access {
	a := &Access{base: b, trees: map[string]*authz.Tree{}, projs: map[string]map[string]bool{}, sets: map[memberKey]*compiledSet{}}
	b.store.Subscribe(a.invalidate)
	return a
}

// invalidate drops what a notification says changed.
func (a *Access) invalidate(msg string) {
	kind, rest, _ := strings.Cut(msg, ":")
	if kind == "session" {
		return
	}
	a.gen.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch kind {
	case "member":
		org, user, _ := strings.Cut(rest, ":")
		delete(a.sets, memberKey{org, user})
	case "tree":
		delete(a.trees, rest) // sets recompile against the new tree on use
		delete(a.projs, rest)
	case "org":
		delete(a.trees, rest)
		delete(a.projs, rest)
		for k := range a.sets {
			if k.org == rest {
				delete(a.sets, k)
			}
		}
	default: // store.FlushAll and anything unknown
		a.trees = map[string]*authz.Tree{}
		a.projs = map[string]map[string]bool{}
		a.sets = map[memberKey]*compiledSet{}
	}
}

// Tree returns the organization's folder tree.
func (a *Access) Tree(ctx context.Context, orgID string) (*authz.Tree, error) {
	a.mu.RLock()
	t, ok := a.trees[orgID]
	a.mu.RUnlock()
	if ok {
		return t, nil
	}
	gen := a.gen.Load()
	fs, err := a.store.R().OrgFolders(ctx, orgID)
	if err != nil {
		return nil, err
	}
	nodes := make([]authz.FolderNode, len(fs))
	for i, f := range fs {
		nodes[i] = authz.FolderNode{ID: f.ID, ParentID: f.ParentID, ProjectID: f.ProjectID}
	}
	t = authz.NewTree(nodes)
	a.mu.Lock()
	if a.gen.Load() == gen {
		a.trees[orgID] = t
	}
	a.mu.Unlock()
	return t, nil
}

// ProjectExists reports whether id is a project of the organization, from
// a per-organization cache dropped whenever projects or folders change.
func (a *Access) ProjectExists(ctx context.Context, orgID, id string) (bool, error) {
	a.mu.RLock()
	ids, ok := a.projs[orgID]
	a.mu.RUnlock()
	if ok {
		return ids[id], nil
	}
	gen := a.gen.Load()
	list, err := a.store.R().OrgProjectIDs(ctx, orgID)
	if err != nil {
		return false, err
	}
	ids = make(map[string]bool, len(list))
	for _, p := range list {
		ids[p] = true
	}
	a.mu.Lock()
	if a.gen.Load() == gen {
		a.projs[orgID] = ids
	}
	a.mu.Unlock()
	return ids[id], nil
}

var errNoOrganization = &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "no_organization",
	Message: "No organization selected: send X-Organization-Id, or create or switch to an organization first."}

var errOrgNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Organization not found.")

// MemberRights returns a user's compiled rights in an organization and their
// membership; not a member → not found.
func (a *Access) MemberRights(ctx context.Context, orgID, userID string) (*authz.Set, *gatehouse.Membership, error) {
	tree, err := a.Tree(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	key := memberKey{orgID, userID}
	a.mu.RLock()
	cs, ok := a.sets[key]
	a.mu.RUnlock()
	if ok && cs.set.Tree() == tree {
		return cs.set, cs.membership, nil
	}
	gen := a.gen.Load()
	var m *gatehouse.Membership
	var sources []authz.Source
	if ok {
		m, sources = cs.membership, cs.sources // only the tree changed
	} else {
		m, err = a.store.R().Membership(ctx, orgID, userID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, nil, errOrgNotFound
		}
		if err != nil {
			return nil, nil, err
		}
		if sources, err = a.sources(ctx, orgID, m.RoleID, m.Grants); err != nil {
			return nil, nil, err
		}
	}
	set := authz.Compile(orgID, sources, tree)
	a.mu.Lock()
	if a.gen.Load() == gen {
		a.sets[key] = &compiledSet{set: set, membership: m, sources: sources}
	}
	a.mu.Unlock()
	return set, m, nil
}

// sources lists a role's grants then direct grants, labelled for granted_by.
func (a *Access) sources(ctx context.Context, orgID, roleID string, grants []gatehouse.Grant) ([]authz.Source, error) {
	var out []authz.Source
	if roleID != "" {
		role, err := a.role(ctx, orgID, roleID)
		if err != nil {
			return nil, err
		}
		if role != nil {
			out = append(out, authz.Source{Label: "role:" + role.Name, Grants: role.GrantsFor(orgID)})
		}
	}
	return append(out, authz.Source{Label: "permissions", Grants: grants}), nil
}

// role finds a built-in or custom role; nil when it no longer exists.
func (a *Access) role(ctx context.Context, orgID, roleID string) (*gatehouse.Role, error) {
	if r, ok := gatehouse.BuiltinRole(roleID); ok {
		return &r, nil
	}
	if a.customRole == nil {
		return nil, nil
	}
	return a.customRole(ctx, orgID, roleID)
}

// Compile compiles a permission list on its own (what an invitation, role
// or key would grant) against the organization's tree.
func (a *Access) Compile(ctx context.Context, orgID, roleID string, grants []gatehouse.Grant) (*authz.Set, error) {
	tree, err := a.Tree(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sources, err := a.sources(ctx, orgID, roleID, grants)
	if err != nil {
		return nil, err
	}
	return authz.Compile(orgID, sources, tree), nil
}

// compileWith is Compile with role standing in for the stored role of the
// same id: a role changed inside the caller's transaction, which the cache
// and the reader connection do not see yet.
func (a *Access) compileWith(ctx context.Context, orgID, roleID string, grants []gatehouse.Grant, role *gatehouse.Role) (*authz.Set, error) {
	if role == nil || roleID != role.ID {
		return a.Compile(ctx, orgID, roleID, grants)
	}
	tree, err := a.Tree(ctx, orgID)
	if err != nil {
		return nil, err
	}
	sources := []authz.Source{{Label: "role:" + role.Name, Grants: role.GrantsFor(orgID)}, {Label: "permissions", Grants: grants}}
	return authz.Compile(orgID, sources, tree), nil
}

// treeIn builds the organization's folder tree as tx sees it, uncommitted
// moves included (the cached tree is the one before them).
func (a *Access) treeIn(ctx context.Context, tx *store.Conn, orgID string) (*authz.Tree, error) {
	fs, err := tx.OrgFolders(ctx, orgID)
	if err != nil {
		return nil, err
	}
	nodes := make([]authz.FolderNode, len(fs))
	for i, f := range fs {
		nodes[i] = authz.FolderNode{ID: f.ID, ParentID: f.ParentID, ProjectID: f.ProjectID}
	}
	return authz.NewTree(nodes), nil
}

// compileOn compiles a role and grants against a given tree.
func (a *Access) compileOn(ctx context.Context, tree *authz.Tree, orgID, roleID string, grants []gatehouse.Grant) (*authz.Set, error) {
	sources, err := a.sources(ctx, orgID, roleID, grants)
	if err != nil {
		return nil, err
	}
	return authz.Compile(orgID, sources, tree), nil
}

// Caller is a principal acting in one organization with its rights.
type Caller struct {
	Actor     gatehouse.Actor
	Principal *gatehouse.Principal
	OrgID     string
	Rights    *authz.Set
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
	set, _, err := a.MemberRights(ctx, orgID, p.UserID)
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
	return &Caller{Actor: actor, Principal: p, OrgID: orgID, Rights: set}, nil
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
