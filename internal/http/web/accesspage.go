package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The Access page: pick a member and see what they can do and why (a grid
// of projects × areas, folder rights as a tree); pick a project or folder
// and see who can read, write and delete there, and why; download the
// access review as CSV. Every answer comes from the look-up services.

var accessActions = []string{"read", "write", "delete"}

// actView is one action in a cell, with its explanation (shown on hover
// and on keyboard focus).
type actView struct {
	Name, Letter, Why, ID string
}

type cellView struct {
	Acts []actView
}

type gridRow struct {
	Name  string
	Cells []cellView
}

type accessFolderRow struct {
	Name, ID string
	Depth    int
	Indent   string // CSS class for the depth
	Cell     cellView
	Project  string
}

type whoRow struct {
	Kind, Name, Email string
	Cells             []cellView
}

type option struct {
	Value, Label string
	Selected     bool
}

type accessData struct {
	CanReview   bool
	Members     []option
	Member      *service.MemberAccess
	Areas       []string
	OrgRows     []gridRow
	Rows        []gridRow
	Folders     []accessFolderRow
	Targets     []option
	AreaOptions []option
	Target      string
	TargetLabel string
	Area        string
	IsProject   bool
	Who         []whoRow
}

// explainer numbers tooltips and words reasons.
type explainer struct {
	n       int
	folders map[string]string
}

func (e *explainer) cell(acts []service.ActionAccess) cellView {
	var c cellView
	for _, name := range accessActions {
		for _, a := range acts {
			if a.Action == name {
				e.n++
				c.Acts = append(c.Acts, actView{Name: name, Letter: strings.ToUpper(name[:1]), Why: e.why(name, a.Via), ID: fmt.Sprintf("why-%d", e.n)})
			}
		}
	}
	return c
}

// why says in words where an action comes from.
func (e *explainer) why(action string, via []service.Reason) string {
	parts := make([]string, 0, len(via))
	for _, r := range via {
		var who string
		switch r.Source {
		case "role":
			who = "role " + r.Role
		case "api_key":
			who = "the key's grant"
		default:
			who = "a direct grant"
		}
		var where string
		switch r.Scope {
		case "owner":
			where = " (organization owner)"
		case "all_projects":
			where = " on all projects"
		case "project":
			where = " on this project"
		case "organization":
			where = " on the organization"
		case "folder":
			name := e.folders[r.FolderID]
			if name == "" {
				name = r.FolderID
			}
			where = " on folder " + name
		}
		parts = append(parts, who+where+" ("+r.Grant+")")
	}
	return capFirst(action) + ": " + strings.Join(parts, "; ")
}

func capFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (h *Handler) accessPage(rc *reqCtx) {
	r := rc.r
	ctx := r.Context()
	p := rc.page("Access", "access")
	lk := h.svc.Lookups
	q := r.URL.Query()
	d := accessData{Areas: []string{"folders", "livestreams", "analytics", "advertisements", "settings"}}
	refs, err := lk.Reviewable(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d.CanReview = lk.MayReview(rc.Caller)
	member := q.Get("member")
	if member == "" {
		member = rc.P.UserID
	}
	for _, m := range refs {
		d.Members = append(d.Members, option{Value: m.UserID, Label: m.Name + " <" + m.Email + ">", Selected: m.UserID == member})
	}
	names, err := h.svc.Folders.Names(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	e := &explainer{folders: names}
	if d.Member, err = lk.MemberAccess(ctx, rc.Caller, member); err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	for _, a := range d.Member.Organization {
		d.OrgRows = append(d.OrgRows, gridRow{Name: a.Name, Cells: []cellView{e.cell(a.Actions)}})
	}
	for _, pa := range d.Member.Projects {
		row := gridRow{Name: pa.Name}
		for _, area := range d.Areas {
			var acts []service.ActionAccess
			for _, a := range pa.Areas {
				if a.Name == area {
					acts = a.Actions
				}
			}
			row.Cells = append(row.Cells, e.cell(acts))
		}
		d.Rows = append(d.Rows, row)
	}
	rights, err := lk.FolderRights(ctx, rc.Caller, member)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	names, projectIDs, err := lk.ProjectNames(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	for _, fr := range rights {
		d.Folders = append(d.Folders, accessFolderRow{Name: fr.Name, ID: fr.FolderID, Depth: fr.Depth, Indent: fmt.Sprintf("depth-%d", min(fr.Depth, 8)),
			Cell: e.cell(fr.Actions), Project: names[fr.ProjectID]})
	}
	if d.CanReview {
		if !h.whoCan(rc, &d, e, names, projectIDs) {
			return
		}
	}
	p.Data = d
	h.render(rc.w, r, "access", p)
}

// whoCan fills the "who can" panel for the chosen project or folder.
func (h *Handler) whoCan(rc *reqCtx, d *accessData, e *explainer, names map[string]string, projectIDs []string) bool {
	ctx := rc.r.Context()
	q := rc.r.URL.Query()
	d.Target = q.Get("target")
	d.Area = q.Get("area")
	if d.Area == "" {
		d.Area = gatehouse.AreaFolders
	}
	for _, a := range d.Areas {
		d.AreaOptions = append(d.AreaOptions, option{Value: a, Label: a, Selected: a == d.Area})
	}
	tree, err := h.svc.Access.Tree(ctx, rc.Caller.OrgID)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return false
	}
	sorted := slices.Clone(projectIDs)
	slices.SortFunc(sorted, func(a, b string) int { return strings.Compare(names[a], names[b]) })
	for _, p := range sorted {
		v := "project:" + p
		d.Targets = append(d.Targets, option{Value: v, Label: "Project " + names[p], Selected: v == d.Target})
		for _, root := range tree.Folders(p) {
			if parent, _ := tree.Parent(root); parent != "" {
				continue
			}
			for _, f := range tree.Subtree(root) {
				v := "folder:" + f
				indent := strings.Repeat("\u00a0\u00a0", len(tree.Ancestors(f))+1)
				d.Targets = append(d.Targets, option{Value: v, Label: indent + e.folders[f], Selected: v == d.Target})
			}
		}
	}
	kind, id, ok := strings.Cut(d.Target, ":")
	if !ok {
		return true
	}
	sq := service.SubjectQuery{EntityID: id, Name: gatehouse.AreaFolders}
	switch kind {
	case "project":
		sq.EntityType, sq.Name, d.IsProject = gatehouse.EntityProjects, d.Area, true
		d.TargetLabel = "project " + names[id]
	case "folder":
		sq.EntityType = "folders"
		d.TargetLabel = "folder " + e.folders[id]
	default:
		return true
	}
	rows := map[string]*whoRow{}
	var order []string
	for i, action := range accessActions {
		sq.Action = action
		page := gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit}
		for range 100 { // at most 10,000 subjects
			res, err := h.svc.Lookups.LookupSubjects(ctx, rc.Caller, sq, page)
			if err != nil {
				h.failPage(rc.w, rc.r, rc, err)
				return false
			}
			for _, s := range res.Items {
				key := s.Kind + ":" + s.ID
				row, ok := rows[key]
				if !ok {
					row = &whoRow{Kind: s.Kind, Name: s.Name, Email: s.Email, Cells: make([]cellView, len(accessActions))}
					rows[key] = row
					order = append(order, key)
				}
				row.Cells[i] = e.cell([]service.ActionAccess{{Action: action, Via: s.Via}})
			}
			if res.NextCursor == "" {
				break
			}
			after, err := gatehouse.DecodeCursor(res.NextCursor)
			if err != nil {
				h.failPage(rc.w, rc.r, rc, err)
				return false
			}
			page.After = after
		}
	}
	for _, k := range order {
		d.Who = append(d.Who, *rows[k])
	}
	slices.SortStableFunc(d.Who, func(a, b whoRow) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return true
}

// accessReview streams the organization's access review as CSV.
func (h *Handler) accessReview(rc *reqCtx) {
	review, err := h.svc.Lookups.Review(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	hd := rc.w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="access-review.csv"`)
	hd.Set("Cache-Control", "no-store")
	rc.w.WriteHeader(http.StatusOK)
	if err := review.WriteCSV(rc.w); err != nil {
		h.cfg.Log.WarnContext(rc.r.Context(), "web: access review", "err", err)
	}
}
