package web

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The access form: the guide's "Assign Permissions" step, shared by the
// invite form, the member editor and the API key form. It offers a role
// shortcut; a check-box per project (full access, or custom per area and
// per folder with read, write and delete); Billing and API permissions
// toggles; and the other organization areas. Only rights the editor holds
// are offered, and the services check again (no escalation).
//
// Inputs: role; project (one value per ticked project id, "*" for every
// project); mode.<pid> (full or custom); area.<pid>.<area> and
// folder.<pid>.<folder id> (values read, write, delete); org.<name> ("on")
// with orgaction.<name> and fullaction.<pid> keeping a partial action that
// the form shows as a toggle.

var projectAreas = []struct{ Name, Label string }{
	{gatehouse.AreaFolders, "Folders"},
	{gatehouse.AreaLivestreams, "Livestreams"},
	{gatehouse.AreaAnalytics, "Analytics"},
	{gatehouse.AreaAdvertisements, "Advertisements"},
	{gatehouse.AreaSettings, "Settings"},
}

var actionBits = []struct {
	Value string
	Label string
	Bit   authz.Action
}{
	{gatehouse.ActionRead, "Read", authz.Read},
	{gatehouse.ActionWrite, "Write", authz.Write},
	{gatehouse.ActionDelete, "Delete", authz.Delete},
}

var orgAreas = []struct {
	Name, Label, Desc string
	Main              bool
}{
	{gatehouse.OrgBilling, "Billing permissions", "Subscription plans, payment methods, invoices and billing details. Without it the member cannot make financial decisions or see billing data.", true},
	{gatehouse.OrgAPI, "API permissions", "Programmatic access: create and manage API keys to integrate with other applications or automate tasks.", true},
	{gatehouse.OrgMembers, "Members", "Invite members and manage their access.", false},
	{gatehouse.OrgSettings, "Organization settings", "Change the organization's name and settings.", false},
	{gatehouse.OrgAudit, "Audit log", "Read the organization's audit log.", false},
	{gatehouse.OrgOwner, "Owner", "Everything in the organization, including deleting it.", false},
}

// catalog is what the organization has to grant and what the editor may
// give of it.
type catalog struct {
	orgID    string
	rights   *authz.Set
	owner    bool
	projects []*gatehouse.Project
	folders  map[string][]folderRow
	roles    []*gatehouse.Role // offered roles (nil: no role select)
}

// maxFormProjects bounds how many projects the form lists.
const maxFormProjects = 500

// loadCatalog reads the projects (with folder trees) the editor reaches and,
// when withRoles, the roles the editor could give.
func (h *Handler) loadCatalog(ctx context.Context, c *service.Caller, withRoles bool) (*catalog, error) {
	cat := &catalog{orgID: c.OrgID, rights: c.Rights, folders: map[string][]folderRow{}}
	cat.owner, _ = c.Rights.Owner()
	page := gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit}
	for len(cat.projects) < maxFormProjects {
		ps, err := h.svc.Projects.List(ctx, c, page)
		if err != nil {
			return nil, err
		}
		cat.projects = append(cat.projects, ps.Items...)
		if ps.NextCursor == "" {
			break
		}
		if page.After, err = gatehouse.DecodeCursor(ps.NextCursor); err != nil {
			return nil, err
		}
	}
	for _, p := range cat.projects {
		tree, err := h.svc.Folders.Tree(ctx, c, p.ID)
		if err != nil {
			return nil, err
		}
		cat.folders[p.ID] = flatten(tree, 0, nil)
	}
	if withRoles {
		roles, err := h.svc.Roles.List(ctx, c)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			set, err := h.svc.Access.Compile(ctx, service.CompileRequest{OrgID: c.OrgID, RoleID: r.ID, Grants: nil})
			if err != nil {
				return nil, err
			}
			if authz.Covers(c.Rights, set) {
				cat.roles = append(cat.roles, r)
			}
		}
		if cat.roles == nil {
			cat.roles = []*gatehouse.Role{}
		}
	}
	return cat, nil
}

// readAccessForm reads a posted form that carries the access picker: the
// form, the picker's state and the catalog to read its grants against (see
// loadCatalog for withRoles). A form or a catalog that cannot be read shows
// the error page and ok is false.
func (h *Handler) readAccessForm(rc *reqCtx, withRoles bool) (f *form, st *accessState, cat *catalog, ok bool) {
	r := rc.r
	if err := r.ParseForm(); err != nil {
		h.failPage(rc.w, r, rc, gatehouse.Invalid("The form could not be read."))
		return nil, nil, nil, false
	}
	f = newForm(r.PostForm)
	st = stateFromForm(r.PostForm)
	cat, err := h.loadCatalog(r.Context(), rc.Caller, withRoles)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return nil, nil, nil, false
	}
	return f, st, cat, true
}

// pickerView loads the catalog (see loadCatalog for withRoles) and shows st
// in the access picker, errs beside its inputs and the form's "permissions"
// error above them. A catalog that cannot be read shows the error page and
// ok is false.
func (h *Handler) pickerView(rc *reqCtx, f *form, st *accessState, errs map[string]string, withRoles bool) (v accessView, ok bool) {
	cat, err := h.loadCatalog(rc.r.Context(), rc.Caller, withRoles)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return accessView{}, false
	}
	v = cat.view(st, errs)
	v.Error = f.Err("permissions")
	return v, true
}

// offers reports whether the editor may give grant g.
func (cat *catalog) offers(g gatehouse.Grant) bool {
	if cat.owner {
		return true
	}
	if g.Permission == nil {
		g.Permission = []gatehouse.AreaGrant{}
	}
	set := authz.Compile(cat.orgID, []authz.Source{{Label: "offer", Grants: []gatehouse.Grant{g}}}, cat.rights.Tree())
	return authz.Covers(cat.rights, set)
}

func customGrant(pid string, a gatehouse.AreaGrant) gatehouse.Grant {
	return gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: pid, Name: gatehouse.ProjectCustom, Permission: []gatehouse.AreaGrant{a}}
}

// accessState is a permission list as the form holds it.
type accessState struct {
	Role     string
	Projects map[string]*projState
	Org      map[string]string // ticked organization areas → action ("" = all)
}

type projState struct {
	Mode       string // "full" or "custom"
	FullAction string
	Areas      map[string]authz.Action
	Folders    map[string]authz.Action
}

func newAccessState() *accessState {
	return &accessState{Projects: map[string]*projState{}, Org: map[string]string{}}
}

func (st *accessState) project(id string) *projState {
	p := st.Projects[id]
	if p == nil {
		p = &projState{Mode: "custom", Areas: map[string]authz.Action{}, Folders: map[string]authz.Action{}}
		st.Projects[id] = p
	}
	return p
}

// stateFromGrants reads a stored role and permission list into the form.
func stateFromGrants(roleID string, grants []gatehouse.Grant) *accessState {
	st := newAccessState()
	st.Role = roleID
	for _, g := range grants {
		switch {
		case g.EntityType == gatehouse.EntityOrganizations:
			st.Org[g.Name] = g.Action
		case g.Name == gatehouse.ProjectFullAccess:
			p := st.project(g.EntityID)
			p.Mode, p.FullAction = "full", g.Action
		default:
			p := st.project(g.EntityID)
			for _, a := range g.Permission {
				if a.Action == gatehouse.ActionCustom {
					for _, f := range a.Folders {
						act, _ := authz.ParseAction(f.Action)
						p.Folders[f.FolderID] |= act
					}
					continue
				}
				act, _ := authz.ParseAction(a.Action)
				p.Areas[a.Name] |= act
			}
		}
	}
	return st
}

func parseBits(values []string) authz.Action {
	var a authz.Action
	for _, v := range values {
		for _, b := range actionBits {
			if v == b.Value {
				a |= b.Bit
			}
		}
	}
	return a
}

// validAction keeps a hidden action field only when it parses.
func validAction(s string) string {
	if _, err := authz.ParseAction(s); err != nil {
		return ""
	}
	return s
}

// stateFromForm reads the posted access form.
func stateFromForm(v url.Values) *accessState {
	st := newAccessState()
	st.Role = strings.TrimSpace(v.Get("role"))
	for _, pid := range v["project"] {
		pid = strings.TrimSpace(pid)
		if pid == "" {
			continue
		}
		p := st.project(pid)
		p.Mode = v.Get("mode." + pid)
		if p.Mode != "custom" {
			p.Mode = "full"
		}
		p.FullAction = validAction(v.Get("fullaction." + pid))
		for _, a := range projectAreas {
			if bits := parseBits(v["area."+pid+"."+a.Name]); bits != 0 {
				p.Areas[a.Name] = bits
			}
		}
		prefix := "folder." + pid + "."
		for k, vals := range v {
			if fid, ok := strings.CutPrefix(k, prefix); ok && fid != "" {
				if bits := parseBits(vals); bits != 0 {
					p.Folders[fid] = bits
				}
			}
		}
	}
	for _, o := range orgAreas {
		if v.Get("org."+o.Name) == "on" {
			st.Org[o.Name] = validAction(v.Get("orgaction." + o.Name))
		}
	}
	return st
}

// grants turns the form into a permission list, in the catalog's order.
// errs names projects ticked with nothing chosen.
func (st *accessState) grants(cat *catalog) (out []gatehouse.Grant, errs map[string]string) {
	errs = map[string]string{}
	out = []gatehouse.Grant{}
	for _, o := range orgAreas {
		if act, ok := st.Org[o.Name]; ok {
			out = append(out, gatehouse.Grant{EntityType: gatehouse.EntityOrganizations, EntityID: cat.orgID, Name: o.Name, Action: act, Permission: []gatehouse.AreaGrant{}})
		}
	}
	for _, pid := range st.projectOrder(cat) {
		p := st.Projects[pid]
		if p.Mode == "full" {
			out = append(out, gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: pid, Name: gatehouse.ProjectFullAccess, Action: p.FullAction, Permission: []gatehouse.AreaGrant{}})
			continue
		}
		var areas []gatehouse.AreaGrant
		for _, a := range projectAreas {
			if bits := p.Areas[a.Name]; bits != 0 {
				areas = append(areas, gatehouse.AreaGrant{Name: a.Name, Action: bits.String()})
				continue
			}
			if a.Name != gatehouse.AreaFolders || len(p.Folders) == 0 {
				continue
			}
			var fs []gatehouse.FolderGrant
			for _, fid := range st.folderOrder(cat, pid) {
				fs = append(fs, gatehouse.FolderGrant{FolderID: fid, Action: p.Folders[fid].String()})
			}
			areas = append(areas, gatehouse.AreaGrant{Name: gatehouse.AreaFolders, Action: gatehouse.ActionCustom, Folders: fs})
		}
		if len(areas) == 0 {
			errs["project."+pid] = "Choose at least one right for this project, or untick it."
			continue
		}
		out = append(out, gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: pid, Name: gatehouse.ProjectCustom, Permission: areas})
	}
	return out, errs
}

// projectOrder is "*" first, then the catalog's projects, then any other
// ids (which the service will refuse by name).
func (st *accessState) projectOrder(cat *catalog) []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if _, ok := st.Projects[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	add(gatehouse.AllProjects)
	for _, p := range cat.projects {
		add(p.ID)
	}
	var rest []string
	for id := range st.Projects {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (st *accessState) folderOrder(cat *catalog, pid string) []string {
	p := st.Projects[pid]
	var out []string
	seen := map[string]bool{}
	for _, f := range cat.folders[pid] {
		if _, ok := p.Folders[f.ID]; ok {
			seen[f.ID] = true
			out = append(out, f.ID)
		}
	}
	var rest []string
	for id := range p.Folders {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// The view of the form.

type actBox struct {
	Value, Label     string
	Offered, Checked bool
}

type areaRow struct {
	Name, Label string
	Actions     []actBox
}

type folderAccessRow struct {
	ID, Name string
	Depth    int
	Actions  []actBox
}

type projectRow struct {
	ID, Name, Desc string
	All            bool // the "every project" row
	FullOffered    bool
	CustomOffered  bool
	Selected       bool
	Custom         bool
	FullAction     string
	Areas          []areaRow
	Folders        []folderAccessRow
	Error          string
}

type orgRow struct {
	Name, Label, Desc string
	Offered, Checked  bool
	Action            string
	Main              bool
}

type roleRow struct {
	ID, Name, Desc string
	Selected       bool
}

type accessView struct {
	ShowRoles bool
	Roles     []roleRow
	Role      string
	Projects  []projectRow
	Org       []orgRow
	OtherOrg  bool // any secondary organization area offered
	Error     string
	Nothing   bool // the editor has nothing to give
}

// view merges what the catalog offers with the form's state.
func (cat *catalog) view(st *accessState, errs map[string]string) accessView {
	v := accessView{ShowRoles: cat.roles != nil, Role: st.Role, Nothing: true}
	for _, r := range cat.roles {
		v.Roles = append(v.Roles, roleRow{ID: r.ID, Name: r.Name, Desc: r.Description, Selected: st.Role == r.ID || st.Role == r.Name})
		v.Nothing = false
	}
	for _, o := range orgAreas {
		act, checked := st.Org[o.Name]
		g := gatehouse.Grant{EntityType: gatehouse.EntityOrganizations, EntityID: cat.orgID, Name: o.Name, Action: act}
		row := orgRow{Name: o.Name, Label: o.Label, Desc: o.Desc, Checked: checked, Action: act, Main: o.Main, Offered: cat.offers(g)}
		if o.Name == gatehouse.OrgOwner {
			row.Offered = cat.owner
		}
		if row.Offered || row.Checked {
			v.Org = append(v.Org, row)
			v.OtherOrg = v.OtherOrg || !o.Main
		}
		v.Nothing = v.Nothing && !row.Offered
	}
	rows := []projectRow{cat.projectRow(st, gatehouse.AllProjects, "All projects", "Every project, including projects created later.", errs)}
	for _, p := range cat.projects {
		rows = append(rows, cat.projectRow(st, p.ID, p.Name, p.Description, errs))
	}
	for _, r := range rows {
		if r.FullOffered || r.CustomOffered || r.Selected {
			v.Projects = append(v.Projects, r)
		}
		v.Nothing = v.Nothing && !r.FullOffered && !r.CustomOffered
	}
	return v
}

func (cat *catalog) projectRow(st *accessState, pid, name, desc string, errs map[string]string) projectRow {
	ps, selected := st.Projects[pid]
	if ps == nil {
		ps = &projState{Mode: "full", Areas: map[string]authz.Action{}, Folders: map[string]authz.Action{}}
	}
	row := projectRow{ID: pid, Name: name, Desc: desc, All: pid == gatehouse.AllProjects, Selected: selected,
		Custom: ps.Mode == "custom", FullAction: ps.FullAction, Error: errs["project."+pid]}
	row.FullOffered = cat.offers(gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: pid, Name: gatehouse.ProjectFullAccess, Action: ps.FullAction})
	for _, a := range projectAreas {
		ar := areaRow{Name: a.Name, Label: a.Label}
		for _, b := range actionBits {
			offered := cat.offers(customGrant(pid, gatehouse.AreaGrant{Name: a.Name, Action: b.Value}))
			row.CustomOffered = row.CustomOffered || offered
			ar.Actions = append(ar.Actions, actBox{Value: b.Value, Label: b.Label, Offered: offered, Checked: ps.Areas[a.Name]&b.Bit != 0})
		}
		row.Areas = append(row.Areas, ar)
	}
	if !row.All {
		for _, f := range cat.folders[pid] {
			fr := folderAccessRow{ID: f.ID, Name: f.Name, Depth: min(f.Depth, 6)}
			for _, b := range actionBits {
				offered := cat.offers(customGrant(pid, gatehouse.AreaGrant{Name: gatehouse.AreaFolders, Action: gatehouse.ActionCustom,
					Folders: []gatehouse.FolderGrant{{FolderID: f.ID, Action: b.Value}}}))
				row.CustomOffered = row.CustomOffered || offered
				fr.Actions = append(fr.Actions, actBox{Value: b.Value, Label: b.Label, Offered: offered, Checked: ps.Folders[f.ID]&b.Bit != 0})
			}
			row.Folders = append(row.Folders, fr)
		}
	}
	if !row.FullOffered && row.CustomOffered && !selected {
		row.Custom = true
	}
	return row
}
