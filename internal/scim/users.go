package scim

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// userJSON is a User resource (RFC 7643 §4.1).
func (h *Handler) userJSON(u *gatehouse.SCIMUser, roles map[string]string) map[string]any {
	name := map[string]any{}
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	name["formatted"] = u.Name
	out := map[string]any{
		"schemas":     []string{SchemaUser},
		"id":          u.UserID,
		"userName":    u.UserName,
		"displayName": u.Name,
		"name":        name,
		"emails":      []map[string]any{{"value": u.Email, "type": "work", "primary": true}},
		"active":      u.Active,
		"meta": map[string]any{
			"resourceType": "User",
			"created":      u.CreatedAt.Format(time.RFC3339),
			"lastModified": u.UpdatedAt.Format(time.RFC3339),
			"location":     h.location("Users", u.UserID),
		},
	}
	if u.ExternalID != "" {
		out["externalId"] = u.ExternalID
	}
	groups := []map[string]any{}
	if u.Active && u.RoleID != "" {
		groups = append(groups, map[string]any{"value": u.RoleID, "display": roles[u.RoleID], "$ref": h.location("Groups", u.RoleID), "type": "direct"})
	}
	out["groups"] = groups
	return out
}

// roleNames maps role ids to names, for users' groups.
func (h *Handler) roleNames(r *http.Request, sc *service.SCIMCaller) map[string]string {
	out := map[string]string{}
	gs, err := h.svc.SCIM.Groups(r.Context(), sc, false)
	if err != nil {
		return out
	}
	for _, g := range gs {
		out[g.Role.ID] = g.Role.Name
	}
	return out
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	expr, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := userFilter(expr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	start, count, err := paging(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	users, total, err := h.svc.SCIM.ListUsers(r.Context(), sc, f, start, count)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	roles := h.roleNames(r, sc)
	res := make([]any, 0, len(users))
	for _, u := range users {
		res = append(res, h.userJSON(u, roles))
	}
	write(w, http.StatusOK, ListResponse{Schemas: []string{SchemaList}, TotalResults: total, StartIndex: start, ItemsPerPage: len(res), Resources: res})
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	u, err := h.svc.SCIM.GetUser(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeUser(w, r, sc, http.StatusOK, u)
}

func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller, status int, u *gatehouse.SCIMUser) {
	loc := h.location("Users", u.UserID)
	if status == http.StatusCreated {
		w.Header().Set("Location", loc)
	}
	write(w, status, h.userJSON(u, h.roleNames(r, sc)))
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	body, err := decode(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, err := userInput(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.SCIM.CreateUser(r.Context(), sc, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeUser(w, r, sc, http.StatusCreated, u)
}

func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	body, err := decode(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, err := userInput(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.SCIM.UpdateUser(r.Context(), sc, r.PathValue("id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeUser(w, r, sc, http.StatusOK, u)
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
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
	cur, err := h.svc.SCIM.GetUser(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := service.SCIMUserInput{UserName: cur.UserName, ExternalID: cur.ExternalID, GivenName: cur.GivenName, FamilyName: cur.FamilyName, Email: cur.Email}
	for _, op := range ops {
		if err := applyUserOp(&in, op); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	// The account's email is the person's: the provider's copy is not applied.
	in.Email = cur.Email
	u, err := h.svc.SCIM.UpdateUser(r.Context(), sc, cur.UserID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeUser(w, r, sc, http.StatusOK, u)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller) {
	if err := h.svc.SCIM.DeleteUser(r.Context(), sc, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userInput reads a User body (create, replace).
func userInput(body map[string]any) (service.SCIMUserInput, error) {
	var in service.SCIMUserInput
	for k, v := range body {
		if err := setUserAttr(&in, strings.ToLower(k), "", v, false); err != nil {
			return in, err
		}
	}
	return in, nil
}

// ignoredUserAttrs are attributes providers send that Gatehouse keeps no
// copy of; setting them succeeds and changes nothing.
var ignoredUserAttrs = map[string]bool{"schemas": true, "id": true, "meta": true, "title": true, "preferredlanguage": true,
	"locale": true, "timezone": true, "nickname": true, "profileurl": true, "usertype": true, "phonenumbers": true,
	"addresses": true, "photos": true, "ims": true, "entitlements": true, "roles": true, "x509certificates": true,
	"groups": true, "password": true, strings.ToLower(SchemaEnterprise): true}

// setUserAttr sets one attribute (name lower-cased, sub its sub-attribute)
// of in. remove clears it.
func setUserAttr(in *service.SCIMUserInput, name, sub string, v any, remove bool) error {
	if strings.HasPrefix(name, strings.ToLower(SchemaUser)+":") {
		name = strings.TrimPrefix(name, strings.ToLower(SchemaUser)+":")
	}
	if strings.HasPrefix(name, strings.ToLower(SchemaEnterprise)) {
		return nil
	}
	if n, s, ok := strings.Cut(name, "."); ok && sub == "" {
		name, sub = n, s
	}
	str := func(field string) (string, error) {
		if remove || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", valueError(field + " must be a string.")
		}
		return s, nil
	}
	var err error
	switch {
	case name == "username" && sub == "":
		if remove {
			return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "mutability", Message: "userName is required and cannot be removed."}
		}
		in.UserName, err = str("userName")
	case name == "externalid" && sub == "":
		in.ExternalID, err = str("externalId")
	case name == "displayname" && sub == "":
		in.DisplayName, err = str("displayName")
	case name == "active" && sub == "":
		if remove {
			return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "mutability", Message: "active cannot be removed; set it to false."}
		}
		b, ok := v.(bool)
		if s, isStr := v.(string); isStr {
			b, ok = parseBool(s)
		}
		if !ok {
			return valueError("active must be true or false.")
		}
		in.Active = &b
	case name == "name" && sub == "":
		if remove || v == nil {
			in.GivenName, in.FamilyName = "", ""
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return valueError("name must be an object.")
		}
		for k, sv := range m {
			if err := setUserAttr(in, "name", strings.ToLower(k), sv, false); err != nil {
				return err
			}
		}
	case name == "name" && sub == "givenname":
		in.GivenName, err = str("name.givenName")
	case name == "name" && sub == "familyname":
		in.FamilyName, err = str("name.familyName")
	case name == "name":
		// formatted, middleName, honorificPrefix…: not kept.
	case name == "emails":
		if remove {
			return nil
		}
		return setEmails(in, sub, v)
	case ignoredUserAttrs[name]:
	default:
		return pathError("Unknown User attribute: " + name + ".")
	}
	return err
}

// setEmails takes the primary (else the first) email of an emails value.
func setEmails(in *service.SCIMUserInput, sub string, v any) error {
	if sub == "value" {
		if s, ok := v.(string); ok {
			in.Email = s
			return nil
		}
		return valueError("emails value must be a string.")
	}
	list, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap {
			list = []any{m}
		} else {
			return valueError("emails must be a list of {value, type, primary}.")
		}
	}
	chosen := ""
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return valueError("emails must be a list of {value, type, primary}.")
		}
		val, _ := attr(m, "value")
		s, _ := val.(string)
		primary, _ := attr(m, "primary")
		isPrimary := primary == true
		if p, ok := primary.(string); ok {
			isPrimary, _ = parseBool(p)
		}
		if chosen == "" || isPrimary {
			chosen = s
		}
	}
	if chosen != "" {
		in.Email = chosen
	}
	return nil
}
