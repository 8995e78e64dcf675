package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Check access (/members/{user}/check): pick a place (the organization, a
// project or a folder), an area and an action, and see whether the member
// may, and by which grant — the seed's "test permission" for people. The
// answer and its grants in words come from Lookups.Explain.

type checkData struct {
	Member      *service.MemberView
	Targets     []option
	Areas       []optGroup
	Actions     []option
	Asked       bool
	Result      *service.Explanation
	What        string // "write in folder Campaigns"
	WhyLines    []whyLine
	TargetLabel string
}

type optGroup struct {
	Label   string
	Options []option
}

type whyLine struct {
	Source, Scope string
	Words         []string
	Action        string
}

var checkActions = []string{"read", "write", "delete"}

var orgAreaLabels = map[string]string{
	gatehouse.OrgOwner: "owner", gatehouse.OrgBilling: "billing", gatehouse.OrgAPI: "API", gatehouse.OrgMembers: "members",
	gatehouse.OrgSettings: "settings", gatehouse.OrgAudit: "audit log",
}

func (h *Handler) checkAccessPage(rc *reqCtx) {
	r := rc.r
	ctx := r.Context()
	m, err := h.svc.Members.Get(ctx, rc.Caller, r.PathValue("user"))
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	q := r.URL.Query()
	keep := url.Values{}
	for _, k := range []string{"target", "area", "action"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			keep.Set(k, v)
		}
	}
	f := newForm(keep)
	d := checkData{Member: m}
	names, projectIDs, err := h.svc.Lookups.ProjectNames(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	folders, err := h.svc.Folders.Names(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	tree, err := h.svc.Access.Tree(ctx, rc.Caller.OrgID)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	target := keep.Get("target")
	d.Targets = append(d.Targets, option{Value: "organization", Label: "The organization " + rc.Org.Name, Selected: target == "organization"})
	sorted := slices.Clone(projectIDs)
	slices.SortFunc(sorted, func(a, b string) int { return strings.Compare(strings.ToLower(names[a]), strings.ToLower(names[b])) })
	for _, p := range sorted {
		v := "project:" + p
		d.Targets = append(d.Targets, option{Value: v, Label: "Project " + names[p], Selected: v == target})
		for _, root := range tree.Folders(p) {
			if parent, _ := tree.Parent(root); parent != "" {
				continue
			}
			for _, fid := range tree.Subtree(root) {
				v := "folder:" + fid
				indent := strings.Repeat("\u00a0\u00a0", len(tree.Ancestors(fid))+1)
				d.Targets = append(d.Targets, option{Value: v, Label: indent + "Folder " + folders[fid], Selected: v == target})
			}
		}
	}
	area := keep.Get("area")
	og := optGroup{Label: "Organization"}
	for _, a := range []string{gatehouse.OrgBilling, gatehouse.OrgAPI, gatehouse.OrgMembers, gatehouse.OrgSettings, gatehouse.OrgAudit, gatehouse.OrgOwner} {
		og.Options = append(og.Options, option{Value: a, Label: orgAreaLabels[a], Selected: a == area})
	}
	pg := optGroup{Label: "Project or folder"}
	for _, a := range projectAreas {
		pg.Options = append(pg.Options, option{Value: a.Name, Label: strings.ToLower(a.Label), Selected: a.Name == area})
	}
	d.Areas = []optGroup{pg, og}
	action := keep.Get("action")
	for _, a := range checkActions {
		d.Actions = append(d.Actions, option{Value: a, Label: a, Selected: a == action})
	}
	p := rc.page("Check access of "+m.UserName, "members")
	status := http.StatusOK
	if len(keep) > 0 {
		d.Asked = true
		sq := service.SubjectQuery{Name: area, Action: action}
		kind, id, _ := strings.Cut(target, ":")
		project := ""
		switch kind {
		case "organization":
			sq.EntityType, d.TargetLabel = gatehouse.EntityOrganizations, "the organization "+rc.Org.Name
		case "project":
			sq.EntityType, sq.EntityID, d.TargetLabel = gatehouse.EntityProjects, id, "project "+names[id]
			project = names[id]
		case "folder":
			sq.EntityType, sq.EntityID, d.TargetLabel = "folders", id, "folder "+folders[id]
			if p, ok := tree.Project(id); ok {
				project = names[p]
			}
		}
		ex, err := h.svc.Lookups.Explain(ctx, rc.Caller, m.UserID, sq)
		if err != nil {
			status = checkFailed(f, err)
		} else {
			d.Result = ex
			d.What = action + " " + areaWords(area) + " in " + d.TargetLabel
			e := &explainer{folders: folders}
			for _, v := range ex.Via {
				d.WhyLines = append(d.WhyLines, whyLine{Source: sourceWords(v.Reason), Scope: e.scopeWords(v.Reason, project), Words: capitalize(v.Words),
					Action: strings.ReplaceAll(v.Action, "+", ", ")})
			}
		}
	}
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, r, status, "check", p)
}

// checkFailed puts Explain's refusal beside the field it names.
func checkFailed(f *form, err error) int {
	e := gatehouse.AsError(err)
	status := statusOf(e.Code)
	if status >= 500 || len(e.Fields) == 0 {
		if status == http.StatusNotFound {
			f.Set("target", "This place no longer exists in the organization.")
			f.Error = "Please correct the fields marked below."
			return http.StatusBadRequest
		}
		f.Error = e.Message
		if status >= 500 {
			f.Error = "Something went wrong on our side. Try again in a moment."
		}
		return status
	}
	to := map[string]string{"entity_type": "target", "entity_id": "target", "name": "area", "action": "action"}
	msgs := map[string]string{"target": "Choose the organization, a project or a folder.", "area": "Choose an area that exists there: folders for a folder, a project area for a project, an organization area for the organization.",
		"action": "Choose read, write or delete."}
	for _, fe := range e.Fields {
		if k, ok := to[fe.Field]; ok {
			f.Set(k, msgs[k])
		}
	}
	f.Error = "Please correct the fields marked below."
	return status
}

func areaWords(area string) string {
	if l, ok := orgAreaLabels[area]; ok {
		return l
	}
	return area
}

func sourceWords(r service.Reason) string {
	switch r.Source {
	case "role":
		return "Role " + r.Role
	case "api_key":
		return "The key's own grant"
	}
	return "A direct grant"
}

// scopeWords says where a grant applies.
func (e *explainer) scopeWords(r service.Reason, project string) string {
	switch r.Scope {
	case "owner":
		return "as owner of the organization"
	case "organization":
		return "on the organization"
	case "all_projects":
		return "on every project"
	case "project":
		if project != "" {
			return "on project " + project
		}
		return "on this project"
	case "folder":
		name := e.folders[r.FolderID]
		if name == "" {
			name = "a folder"
		}
		return "on folder " + name + " (and its subfolders)"
	}
	return ""
}
