package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Projects and folders beyond creating them: rename and delete a project
// (settings write; deleting needs full access to every project), and in the
// folder tree rename (write on the folder), move (delete on the folder,
// write on the new parent), delete (delete on the folder, after a page that
// shows what it holds) and bulk move. Buttons appear only where the person
// has the right; the services check again.

func (h *Handler) registerFolders(mux *http.ServeMux) {
	h.handle(mux, "POST /projects/{id}/edit", h.inOrg(h.editProject))
	h.handle(mux, "GET /projects/{id}/delete", h.inOrg(h.deleteProjectPage))
	h.handle(mux, "POST /projects/{id}/delete", h.inOrg(h.deleteProject))
	h.handle(mux, "POST /projects/{id}/folders/move", h.inOrg(h.bulkMoveFolders))
	h.handle(mux, "POST /projects/{id}/folders/{fid}/rename", h.inOrg(h.renameFolder))
	h.handle(mux, "GET /projects/{id}/folders/{fid}/move", h.inOrg(h.moveFolderPage))
	h.handle(mux, "POST /projects/{id}/folders/{fid}/move", h.inOrg(h.moveFolder))
	h.handle(mux, "GET /projects/{id}/folders/{fid}/delete", h.inOrg(h.deleteFolderPage))
	h.handle(mux, "POST /projects/{id}/folders/{fid}/delete", h.inOrg(h.deleteFolder))
}

// folderNode is a folder of the tree with what the caller may do to it.
type folderNode struct {
	ID, Name               string
	Children               []folderNode
	Rename, Move, Delete   bool
	RenameOpen             bool // the rename form failed: open it
	RenameValue, RenameErr string
}

// mayFolder reports whether the caller may do action on the folder.
func mayFolder(c *service.Caller, id string, a authz.Action) bool {
	ok, _ := c.Rights.Check(authz.Folder(id), gatehouse.AreaFolders, a)
	return ok
}

func folderNodes(c *service.Caller, nodes []*service.TreeNode, f *form) []folderNode {
	out := make([]folderNode, 0, len(nodes))
	for _, n := range nodes {
		fn := folderNode{ID: n.ID, Name: n.Name, Children: folderNodes(c, n.Children, f),
			Rename: mayFolder(c, n.ID, authz.Write), Delete: mayFolder(c, n.ID, authz.Delete)}
		fn.Move = fn.Delete
		if f.Get("rename_id") == n.ID {
			fn.RenameOpen, fn.RenameValue, fn.RenameErr = true, f.Get("new_name"), f.Err("new_name")
		}
		out = append(out, fn)
	}
	return out
}

// mayEditProject: the project's settings write.
func mayEditProject(c *service.Caller, id string) bool {
	ok, _ := c.Rights.Check(authz.Project(id), gatehouse.AreaSettings, authz.Write)
	return ok
}

// find returns the node of id in a tree, and whether it is there.
func find(nodes []*service.TreeNode, id string) (*service.TreeNode, bool) {
	for _, n := range nodes {
		if n.ID == id {
			return n, true
		}
		if c, ok := find(n.Children, id); ok {
			return c, true
		}
	}
	return nil, false
}

func (h *Handler) editProject(rc *reqCtx) {
	r := rc.r
	id := r.PathValue("id")
	name, desc := r.PostFormValue("project_name"), r.PostFormValue("project_description")
	pr, err := h.svc.Projects.Update(r.Context(), rc.Caller, id, service.ProjectInput{Name: &name, Description: &desc})
	if err != nil {
		if e := gatehouse.AsError(err); len(e.Fields) == 0 {
			h.failPage(rc.w, r, rc, err)
			return
		}
		f := newForm(url.Values{"project_name": {name}, "project_description": {desc}, "edit": {"1"}})
		status := f.apply(err)
		for k, v := range map[string]string{"name": "project_name", "description": "project_description"} {
			if msg, ok := f.Errors[k]; ok {
				f.Errors[v] = msg
				delete(f.Errors, k)
			}
		}
		h.showProject(rc, f, status)
		return
	}
	rc.done("/projects/"+url.PathEscape(pr.ID), "Project "+pr.Name+" saved.")
}

type projectDeleteData struct {
	Project *gatehouse.Project
	Folders []folderRow
}

func (h *Handler) deleteProjectPage(rc *reqCtx) {
	ctx := rc.r.Context()
	pr, err := h.svc.Projects.Get(ctx, rc.Caller, rc.r.PathValue("id"))
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	p := rc.page("Delete "+pr.Name, "dashboard")
	if !p.Can.Project {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Deleting a project needs full access to every project of " + rc.Org.Name + "."})
		return
	}
	tree, err := h.svc.Folders.Tree(ctx, rc.Caller, pr.ID)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	p.Data = projectDeleteData{Project: pr, Folders: flatten(tree, 0, nil)}
	h.render(rc.w, rc.r, "project-delete", p)
}

func (h *Handler) deleteProject(rc *reqCtx) {
	ctx := rc.r.Context()
	pr, err := h.svc.Projects.Get(ctx, rc.Caller, rc.r.PathValue("id"))
	if err == nil {
		err = h.svc.Projects.Delete(ctx, rc.Caller, pr.ID)
	}
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	rc.done("/dashboard", "Project "+pr.Name+" and its folders were deleted.")
}

// folderFailed shows a refused folder change on the project page: 403 and
// 404 as their own pages, the rest on the form.
func (h *Handler) folderFailed(rc *reqCtx, f *form, err error) {
	e := gatehouse.AsError(err)
	status := statusOf(e.Code)
	if status == http.StatusForbidden || (status == http.StatusNotFound && len(e.Fields) == 0) || status >= 500 {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	if len(e.Fields) > 0 && f.Get("rename_id") != "" {
		f.Set("new_name", messageFor("Name", e.Fields[0].Message))
		f.Error = "Please correct the fields marked below."
	} else {
		f.Error = e.Message
	}
	h.showProject(rc, f, status)
}

func (h *Handler) renameFolder(rc *reqCtx) {
	r := rc.r
	pid, fid := r.PathValue("id"), r.PathValue("fid")
	name := r.PostFormValue("new_name")
	fo, err := h.svc.Folders.Rename(r.Context(), rc.Caller, pid, fid, name)
	if err != nil {
		h.folderFailed(rc, newForm(url.Values{"rename_id": {fid}, "new_name": {name}}), err)
		return
	}
	rc.done("/projects/"+url.PathEscape(pid), "Folder renamed to "+fo.Name+".")
}

type moveData struct {
	Project  *gatehouse.Project
	Folder   folderRow
	TopLevel bool
	Targets  []folderRow
	Inside   []folderRow // what moves with it
}

// moveTargets lists where the caller may put folders of the project:
// the top level and the folders they may write, minus the excluded ones.
func moveTargets(c *service.Caller, projectID string, tree []*service.TreeNode, exclude map[string]bool) (top bool, out []folderRow) {
	top = can(c, authz.Project(projectID))
	for _, f := range flatten(tree, 0, nil) {
		if !exclude[f.ID] && can(c, authz.Folder(f.ID)) {
			out = append(out, f)
		}
	}
	return top, out
}

func (h *Handler) moveFolderPage(rc *reqCtx) {
	h.showMove(rc, newForm(nil), http.StatusOK)
}

func (h *Handler) showMove(rc *reqCtx, f *form, status int) {
	ctx := rc.r.Context()
	pid, fid := rc.r.PathValue("id"), rc.r.PathValue("fid")
	fo, err := h.svc.Folders.Get(ctx, rc.Caller, pid, fid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	if !mayFolder(rc.Caller, fo.ID, authz.Delete) {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Moving folder " + fo.Name + " needs delete permission on it."})
		return
	}
	pr, err := h.svc.Projects.Get(ctx, rc.Caller, pid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	tree, err := h.svc.Folders.Tree(ctx, rc.Caller, pid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d := moveData{Project: pr, Folder: folderRow{ID: fo.ID, Name: fo.Name}}
	exclude := map[string]bool{fo.ID: true}
	if n, ok := find(tree, fo.ID); ok {
		d.Inside = flatten(n.Children, 0, nil)
		for _, c := range d.Inside {
			exclude[c.ID] = true
		}
	}
	d.TopLevel, d.Targets = moveTargets(rc.Caller, pid, tree, exclude)
	p := rc.page("Move "+fo.Name, "dashboard")
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, rc.r, status, "folder-move", p)
}

func (h *Handler) moveFolder(rc *reqCtx) {
	r := rc.r
	pid, fid := r.PathValue("id"), r.PathValue("fid")
	parent := strings.TrimSpace(r.PostFormValue("parent_id"))
	if _, err := h.svc.Folders.Move(r.Context(), rc.Caller, pid, []string{fid}, parent); err != nil {
		e := gatehouse.AsError(err)
		if st := statusOf(e.Code); st == http.StatusForbidden || st >= 500 || (st == http.StatusNotFound && len(e.Fields) == 0) {
			h.failPage(rc.w, r, rc, err)
			return
		}
		f := newForm(url.Values{"parent_id": {parent}})
		f.Set("parent_id", e.Message)
		f.Error = "Please choose another place."
		h.showMove(rc, f, statusOf(e.Code))
		return
	}
	rc.done("/projects/"+url.PathEscape(pid), "Folder moved.")
}

func (h *Handler) bulkMoveFolders(rc *reqCtx) {
	r := rc.r
	pid := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		h.failPage(rc.w, r, rc, gatehouse.Invalid("The form could not be read."))
		return
	}
	ids := r.PostForm["folder_id"]
	parent := strings.TrimSpace(r.PostFormValue("parent_id"))
	f := newForm(url.Values{"bulk_parent": {parent}, "folder_id": ids})
	if len(ids) == 0 {
		f.Set("folder_id", "Tick the folders to move first.")
		f.Error = "Please correct the fields marked below."
		h.showProject(rc, f, http.StatusBadRequest)
		return
	}
	moved, err := h.svc.Folders.Move(r.Context(), rc.Caller, pid, ids, parent)
	if err != nil {
		e := gatehouse.AsError(err)
		if st := statusOf(e.Code); st == http.StatusForbidden || st >= 500 {
			h.failPage(rc.w, r, rc, err)
			return
		}
		f.Set("bulk_parent", e.Message)
		f.Error = "The folders were not moved: " + e.Message
		h.showProject(rc, f, statusOf(e.Code))
		return
	}
	msg := strconv.Itoa(len(moved)) + " folders moved."
	if len(moved) == 1 {
		msg = "1 folder moved."
	}
	rc.done("/projects/"+url.PathEscape(pid), msg)
}

type folderDeleteData struct {
	Project *gatehouse.Project
	Folder  folderRow
	Inside  []folderRow
}

func (h *Handler) loadFolderForDelete(rc *reqCtx) (*folderDeleteData, bool) {
	ctx := rc.r.Context()
	pid, fid := rc.r.PathValue("id"), rc.r.PathValue("fid")
	fo, err := h.svc.Folders.Get(ctx, rc.Caller, pid, fid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, false
	}
	if !mayFolder(rc.Caller, fo.ID, authz.Delete) {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Deleting folder " + fo.Name + " needs delete permission on it."})
		return nil, false
	}
	pr, err := h.svc.Projects.Get(ctx, rc.Caller, pid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, false
	}
	tree, err := h.svc.Folders.Tree(ctx, rc.Caller, pid)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, false
	}
	d := &folderDeleteData{Project: pr, Folder: folderRow{ID: fo.ID, Name: fo.Name}}
	if n, ok := find(tree, fo.ID); ok {
		d.Inside = flatten(n.Children, 0, nil)
	}
	return d, true
}

func (h *Handler) deleteFolderPage(rc *reqCtx) {
	d, ok := h.loadFolderForDelete(rc)
	if !ok {
		return
	}
	p := rc.page("Delete "+d.Folder.Name, "dashboard")
	p.Data = d
	h.render(rc.w, rc.r, "folder-delete", p)
}

func (h *Handler) deleteFolder(rc *reqCtx) {
	d, ok := h.loadFolderForDelete(rc)
	if !ok {
		return
	}
	// The page showed what the folder holds: deleting it takes its subfolders.
	if err := h.svc.Folders.Delete(rc.r.Context(), rc.Caller, d.Project.ID, d.Folder.ID, true); err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	msg := "Folder " + d.Folder.Name + " deleted."
	if n := len(d.Inside); n > 0 {
		msg = "Folder " + d.Folder.Name + " and " + strconv.Itoa(n) + " subfolders deleted."
	}
	rc.done("/projects/"+url.PathEscape(d.Project.ID), msg)
}

// treeView is the folder tree as the "ftree" template walks it.
type treeView struct {
	Nodes     []folderNode
	ProjectID string
	Bulk      bool
	Form      *form
}

func projectTree(p *page) treeView {
	d, _ := p.Data.(projectData)
	return treeView{Nodes: d.Nodes, ProjectID: d.Project.ID, Bulk: d.BulkMove, Form: p.Form}
}

func subtree(t treeView, nodes []folderNode) treeView {
	t.Nodes = nodes
	return t
}
