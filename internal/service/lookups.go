package service

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/cache"
)

// Lookups answers the reverse questions — which resources may this member
// reach, who may do this here and why, and everything a member can do —
// from compiled sets (internal/authz), never by one check per resource.
// A member's own look-ups use the very set the check uses
// (Access.MemberRights); look-ups over every member use a roster of the
// organization's compiled members (roster.go), updated on the same
// notifications as the check's caches, so both see a change at once on
// every process.
type Lookups struct {
	*base
	access *Access

	mu      sync.RWMutex          // guards rosters' stale sets, orders fills after invalidations
	rosters *cache.Cache[*roster] // org id → compiled members, in the bounded cache
	gen     atomic.Uint64
}

// mayReview reports whether the caller may see other members' access:
// organizations members read or audit read (an API key within its grants).
func mayReview(c *Caller) error {
	if ok, _ := c.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Read); ok {
		return nil
	}
	if ok, _ := c.Rights.Check(authz.Organization(), gatehouse.OrgAudit, authz.Read); ok {
		return nil
	}
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden",
		Message: "You need read permission on members or audit of the organization to see other members' access."}
}

// subjectSet returns the rights a look-up is about: the caller's own
// (always allowed; an API key's are its capped grants), or another
// member's, which needs members or audit read. Unknown members are 404.
func (l *Lookups) subjectSet(ctx context.Context, c *Caller, userID string) (*authz.Set, error) {
	if userID == "" || (c.Principal.Kind == gatehouse.PrincipalUser && userID == c.Principal.UserID) {
		return c.Rights, nil
	}
	if err := mayReview(c); err != nil {
		return nil, err
	}
	if !authz.IsUUID(userID) {
		return nil, errMemberNotFound
	}
	set, err := l.access.MemberRights(ctx, c.OrgID, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errMemberNotFound
	}
	return set, err
}

// ResourceQuery is a lookup-resources question.
type ResourceQuery struct {
	UserID     string
	EntityType string // projects or folders
	ProjectID  string // folders: of this project only
	Name       string // the area
	Action     string
}

// Resource is one resource a look-up returns, with the grant that allows it.
type Resource struct {
	EntityType string
	EntityID   string
	Via        string // the grant, as the check's granted_by
}

var errProjectNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Project not found.")

// parseLookupAction reads a look-up's action: required, and valid.
func parseLookupAction(s string) (authz.Action, *gatehouse.FieldError) {
	a, err := authz.ParseAction(s)
	if err != nil || s == "" {
		return 0, &gatehouse.FieldError{Field: "action", Message: "must be read, write, delete or a combination joined by +"}
	}
	return a, nil
}

// LookupResources lists the projects, or the folders, on which a member
// may do the action: exactly those the check allows, from the member's
// compiled set, paged by id.
func (l *Lookups) LookupResources(ctx context.Context, c *Caller, q ResourceQuery, page gatehouse.PageRequest) (gatehouse.Page[Resource], error) {
	var empty gatehouse.Page[Resource]
	var ferrs []gatehouse.FieldError
	action, aerr := parseLookupAction(q.Action)
	switch q.EntityType {
	case gatehouse.EntityProjects:
		if !slices.Contains(projectAreas, q.Name) {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "name", Message: "must be a project area: " + strings.Join(projectAreas, ", ")})
		}
		if q.ProjectID != "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "project_id", Message: "applies to folders only"})
		}
	case "folders":
		if q.Name != gatehouse.AreaFolders {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "name", Message: `must be "folders" for folders`})
		}
	case "":
		ferrs = append(ferrs, gatehouse.FieldError{Field: "entity_type", Message: "is required"})
	default:
		ferrs = append(ferrs, gatehouse.FieldError{Field: "entity_type", Message: "must be projects or folders"})
	}
	if aerr != nil {
		ferrs = append(ferrs, *aerr)
	}
	if len(ferrs) > 0 {
		return empty, gatehouse.Invalid("Invalid look-up.", ferrs...)
	}
	set, err := l.subjectSet(ctx, c, q.UserID)
	if err != nil {
		return empty, err
	}
	var found []authz.Allowed
	if q.EntityType == gatehouse.EntityProjects {
		ids, err := l.projectIDs(ctx, c.OrgID)
		if err != nil {
			return empty, err
		}
		found = set.LookupProjects(ids, q.Name, action)
	} else {
		if q.ProjectID != "" {
			ok, err := l.access.ProjectExists(ctx, c.OrgID, q.ProjectID)
			if err != nil {
				return empty, err
			}
			if !ok {
				return empty, errProjectNotFound
			}
		}
		found = set.LookupFolders(q.ProjectID, action)
	}
	items, next := pageByKey(found, page, func(a authz.Allowed) string { return a.ID })
	out := gatehouse.Page[Resource]{NextCursor: next, Items: make([]Resource, len(items))}
	for i, a := range items {
		out.Items[i] = Resource{EntityType: q.EntityType, EntityID: a.ID, Via: a.By.String()}
	}
	return out, nil
}

var projectAreas = []string{gatehouse.AreaFolders, gatehouse.AreaLivestreams, gatehouse.AreaAnalytics, gatehouse.AreaAdvertisements, gatehouse.AreaSettings}

var orgAreas = []string{gatehouse.OrgOwner, gatehouse.OrgBilling, gatehouse.OrgAPI, gatehouse.OrgMembers, gatehouse.OrgSettings, gatehouse.OrgAudit}

// projectIDs lists the organization's projects, sorted, from the roster
// when one is cached, else with one query.
func (l *Lookups) projectIDs(ctx context.Context, orgID string) ([]string, error) {
	tree, err := l.access.Tree(ctx, orgID)
	if err != nil {
		return nil, err
	}
	r, ok := l.rosters.Get(orgID, "")
	if ok && r.tree == tree {
		return r.projects, nil
	}
	ids, err := l.store.R().OrgProjectIDs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// pageByKey pages a list sorted by key: the cursor carries the last key.
func pageByKey[T any](all []T, page gatehouse.PageRequest, key func(T) string) ([]T, string) {
	start := 0
	if page.After != nil {
		start = sort.Search(len(all), func(i int) bool { return key(all[i]) > page.After.ID })
	}
	limit := page.Limit
	if limit <= 0 {
		limit = gatehouse.DefaultPageLimit
	}
	rest := all[start:]
	if len(rest) <= limit {
		return rest, ""
	}
	rest = rest[:limit]
	return rest, gatehouse.Cursor{ID: key(rest[len(rest)-1])}.Encode()
}

// Reason explains one grant behind an allowance.
type Reason struct {
	Source   string `json:"source"`         // role, direct or api_key
	Role     string `json:"role,omitempty"` // the role's name, for source role
	Grant    string `json:"grant"`          // as the check's granted_by
	Scope    string `json:"scope"`          // owner, organization, all_projects, project or folder
	FolderID string `json:"folder_id,omitempty"`
	Action   string `json:"action"` // the asked actions this grant gives
}

// reasons renders authz reasons for the API.
func reasons(rs []authz.Reason) []Reason {
	out := make([]Reason, len(rs))
	for i, r := range rs {
		v := Reason{Grant: r.Grant.String(), Scope: r.Scope, FolderID: r.FolderID, Action: r.Action.String()}
		switch label := r.Grant.Source; {
		case strings.HasPrefix(label, "role:"):
			v.Source, v.Role = "role", strings.TrimPrefix(label, "role:")
		case label == "api_key":
			v.Source = "api_key"
		default: // directLabel
			v.Source = "direct"
		}
		out[i] = v
	}
	return out
}

// SubjectQuery is a lookup-subjects question.
type SubjectQuery struct {
	EntityType string // organizations, projects or folders
	EntityID   string
	Name       string
	Action     string
}

// Subject is a member or API key allowed, with every grant behind it.
type Subject struct {
	Kind  string // user or api_key
	ID    string
	Name  string
	Email string // users only
	Via   []Reason
}

// parseSubjectQuery validates a lookup-subjects question: 400 naming the
// field, 404 for a resource not of the organization.
func (l *Lookups) parseSubjectQuery(ctx context.Context, c *Caller, q SubjectQuery) (authz.Resource, authz.Action, error) {
	var ferrs []gatehouse.FieldError
	var res authz.Resource
	action, aerr := parseLookupAction(q.Action)
	nameErr := func(areas []string) {
		if !slices.Contains(areas, q.Name) {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "name", Message: "must be one of: " + strings.Join(areas, ", ")})
		}
	}
	switch q.EntityType {
	case gatehouse.EntityOrganizations:
		nameErr(orgAreas)
		res = authz.Organization()
	case gatehouse.EntityProjects, "folders":
		if q.EntityID == "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "entity_id", Message: "is required"})
		}
		if q.EntityType == "folders" {
			nameErr([]string{gatehouse.AreaFolders})
			res = authz.Folder(q.EntityID)
		} else {
			nameErr(projectAreas)
			res = authz.Project(q.EntityID)
		}
	case "":
		ferrs = append(ferrs, gatehouse.FieldError{Field: "entity_type", Message: "is required"})
	default:
		ferrs = append(ferrs, gatehouse.FieldError{Field: "entity_type", Message: "must be organizations, projects or folders"})
	}
	if aerr != nil {
		ferrs = append(ferrs, *aerr)
	}
	if len(ferrs) > 0 {
		return res, 0, gatehouse.Invalid("Invalid look-up.", ferrs...)
	}
	switch res.Kind {
	case authz.KindOrganization:
		if q.EntityID != "" && q.EntityID != c.OrgID {
			return res, 0, errOrgNotFound
		}
	case authz.KindProject:
		ok, err := l.access.ProjectExists(ctx, c.OrgID, q.EntityID)
		if err != nil {
			return res, 0, err
		}
		if !ok {
			return res, 0, errProjectNotFound
		}
	case authz.KindFolder:
		tree, err := l.access.Tree(ctx, c.OrgID)
		if err != nil {
			return res, 0, err
		}
		if _, ok := tree.Project(q.EntityID); !ok {
			return res, 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "Folder not found.")
		}
	}
	return res, action, nil
}

// LookupSubjects lists every member and API key of the organization that
// may do the action on the resource — exactly those the check allows —
// each with every grant or role that gives it. Members or audit read.
// Ordered by kind (api_key, then user) and id.
func (l *Lookups) LookupSubjects(ctx context.Context, c *Caller, q SubjectQuery, page gatehouse.PageRequest) (gatehouse.Page[Subject], error) {
	var empty gatehouse.Page[Subject]
	if err := mayReview(c); err != nil {
		return empty, err
	}
	res, action, err := l.parseSubjectQuery(ctx, c, q)
	if err != nil {
		return empty, err
	}
	r, err := l.roster(ctx, c.OrgID)
	if err != nil {
		return empty, err
	}
	keys, err := l.store.R().OrgAPIKeys(ctx, c.OrgID)
	if err != nil {
		return empty, err
	}
	slices.SortFunc(keys, func(a, b *gatehouse.APIKey) int { return strings.Compare(a.ID, b.ID) })
	now := l.now()
	limit := page.Limit
	if limit <= 0 {
		limit = gatehouse.DefaultPageLimit
	}
	after := ""
	if page.After != nil {
		after = page.After.ID
	}
	// Walk keys then members (the roster is sorted by user id), past the
	// cursor, until one more than a page is allowed; only the page is
	// explained.
	type hit struct {
		s   Subject
		why *authz.Set // explains the allowance
	}
	var hits []hit
	for _, k := range keys {
		if len(hits) > limit {
			break
		}
		if "api_key:"+k.ID <= after || (!k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)) {
			continue // an expired key authenticates as nothing
		}
		set, own := l.keySet(c.OrgID, r, k)
		if ok, _ := set.Check(res, q.Name, action); ok {
			hits = append(hits, hit{Subject{Kind: "api_key", ID: k.ID, Name: k.Name}, own})
		}
	}
	start := 0
	if strings.HasPrefix(after, "user:") {
		id := strings.TrimPrefix(after, "user:")
		start = sort.Search(len(r.members), func(i int) bool { return r.members[i].m.UserID > id })
	}
	for i := start; i < len(r.members) && len(hits) <= limit; i++ {
		rm := &r.members[i]
		if ok, _ := rm.set.Check(res, q.Name, action); ok {
			hits = append(hits, hit{Subject{Kind: "user", ID: rm.m.UserID, Name: rm.m.UserName, Email: rm.m.UserEmail}, rm.set})
		}
	}
	out := gatehouse.Page[Subject]{}
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[limit-1].s
		out.NextCursor = gatehouse.Cursor{ID: last.Kind + ":" + last.ID}.Encode()
	}
	out.Items = make([]Subject, len(hits))
	for i, h := range hits {
		h.s.Via = reasons(h.why.Explain(res, q.Name, action))
		out.Items[i] = h.s
	}
	return out, nil
}

// keySet is an API key's rights as the check computes them (Keys.rights):
// its own grants capped by its creator's current rights, none when the
// creator has left.
//
// It also returns the key's own grants compiled alone: where the capped set
// allows an action, every own grant that gives it is a reason (the
// creator's rights only cap them).
func (l *Lookups) keySet(orgID string, r *roster, k *gatehouse.APIKey) (capped, own *authz.Set) {
	own = authz.Compile(orgID, []authz.Source{{Label: "api_key", Grants: k.Grants}}, r.tree)
	creator := authz.Compile(orgID, nil, r.tree)
	if i, ok := r.byUser[k.CreatedBy]; ok {
		creator = r.members[i].set
	}
	return authz.Intersect(own, creator), own
}
