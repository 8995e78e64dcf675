package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerMembers() {
	s.handle("GET /v1/members", s.scoped(s.handleListMembers))
	s.handle("POST /v1/members/permissions/check", s.scoped(s.handleCheck))
	s.handle("POST /v1/members/permissions/check/batch", s.scoped(s.handleCheckBatch))
	s.handle("GET /v1/members/{user_id}", s.scoped(s.handleGetMember))
	s.handle("DELETE /v1/members/{user_id}", s.scoped(s.handleRemoveMember))
	s.handle("PUT /v1/members/{user_id}/permissions", s.scoped(s.handleUpdateMember))
	s.handle("GET /v1/roles", s.scoped(s.handleListRoles))
	s.handle("POST /v1/roles", s.scoped(s.handleCreateRole))
	s.handle("GET /v1/roles/{id}", s.scoped(s.handleGetRole))
	s.handle("PUT /v1/roles/{id}", s.scoped(s.handleUpdateRole))
	s.handle("DELETE /v1/roles/{id}", s.scoped(s.handleDeleteRole))
}

type memberJSON struct {
	UserID      string            `json:"user_id"`
	Name        string            `json:"name"`
	Email       string            `json:"email"`
	Role        *roleRefJSON      `json:"role"`
	Permissions []gatehouse.Grant `json:"permissions"`
	JoinedAt    time.Time         `json:"joined_at"`
	InvitedBy   *string           `json:"invited_by"`
	MFAEnabled  bool              `json:"mfa_enabled"`
}

func toMemberJSON(v *service.MemberView) memberJSON {
	out := memberJSON{UserID: v.UserID, Name: v.UserName, Email: v.UserEmail, Role: roleRef(v.Role), Permissions: v.Grants, JoinedAt: v.CreatedAt}
	if out.Permissions == nil {
		out.Permissions = []gatehouse.Grant{}
	}
	if v.InvitedBy != "" {
		by := v.InvitedBy
		out.InvitedBy = &by
	}
	return out
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	s.listMembersMFA(w, r, c) // with mfa_enabled (mfa_policy.go)
}

func (s *Server) handleGetMember(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	v, err := s.Services.Members.Get(r.Context(), c, r.PathValue("user_id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.memberWithMFA(r, v))
}

func (s *Server) handleUpdateMember(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Role        string            `json:"role"`
		Permissions []gatehouse.Grant `json:"permissions"`
	}
	if !decode(w, r, &in) {
		return
	}
	v, err := s.Services.Members.UpdatePermissions(r.Context(), c, r.PathValue("user_id"), service.UpdateInput{Role: in.Role, Grants: in.Permissions})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	full, err := s.Services.Members.Get(r.Context(), c, v.UserID)
	if err != nil {
		// The caller may have edited someone without members read... they
		// hold write, so this is unexpected; show what we have.
		full = v
	}
	respond.JSON(w, http.StatusOK, s.memberWithMFA(r, full))
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Members.Remove(r.Context(), c, r.PathValue("user_id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

type checkJSON struct {
	UserID     string `json:"user_id"`
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	Name       string `json:"name"`
	Action     string `json:"action"`
}

func (c checkJSON) input() service.CheckInput {
	return service.CheckInput{UserID: c.UserID, EntityType: c.EntityType, EntityID: c.EntityID, Name: c.Name, Action: c.Action}
}

// handleCheck answers one check, or a batch under "checks".
func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var one checkJSON
	checks, ok := decodeCheck(w, r, &one) // checkdecode.go
	if !ok {
		return
	}
	if checks != nil {
		// The batch form of old; POST …/check/batch is its own operation.
		s.checkBatch(w, r, c, checks)
		return
	}
	res, err := s.Services.Members.Check(r.Context(), c, []service.CheckInput{one.input()}, "")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	writeCheck(w, res[0]) // checkencode.go
}

// handleCheckBatch answers a batch of checks, in order.
func (s *Server) handleCheckBatch(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Checks []checkJSON `json:"checks"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Checks == nil {
		respond.Error(w, r, gatehouse.Invalid("Invalid batch.", gatehouse.FieldError{Field: "checks", Message: "is required"}))
		return
	}
	s.checkBatch(w, r, c, in.Checks)
}

func (s *Server) checkBatch(w http.ResponseWriter, r *http.Request, c *service.Caller, in []checkJSON) {
	checks := make([]service.CheckInput, len(in))
	for i, ch := range in {
		checks[i] = ch.input()
	}
	res, err := s.Services.Members.Check(r.Context(), c, checks, "checks")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"results": res})
}

type roleJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Permissions []gatehouse.Grant `json:"permissions"`
	BuiltIn     bool              `json:"built_in"`
}

func toRoleJSON(r *gatehouse.Role) roleJSON {
	out := roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Grants, BuiltIn: r.BuiltIn}
	if out.Permissions == nil {
		out.Permissions = []gatehouse.Grant{}
	}
	return out
}

type roleIn struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Permissions []gatehouse.Grant `json:"permissions"`
}

func (in roleIn) input() service.RoleInput {
	return service.RoleInput{Name: in.Name, Description: in.Description, Grants: in.Permissions, GrantsSet: in.Permissions != nil}
}

func (s *Server) handleListRoles(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	roles, err := s.Services.Roles.List(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]roleJSON, len(roles))
	for i, role := range roles {
		out[i] = toRoleJSON(role)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": nil})
}

func (s *Server) handleCreateRole(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in roleIn
	if !decode(w, r, &in) {
		return
	}
	role, err := s.Services.Roles.Create(r.Context(), c, in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toRoleJSON(role))
}

func (s *Server) handleGetRole(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	role, err := s.Services.Roles.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toRoleJSON(role))
}

func (s *Server) handleUpdateRole(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in roleIn
	if !decode(w, r, &in) {
		return
	}
	role, err := s.Services.Roles.Update(r.Context(), c, r.PathValue("id"), in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toRoleJSON(role))
}

func (s *Server) handleDeleteRole(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Roles.Delete(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}
