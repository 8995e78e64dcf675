package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Organizations (create, switch), the dashboard, projects and folders.

// newOrgData is what the "Create an organization" page shows besides its
// form: the invitations waiting for the user (accept or decline them
// here), and whether the session's organization has just gone.
type newOrgData struct {
	Invitations []*service.Preview
	Removed     bool
}

func (h *Handler) newOrgData(rc *reqCtx) newOrgData {
	var d newOrgData
	if mine, err := h.svc.Invitations.Mine(rc.r.Context(), rc.P, gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit}); err == nil {
		d.Invitations = mine.Items
	} else {
		h.cfg.Log.WarnContext(rc.r.Context(), "web: pending invitations", "err", err)
	}
	// The session still names an organization the user is no longer in.
	d.Removed = rc.P.CurrentOrgID != "" && rc.User.CurrentOrgID == ""
	return d
}

func (h *Handler) newOrgPage(rc *reqCtx) {
	p := rc.page("Create an organization", "")
	p.Data = h.newOrgData(rc)
	h.render(rc.w, rc.r, "org-new", p)
}

// acceptMine accepts one of the user's pending invitations by id.
func (h *Handler) acceptMine(rc *reqCtx) {
	res, err := h.svc.Invitations.AcceptByID(rc.r.Context(), rc.Actor(), rc.P, rc.r.PathValue("id"))
	if err != nil {
		rc.fail(back(rc.r, "/orgs/new"), err)
		return
	}
	name := "the organization"
	if o, err := h.svc.Orgs.Switch(rc.r.Context(), rc.Actor(), rc.P, res.Membership.OrgID); err == nil {
		name = o.Name
	}
	rc.done("/dashboard", "You joined "+name+".")
}

// declineMine declines one of the user's pending invitations by id.
func (h *Handler) declineMine(rc *reqCtx) {
	to := back(rc.r, "/orgs/new")
	if err := h.svc.Invitations.RejectByID(rc.r.Context(), rc.Actor(), rc.P, rc.r.PathValue("id")); err != nil {
		rc.fail(to, err)
		return
	}
	rc.done(to, "Invitation declined.")
}

func (h *Handler) createOrg(rc *reqCtx) {
	r := rc.r
	f := newForm(formValues(r, "name"))
	o, err := h.svc.Orgs.Create(r.Context(), rc.Actor(), rc.P, r.PostFormValue("name"), "")
	if err != nil {
		p := rc.page("Create an organization", "")
		p.Form = f
		p.Data = h.newOrgData(rc)
		h.renderStatus(rc.w, r, f.apply(err), "org-new", p)
		return
	}
	if _, err := h.svc.Orgs.Switch(r.Context(), rc.Actor(), rc.P, o.ID); err != nil {
		rc.fail("/dashboard", err)
		return
	}
	rc.done("/dashboard", "Organization "+o.Name+" created. You are its owner.")
}

func (h *Handler) switchOrg(rc *reqCtx) {
	o, err := h.svc.Orgs.Switch(rc.r.Context(), rc.Actor(), rc.P, rc.r.PostFormValue("org_id"))
	if err != nil {
		rc.fail("/dashboard", err)
		return
	}
	rc.done("/dashboard", "Switched to "+o.Name+".")
}

type dashboardData struct {
	Projects     []*gatehouse.Project
	MoreProjects bool
	Members      int
	MoreMembers  bool
	Pending      int
	MorePending  bool
	// Invitations are the ones addressed to the user, to other organizations.
	Invitations []*service.Preview
}

func (h *Handler) dashboard(rc *reqCtx) {
	ctx := rc.r.Context()
	d := dashboardData{}
	ps, err := h.svc.Projects.List(ctx, rc.Caller, gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d.Projects, d.MoreProjects = ps.Items, ps.NextCursor != ""
	p := rc.page("Projects", "dashboard")
	if p.Can.Members {
		ms, err := h.svc.Members.List(ctx, rc.Caller, "", gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
		if err != nil {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		d.Members, d.MoreMembers = len(ms.Items), ms.NextCursor != ""
		inv, err := h.svc.Invitations.List(ctx, rc.Caller, gatehouse.InvitationPending, "", gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
		if err != nil {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		d.Pending, d.MorePending = len(inv.Items), inv.NextCursor != ""
	}
	d.Invitations = h.newOrgData(rc).Invitations
	p.Data = d
	h.render(rc.w, rc.r, "dashboard", p)
}

func (h *Handler) createProject(rc *reqCtx) {
	r := rc.r
	name, desc := r.PostFormValue("name"), r.PostFormValue("description")
	pr, err := h.svc.Projects.Create(r.Context(), rc.Caller, service.ProjectInput{Name: &name, Description: &desc})
	if err != nil {
		f := newForm(formValues(r, "name", "description"))
		status := f.apply(err)
		ps, lerr := h.svc.Projects.List(r.Context(), rc.Caller, gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
		if lerr != nil {
			h.failPage(rc.w, r, rc, lerr)
			return
		}
		p := rc.page("Projects", "dashboard")
		p.Form = f
		p.Data = dashboardData{Projects: ps.Items, MoreProjects: ps.NextCursor != ""}
		h.renderStatus(rc.w, r, status, "dashboard", p)
		return
	}
	rc.done("/projects/"+url.PathEscape(pr.ID), "Project "+pr.Name+" created. Add folders to organize it.")
}

// folderRow is a folder of a flattened tree.
type folderRow struct {
	ID, Name string
	Depth    int
}

func flatten(nodes []*service.TreeNode, depth int, out []folderRow) []folderRow {
	for _, n := range nodes {
		out = append(out, folderRow{ID: n.ID, Name: n.Name, Depth: depth})
		out = flatten(n.Children, depth+1, out)
	}
	return out
}

type projectData struct {
	Project *gatehouse.Project
	Tree    []*service.TreeNode
	// Parents are the places the caller may add a folder in: the top level
	// (TopLevel) and the folders they may write to.
	TopLevel bool
	Parents  []folderRow
	// Nodes is the tree with what the caller may do to each folder;
	// CanEdit (settings write), CanDelete (full access to every project)
	// and BulkMove (some folder may move) gate the project's buttons.
	Nodes              []folderNode
	CanEdit, CanDelete bool
	BulkMove           bool
}

// can reports whether the caller may add folders in res.
func can(c *service.Caller, res authz.Resource) bool {
	ok, _ := c.Rights.Check(res, gatehouse.AreaFolders, authz.Write)
	return ok
}

func (h *Handler) projectPage(rc *reqCtx) {
	h.showProject(rc, newForm(nil), http.StatusOK)
}

func (h *Handler) showProject(rc *reqCtx, f *form, status int) {
	ctx := rc.r.Context()
	id := rc.r.PathValue("id")
	pr, err := h.svc.Projects.Get(ctx, rc.Caller, id)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	tree, err := h.svc.Folders.Tree(ctx, rc.Caller, id)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	p := rc.page(pr.Name, "dashboard")
	p.Form = f
	d := projectData{Project: pr, Tree: tree,
		TopLevel: can(rc.Caller, authz.Project(pr.ID))}
	for _, f := range flatten(tree, 0, nil) {
		if can(rc.Caller, authz.Folder(f.ID)) {
			d.Parents = append(d.Parents, f)
		}
	}
	d.Nodes = folderNodes(rc.Caller, tree, f)
	d.CanEdit, d.CanDelete = mayEditProject(rc.Caller, pr.ID), p.Can.Project
	for _, fr := range flatten(tree, 0, nil) {
		d.BulkMove = d.BulkMove || mayFolder(rc.Caller, fr.ID, authz.Delete)
	}
	if f.Get("edit") == "" {
		f.Values.Set("project_name", pr.Name)
		f.Values.Set("project_description", pr.Description)
	}
	p.Data = d
	h.renderStatus(rc.w, rc.r, status, "project", p)
}

func (h *Handler) createFolder(rc *reqCtx) {
	r := rc.r
	id := r.PathValue("id")
	fo, err := h.svc.Folders.Create(r.Context(), rc.Caller, id, r.PostFormValue("name"), strings.TrimSpace(r.PostFormValue("parent_id")))
	if err != nil {
		if e := gatehouse.AsError(err); e.Code == gatehouse.ENOTFOUND && len(e.Fields) == 0 {
			h.failPage(rc.w, r, rc, err)
			return
		}
		f := newForm(formValues(r, "name", "parent_id"))
		h.showProject(rc, f, f.apply(err))
		return
	}
	rc.done("/projects/"+url.PathEscape(id), "Folder "+fo.Name+" created.")
}
