package service

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/cache"
)

// roster is every member of one organization compiled against one tree.
type roster struct {
	tree     *authz.Tree
	projects []string // the organization's project ids, sorted
	members  []rosterMember
	byUser   map[string]int
	// stale holds the members a notification named since the roster was
	// built, to reload on next use (guarded by Lookups.mu); it goes with
	// the roster when the cache evicts it.
	stale map[string]bool
}

// weight estimates a roster's size for the bounded cache.
func (r *roster) weight() int {
	n := 128 + 40*len(r.projects) + 48*len(r.byUser)
	for _, m := range r.members {
		n += 32 + m.set.Size() + membershipSize(m.m)
	}
	return n
}

type rosterMember struct {
	m   *gatehouse.Membership
	set *authz.Set
}

func newLookups(b *base, access *Access) *Lookups {
	l := &Lookups{base: b, access: access,
		rosters: cache.NewCache(b.cache, "rosters", cache.Options[*roster]{Weigh: (*roster).weight})}
	b.store.Subscribe(l.invalidate)
	return l
}

// invalidate updates the rosters after a notification: a member's rights
// changed (that member is reloaded on next use); a member was renamed or
// the organization's roles changed or it was deleted (the roster is
// dropped). A new folder tree is seen by comparing trees on use (members
// are recompiled, not reloaded). store.FlushAll clears the whole bounded
// cache (Access).
func (l *Lookups) invalidate(msg string) {
	kind, rest, _ := strings.Cut(msg, ":")
	switch kind {
	case "member", "user", "org":
	default:
		return // API keys are read per request, not kept in rosters
	}
	l.gen.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch kind {
	case "member":
		org, user, _ := strings.Cut(rest, ":")
		if r, ok := l.rosters.Get(org, ""); ok {
			if r.stale == nil {
				r.stale = map[string]bool{}
			}
			r.stale[user] = true
		}
	case "user": // renamed, or switched organization: names shown are reloaded
		l.rosters.InvalidateIf(func(_, _ string, r *roster) bool { _, ok := r.byUser[rest]; return ok })
	case "org":
		l.rosters.Invalidate(rest, "")
	}
}

// maxPatch is how many changed members a roster reloads one by one; past
// it the whole roster is reloaded.
const maxPatch = 32

// roster returns the organization's compiled members against its current
// tree: built with one query for every member (each role loaded once), then
// kept up to date by reloading only the members a notification names.
func (l *Lookups) roster(ctx context.Context, orgID string) (*roster, error) {
	tree, err := l.access.Tree(ctx, orgID)
	if err != nil {
		return nil, err
	}
	// gen is read before the cache: a notification after this point makes
	// the result not stored; one before it is in the stale set read below.
	gen := l.gen.Load()
	t := l.rosters.Begin(orgID, "")
	r, ok := l.rosters.Get(orgID, "")
	var changed []string
	l.mu.RLock()
	if ok {
		for u := range r.stale {
			changed = append(changed, u)
		}
	}
	l.mu.RUnlock()
	if ok && r.tree == tree && len(changed) == 0 {
		return r, nil
	}
	var next *roster
	if ok && len(changed) <= maxPatch {
		next, err = l.patch(ctx, orgID, r, tree, changed)
	} else {
		next, err = l.build(ctx, orgID, tree)
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.gen.Load() == gen {
		l.rosters.Fill(t, orgID, "", next)
	}
	l.mu.Unlock()
	return next, nil
}

// build loads and compiles every member of the organization.
func (l *Lookups) build(ctx context.Context, orgID string, tree *authz.Tree) (*roster, error) {
	ms, err := l.store.R().OrgMemberships(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return l.compile(ctx, orgID, tree, ms, nil, nil)
}

// patch reloads the changed members (a member who left is dropped, a new
// one added) and recompiles them; against a new tree, everyone is
// recompiled from the memberships already loaded.
func (l *Lookups) patch(ctx context.Context, orgID string, r *roster, tree *authz.Tree, changed []string) (*roster, error) {
	ms := make([]*gatehouse.Membership, 0, len(r.members)+len(changed))
	keep := map[string]*authz.Set{}
	reload := map[string]bool{}
	for _, u := range changed {
		reload[u] = true
	}
	for _, rm := range r.members {
		if !reload[rm.m.UserID] {
			ms = append(ms, rm.m)
			if r.tree == tree {
				keep[rm.m.UserID] = rm.set
			}
		}
	}
	conn := l.store.R()
	for _, u := range changed {
		m, err := conn.Membership(ctx, orgID, u)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			continue // left the organization
		}
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	var projects []string
	if r.tree == tree {
		projects = r.projects
	}
	return l.compile(ctx, orgID, tree, ms, keep, projects)
}

// compile makes a roster of memberships against tree, reusing the sets in
// keep and the sorted project list when given.
func (l *Lookups) compile(ctx context.Context, orgID string, tree *authz.Tree, ms []*gatehouse.Membership, keep map[string]*authz.Set, projects []string) (*roster, error) {
	if projects == nil {
		var err error
		if projects, err = l.store.R().OrgProjectIDs(ctx, orgID); err != nil {
			return nil, err
		}
		slices.Sort(projects)
	}
	r := &roster{tree: tree, projects: projects, members: make([]rosterMember, len(ms)), byUser: make(map[string]int, len(ms))}
	roles := map[string]*gatehouse.Role{}
	for i, m := range ms {
		set := keep[m.UserID]
		if set == nil {
			sources, err := l.sources(ctx, orgID, m, roles)
			if err != nil {
				return nil, err
			}
			set = authz.Compile(orgID, sources, tree)
		}
		r.members[i] = rosterMember{m: m, set: set}
	}
	// Sorted by user id: look-ups over members page in that order.
	slices.SortFunc(r.members, func(a, b rosterMember) int { return strings.Compare(a.m.UserID, b.m.UserID) })
	for i := range r.members {
		r.byUser[r.members[i].m.UserID] = i
	}
	return r, nil
}

// sources labels a member's role grants then direct grants (as Access.Compile
// does), with each role looked up once per roster.
func (l *Lookups) sources(ctx context.Context, orgID string, m *gatehouse.Membership, roles map[string]*gatehouse.Role) ([]authz.Source, error) {
	direct := []authz.Source{{Label: directLabel, Grants: m.Grants}}
	if m.RoleID == "" {
		return direct, nil
	}
	role, ok := roles[m.RoleID]
	if !ok {
		var err error
		if role, err = l.access.role(ctx, orgID, m.RoleID); err != nil {
			return nil, err
		}
		roles[m.RoleID] = role
	}
	if role == nil {
		return direct, nil
	}
	return []authz.Source{{Label: "role:" + role.Name, Grants: role.GrantsFor(orgID)}, {Label: directLabel, Grants: m.Grants}}, nil
}
