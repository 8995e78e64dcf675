package service

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// ActionAccess is one action a member holds somewhere, and why.
type ActionAccess struct {
	Action string   `json:"action"`
	Via    []Reason `json:"via"`
}

// AreaAccess is an area (organization name or project area) with the
// actions held on it.
type AreaAccess struct {
	Name    string         `json:"name"`
	Actions []ActionAccess `json:"actions"`
}

// ProjectAccess is what a member holds on one project, per area.
type ProjectAccess struct {
	ProjectID string       `json:"project_id"`
	Name      string       `json:"name"`
	Areas     []AreaAccess `json:"areas"`
}

// FolderAccess is a folder where per-folder rights apply: the actions held
// there (whatever gives them) and the subtree they cover.
type FolderAccess struct {
	FolderID  string         `json:"folder_id"`
	ProjectID string         `json:"project_id"`
	Name      string         `json:"name"`
	Actions   []ActionAccess `json:"actions"`
	Subtree   []string       `json:"subtree"`
}

// MemberAccess is a member's effective access in the organization.
type MemberAccess struct {
	UserID       string          `json:"user_id"`
	Name         string          `json:"name"`
	Email        string          `json:"email"`
	Role         *string         `json:"role"`
	Organization []AreaAccess    `json:"organization"`
	Projects     []ProjectAccess `json:"projects"`
	Folders      []FolderAccess  `json:"folders"`
}

// names holds the display names of the organization's projects and folders.
type names struct {
	org      string   // the organization's name
	projects []string // sorted ids
	project  map[string]string
	folder   map[string]string
}

func (l *Lookups) names(ctx context.Context, orgID string) (*names, error) {
	ids, err := l.projectIDs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	conn := l.store.R()
	pn, err := conn.ProjectNames(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	fs, err := conn.OrgFolders(ctx, orgID)
	if err != nil {
		return nil, err
	}
	o, err := conn.OrgByID(ctx, orgID)
	if err != nil {
		return nil, err
	}
	n := &names{org: o.Name, projects: ids, project: pn, folder: make(map[string]string, len(fs))}
	for _, f := range fs {
		n.folder[f.ID] = f.Name
	}
	return n, nil
}

var actionBits = []authz.Action{authz.Read, authz.Write, authz.Delete}

// actionsOn lists, per action, whether the set allows it on area of res and
// every grant that gives it.
func actionsOn(set *authz.Set, res authz.Resource, area string) []ActionAccess {
	var out []ActionAccess
	for _, b := range actionBits {
		if ok, _ := set.Check(res, area, b); ok {
			out = append(out, ActionAccess{Action: b.String(), Via: reasons(set.Explain(res, area, b))})
		}
	}
	return out
}

// describe builds a member's effective access from their compiled set: the
// organization names, each project they reach (per area), and each folder
// carrying a folder grant, with its subtree.
func describe(set *authz.Set, n *names) (org []AreaAccess, projects []ProjectAccess, folders []FolderAccess) {
	org, projects, folders = []AreaAccess{}, []ProjectAccess{}, []FolderAccess{}
	for _, area := range orgAreas {
		if acts := actionsOn(set, authz.Organization(), area); len(acts) > 0 {
			org = append(org, AreaAccess{Name: area, Actions: acts})
		}
	}
	for _, id := range n.projects {
		if !set.Reaches(id) {
			continue
		}
		pa := ProjectAccess{ProjectID: id, Name: n.project[id], Areas: []AreaAccess{}}
		for _, area := range projectAreas {
			if acts := actionsOn(set, authz.Project(id), area); len(acts) > 0 {
				pa.Areas = append(pa.Areas, AreaAccess{Name: area, Actions: acts})
			}
		}
		projects = append(projects, pa)
	}
	tree := set.Tree()
	for _, id := range set.FolderGrants() {
		acts := actionsOn(set, authz.Folder(id), gatehouse.AreaFolders)
		if len(acts) == 0 {
			continue
		}
		p, _ := tree.Project(id)
		folders = append(folders, FolderAccess{FolderID: id, ProjectID: p, Name: n.folder[id], Actions: acts, Subtree: tree.Subtree(id)})
	}
	return org, projects, folders
}

// MemberAccess answers everything a member can do and where each right
// comes from: about oneself always, about others with members or audit read.
func (l *Lookups) MemberAccess(ctx context.Context, c *Caller, userID string) (*MemberAccess, error) {
	if userID == "" {
		return nil, errMemberNotFound
	}
	set, err := l.subjectSet(ctx, c, userID)
	if err != nil {
		return nil, err
	}
	m, err := l.store.R().Membership(ctx, c.OrgID, userID)
	if err != nil {
		return nil, err
	}
	n, err := l.names(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := &MemberAccess{UserID: m.UserID, Name: m.UserName, Email: m.UserEmail}
	if m.RoleID != "" {
		if role, err := l.access.role(ctx, c.OrgID, m.RoleID); err == nil && role != nil {
			out.Role = &role.Name
		}
	}
	out.Organization, out.Projects, out.Folders = describe(set, n)
	return out, nil
}

// AccessReview is every member's access, ready to stream.
type AccessReview struct {
	r *roster
	n *names
}

// Review prepares the access review of the organization: members or audit
// read.
func (l *Lookups) Review(ctx context.Context, c *Caller) (*AccessReview, error) {
	if err := mayReview(c); err != nil {
		return nil, err
	}
	r, err := l.roster(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	n, err := l.names(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	return &AccessReview{r: r, n: n}, nil
}

// ReviewHeader is the CSV's header row.
var ReviewHeader = []string{"member_id", "member_name", "member_email", "resource_type", "resource_id", "resource_name",
	"area", "action", "source", "role", "grant", "scope", "via_folder_id"}

// WriteCSV writes the header and one row per (member, resource, area,
// action, source), member by member, flushing after each.
func (a *AccessReview) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReviewHeader); err != nil {
		return err
	}
	for _, rm := range a.r.members {
		m := rm.m
		org, projects, folders := describe(rm.set, a.n)
		row := func(kind, id, name, area string, act ActionAccess) error {
			for _, v := range act.Via {
				if err := cw.Write([]string{m.UserID, cell(m.UserName), cell(m.UserEmail), kind, id, cell(name),
					area, act.Action, v.Source, cell(v.Role), v.Grant, v.Scope, v.FolderID}); err != nil {
					return err
				}
			}
			return nil
		}
		for _, ar := range org {
			for _, act := range ar.Actions {
				if err := row("organization", rm.m.OrgID, a.n.org, ar.Name, act); err != nil {
					return err
				}
			}
		}
		for _, p := range projects {
			for _, ar := range p.Areas {
				for _, act := range ar.Actions {
					if err := row("project", p.ProjectID, p.Name, ar.Name, act); err != nil {
						return err
					}
				}
			}
		}
		for _, f := range folders {
			for _, act := range f.Actions {
				if err := row("folder", f.FolderID, f.Name, gatehouse.AreaFolders, act); err != nil {
					return err
				}
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses text a spreadsheet would run as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// MemberRef names a member for pickers.
type MemberRef struct {
	UserID, Name, Email string
}

// Reviewable lists the members whose access the caller may see: everyone
// with members or audit read, else only themself. Sorted by name.
func (l *Lookups) Reviewable(ctx context.Context, c *Caller) ([]MemberRef, error) {
	if mayReview(c) != nil {
		if c.Principal.Kind != gatehouse.PrincipalUser {
			return nil, nil
		}
		m, err := l.store.R().Membership(ctx, c.OrgID, c.Principal.UserID)
		if err != nil {
			return nil, err
		}
		return []MemberRef{{UserID: m.UserID, Name: m.UserName, Email: m.UserEmail}}, nil
	}
	r, err := l.roster(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]MemberRef, len(r.members))
	for i, rm := range r.members {
		out[i] = MemberRef{UserID: rm.m.UserID, Name: rm.m.UserName, Email: rm.m.UserEmail}
	}
	slices.SortStableFunc(out, func(a, b MemberRef) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// FolderRight is one folder of a tree the member holds per-folder rights
// in, with the actions they hold there and why.
type FolderRight struct {
	FolderID, ProjectID, Name string
	Depth                     int
	Actions                   []ActionAccess
}

// FolderRights lists, in tree order (parents first, siblings by id), every
// folder of the projects where the member holds a folder grant, each with
// the actions the check allows there and every grant behind them. Same
// authorization as MemberAccess.
func (l *Lookups) FolderRights(ctx context.Context, c *Caller, userID string) ([]FolderRight, error) {
	set, err := l.subjectSet(ctx, c, userID)
	if err != nil {
		return nil, err
	}
	n, err := l.names(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	tree := set.Tree()
	var projects []string
	for _, f := range set.FolderGrants() {
		if p, ok := tree.Project(f); ok && !slices.Contains(projects, p) {
			projects = append(projects, p)
		}
	}
	slices.Sort(projects)
	var out []FolderRight
	for _, p := range projects {
		for _, root := range tree.Folders(p) {
			if parent, _ := tree.Parent(root); parent != "" {
				continue
			}
			for _, id := range tree.Subtree(root) {
				out = append(out, FolderRight{FolderID: id, ProjectID: p, Name: n.folder[id], Depth: len(tree.Ancestors(id)),
					Actions: actionsOn(set, authz.Folder(id), gatehouse.AreaFolders)})
			}
		}
	}
	return out, nil
}

// ProjectNames returns the organization's project names by id (for
// display).
func (l *Lookups) ProjectNames(ctx context.Context, c *Caller) (map[string]string, []string, error) {
	n, err := l.names(ctx, c.OrgID)
	if err != nil {
		return nil, nil, err
	}
	return n.project, n.projects, nil
}

// MayReview reports whether the caller may see other members' access.
func (l *Lookups) MayReview(c *Caller) bool { return mayReview(c) == nil }
