package scim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Groups are the organization's roles; their members hold the role.

type groupView struct{ *service.SCIMGroup }

func (g groupView) hasMember(id string) bool {
	id = strings.ToLower(id)
	return slices.ContainsFunc(g.Members, func(m store.RoleHolder) bool { return m.UserID == id })
}

func (h *Handler) groupJSON(g *service.SCIMGroup, withMembers bool) map[string]any {
	out := map[string]any{
		"schemas":     []string{SchemaGroup},
		"id":          g.Role.ID,
		"displayName": g.Role.Name,
		"meta": map[string]any{
			"resourceType": "Group",
			"location":     h.location("Groups", g.Role.ID),
		},
	}
	if withMembers {
		members := make([]map[string]any, 0, len(g.Members))
		for _, m := range g.Members {
			members = append(members, map[string]any{"value": m.UserID, "display": m.Email, "$ref": h.location("Users", m.UserID), "type": "User"})
		}
		out["members"] = members
	}
	return out
}

// wantMembers is false when the provider asked to leave members out
// (excludedAttributes=members, or attributes without members).
func wantMembers(r *http.Request) bool {
	q := r.URL.Query()
	for _, a := range strings.Split(q.Get("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "members") {
			return false
		}
	}
	if attrs := q.Get("attributes"); attrs != "" {
		for _, a := range strings.Split(attrs, ",") {
			if strings.EqualFold(strings.TrimSpace(a), "members") {
				return true
			}
		}
		return false
	}
	return true
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	expr, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	start, count, err := paging(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	groups, err := h.svc.SCIM.Groups(r.Context(), sc, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var matched []*service.SCIMGroup
	for _, g := range groups {
		ok, err := groupMatch(expr, groupView{g})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if ok {
			matched = append(matched, g)
		}
	}
	withMembers := wantMembers(r)
	res := []any{}
	for i := start - 1; i < len(matched) && len(res) < count; i++ {
		res = append(res, h.groupJSON(matched[i], withMembers))
	}
	write(w, http.StatusOK, ListResponse{Schemas: []string{SchemaList}, TotalResults: len(matched), StartIndex: start, ItemsPerPage: len(res), Resources: res})
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	withMembers := wantMembers(r)
	g, err := h.svc.SCIM.Group(r.Context(), sc, r.PathValue("id"), withMembers)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	write(w, http.StatusOK, h.groupJSON(g, withMembers))
}

var errGroupsFixed = &gatehouse.Error{Code: gatehouse.ENOTIMPLEMENTED,
	Message: "Groups are the organization's roles: create and delete roles in Gatehouse, then assign members to them here."}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	h.fail(w, r, errGroupsFixed)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	h.fail(w, r, errGroupsFixed)
}

func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	body, err := decode(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	g, err := h.svc.SCIM.Group(r.Context(), sc, r.PathValue("id"), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if dn, ok := attr(body, "displayName"); ok {
		if s, _ := dn.(string); !strings.EqualFold(strings.TrimSpace(s), g.Role.Name) {
			h.fail(w, r, &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "mutability",
				Message: "A group is one of the organization's roles: its displayName is the role's name."})
			return
		}
	}
	ids := []string{}
	if v, ok := attr(body, "members"); ok && v != nil {
		if ids, err = memberValues(v); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.changeGroup(w, r, sc, g.Role.ID, service.GroupChange{Replace: &ids})
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	body, err := decode(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ops, err := patchOps(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	g, err := h.svc.SCIM.Group(r.Context(), sc, r.PathValue("id"), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ch service.GroupChange
	for _, op := range ops {
		if err := applyGroupOp(&ch, g.Role.Name, op); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.changeGroup(w, r, sc, g.Role.ID, ch)
}

func (h *Handler) changeGroup(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller, id string, ch service.GroupChange) {
	g, err := h.svc.SCIM.ChangeGroup(r.Context(), sc, id, ch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	write(w, http.StatusOK, h.groupJSON(g, wantMembers(r)))
}
