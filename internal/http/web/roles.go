package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Roles: the built-in roles with their access in words (read-only), and
// the organization's custom roles — create, edit with the access editor
// (an edit is reviewed first: what changes for the members holding the
// role and which pending invitations are revoked, from Roles.Impact), and
// delete after a confirmation.

func (h *Handler) registerRoles(mux *http.ServeMux) {
	h.handle(mux, "GET /roles", h.inOrg(h.rolesPage))
	h.handle(mux, "GET /roles/new", h.inOrg(h.newRolePage))
	h.handle(mux, "POST /roles", h.inOrg(h.createRole))
	h.handle(mux, "GET /roles/{id}", h.inOrg(h.editRolePage))
	h.handle(mux, "POST /roles/{id}", h.inOrg(h.editRole))
	h.handle(mux, "GET /roles/{id}/delete", h.inOrg(h.deleteRolePage))
	h.handle(mux, "POST /roles/{id}/delete", h.inOrg(h.deleteRole))
}

type roleView struct {
	ID, Name, Desc     string
	BuiltIn            bool
	Access             []string
	CanEdit, CanDelete bool
	Holders            []service.MemberRef // custom roles: the members holding it
}

type rolesData struct {
	BuiltIn, Custom []roleView
	CanCreate       bool
}

// roleRights says what the caller may do with a custom role: edit and
// delete need members write (delete) and every right the role holds.
func (h *Handler) roleRights(rc *reqCtx, r *gatehouse.Role) (edit, del bool, err error) {
	if r.BuiltIn {
		return false, false, nil
	}
	set, err := h.svc.Access.Compile(rc.r.Context(), service.CompileRequest{OrgID: rc.Caller.OrgID, Grants: r.Grants})
	if err != nil {
		return false, false, err
	}
	holds := authz.Covers(rc.Caller.Rights, set)
	w, _ := rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Write)
	d, _ := rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Delete)
	return w && holds, d && holds, nil
}

func (h *Handler) roleView(rc *reqCtx, r *gatehouse.Role) (roleView, error) {
	v := roleView{ID: r.ID, Name: r.Name, Desc: r.Description, BuiltIn: r.BuiltIn,
		Access: h.describe(rc, nil, r.GrantsFor(rc.Caller.OrgID))}
	var err error
	v.CanEdit, v.CanDelete, err = h.roleRights(rc, r)
	return v, err
}

func (h *Handler) rolesPage(rc *reqCtx) {
	p := rc.page("Roles", "roles")
	roles, err := h.svc.Roles.List(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	holders, err := h.svc.Roles.Holders(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d := rolesData{}
	d.CanCreate, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Write)
	for _, r := range roles {
		v, err := h.roleView(rc, r)
		if err != nil {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		v.Holders = holders[r.ID]
		if r.BuiltIn {
			d.BuiltIn = append(d.BuiltIn, v)
		} else {
			d.Custom = append(d.Custom, v)
		}
	}
	p.Data = d
	h.render(rc.w, rc.r, "roles", p)
}

type roleFormData struct {
	Role   *roleView // nil when creating
	Access accessView
	Impact *service.RoleImpact
}

func (h *Handler) newRolePage(rc *reqCtx) {
	h.showRoleForm(rc, nil, newForm(nil), newAccessState(), nil, nil, http.StatusOK)
}

func (h *Handler) showRoleForm(rc *reqCtx, role *roleView, f *form, st *accessState, errs map[string]string, imp *service.RoleImpact, status int) {
	title := "New role"
	if role != nil {
		title = "Edit role " + role.Name
	}
	p := rc.page(title, "roles")
	if ok, _ := rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Write); !ok {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members write permission to define roles in " + rc.Org.Name + "."})
		return
	}
	v, ok := h.pickerView(rc, f, st, errs, false)
	if !ok {
		return
	}
	p.Form = f
	p.Data = roleFormData{Role: role, Access: v, Impact: imp}
	h.renderStatus(rc.w, rc.r, status, "role-form", p)
}

// roleInput reads the posted role form.
func (h *Handler) roleInput(rc *reqCtx) (f *form, st *accessState, in service.RoleInput, errs map[string]string, ok bool) {
	f, st, cat, ok := h.readAccessForm(rc, false)
	if !ok {
		return nil, nil, in, nil, false
	}
	grants, errs := st.grants(cat)
	in = service.RoleInput{Name: rc.r.PostFormValue("name"), Description: rc.r.PostFormValue("description"), Grants: grants, GrantsSet: true}
	return f, st, in, errs, true
}

// roleFailed shows a refused role form: a field error beside its field, a
// taken name beside the name, the rest on top.
func roleFailed(f *form, err error) int {
	e := gatehouse.AsError(err)
	if e.Reason == "name_taken" {
		f.Set("name", e.Message)
		f.Error = "Please correct the fields marked below."
		return statusOf(e.Code)
	}
	return f.apply(err)
}

func (h *Handler) createRole(rc *reqCtx) {
	f, st, in, errs, ok := h.roleInput(rc)
	if !ok {
		return
	}
	if len(errs) > 0 {
		f.Error = "Please correct the fields marked below."
		h.showRoleForm(rc, nil, f, st, errs, nil, http.StatusBadRequest)
		return
	}
	r, err := h.svc.Roles.Create(rc.r.Context(), rc.Caller, in)
	if err != nil {
		status := roleFailed(f, err)
		h.showRoleForm(rc, nil, f, st, nil, nil, status)
		return
	}
	rc.done("/roles", "Role "+r.Name+" created. Choose it in Invite Member or Edit permissions.")
}

// loadRole reads the role of the path for editing; built-in roles and
// roles the caller may not edit are a 403 page.
func (h *Handler) loadRole(rc *reqCtx, forDelete bool) (*gatehouse.Role, *roleView, bool) {
	r, err := h.svc.Roles.Get(rc.r.Context(), rc.Caller, rc.r.PathValue("id"))
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, nil, false
	}
	v, err := h.roleView(rc, r)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, nil, false
	}
	switch {
	case r.BuiltIn:
		err = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Built-in roles cannot be changed or deleted; create a custom role instead."}
	case forDelete && !v.CanDelete:
		err = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members delete permission, and every right of role " + r.Name + ", to delete it."}
	case !forDelete && !v.CanEdit:
		err = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members write permission, and every right of role " + r.Name + ", to change it."}
	}
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, nil, false
	}
	return r, &v, true
}

func (h *Handler) editRolePage(rc *reqCtx) {
	r, v, ok := h.loadRole(rc, false)
	if !ok {
		return
	}
	f := newForm(url.Values{"name": {r.Name}, "description": {r.Description}})
	h.showRoleForm(rc, v, f, stateFromGrants("", r.Grants), nil, nil, http.StatusOK)
}

// editRole reviews an edit first (step "review": what changes for the
// role's members and invitations), and saves it on step "save".
func (h *Handler) editRole(rc *reqCtx) {
	_, v, ok := h.loadRole(rc, false)
	if !ok {
		return
	}
	f, st, in, errs, ok := h.roleInput(rc)
	if !ok {
		return
	}
	if len(errs) > 0 {
		f.Error = "Please correct the fields marked below."
		h.showRoleForm(rc, v, f, st, errs, nil, http.StatusBadRequest)
		return
	}
	ctx := rc.r.Context()
	if rc.r.PostFormValue("step") != "save" {
		imp, err := h.svc.Roles.Impact(ctx, rc.Caller, v.ID, in)
		if err != nil {
			status := roleFailed(f, err)
			h.showRoleForm(rc, v, f, st, nil, nil, status)
			return
		}
		h.showRoleForm(rc, v, f, st, nil, imp, http.StatusOK)
		return
	}
	r, err := h.svc.Roles.Update(ctx, rc.Caller, v.ID, in)
	if err != nil {
		status := roleFailed(f, err)
		h.showRoleForm(rc, v, f, st, nil, nil, status)
		return
	}
	rc.done("/roles", "Role "+r.Name+" saved. Its members' access changed at once.")
}

func (h *Handler) deleteRolePage(rc *reqCtx) {
	_, v, ok := h.loadRole(rc, true)
	if !ok {
		return
	}
	holders, err := h.svc.Roles.Holders(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	v.Holders = holders[v.ID]
	p := rc.page("Delete role "+v.Name, "roles")
	p.Data = v
	h.render(rc.w, rc.r, "role-delete", p)
}

func (h *Handler) deleteRole(rc *reqCtx) {
	_, v, ok := h.loadRole(rc, true)
	if !ok {
		return
	}
	if err := h.svc.Roles.Delete(rc.r.Context(), rc.Caller, v.ID); err != nil {
		rc.fail("/roles/"+url.PathEscape(v.ID)+"/delete", err)
		return
	}
	rc.done("/roles", "Role "+v.Name+" deleted.")
}
