package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerInviteLinks() {
	s.handle("POST /v1/members/invite-links", s.scoped(s.handleCreateInviteLink))
	s.handle("GET /v1/members/invite-links", s.scoped(s.handleListInviteLinks))
	s.handle("DELETE /v1/members/invite-links/{id}", s.scoped(s.handleRevokeInviteLink))
	s.handle("GET /v1/invite-links/{token}", s.handleShowInviteLink)
	s.handle("POST /v1/invite-links/{token}/join", s.authed(s.handleJoinInviteLink))
}

type inviteLinkJSON struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	URL            *string           `json:"url,omitempty"`
	Role           *roleRefJSON      `json:"role"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	AllowedDomains []string          `json:"allowed_domains"`
	MaxUses        int               `json:"max_uses"`
	Uses           int               `json:"uses"`
	Status         string            `json:"status"`
	CreatedBy      string            `json:"created_by"`
	CreatedTime    time.Time         `json:"created_time"`
	ExpiresAt      time.Time         `json:"expires_at"`
}

func (s *Server) toInviteLinkJSON(v *service.LinkView) inviteLinkJSON {
	out := inviteLinkJSON{ID: v.ID, OrganizationID: v.OrgID, Role: roleRef(v.Role), Permissions: v.Grants, AllowedDomains: v.AllowedDomains,
		MaxUses: v.MaxUses, Uses: v.Uses, Status: v.State, CreatedBy: v.CreatedBy, CreatedTime: v.CreatedAt, ExpiresAt: v.ExpiresAt}
	if v.Token != "" {
		u := s.BaseURL + "/invite-links/" + v.Token
		out.URL = &u
	}
	return out
}

func (s *Server) handleCreateInviteLink(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Role           string            `json:"role"`
		Permissions    []gatehouse.Grant `json:"permissions"`
		MaxUses        int               `json:"max_uses"`
		ExpiresInDays  *int              `json:"expires_in_days"`
		AllowedDomains []string          `json:"allowed_domains"`
	}
	if !decode(w, r, &in) {
		return
	}
	v, err := s.Services.Invitations.CreateLink(r.Context(), c, service.LinkInput{Role: in.Role, Grants: in.Permissions, MaxUses: in.MaxUses,
		ExpiresInDays: in.ExpiresInDays, AllowedDomains: in.AllowedDomains})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, s.toInviteLinkJSON(v))
}

func (s *Server) handleListInviteLinks(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	vs, err := s.Services.Invitations.ListLinks(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]inviteLinkJSON, len(vs))
	for i, v := range vs {
		out[i] = s.toInviteLinkJSON(v)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": nil})
}

func (s *Server) handleRevokeInviteLink(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Invitations.RevokeLink(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleShowInviteLink(w http.ResponseWriter, r *http.Request) {
	pv, err := s.Services.Invitations.ShowLink(r.Context(), r.PathValue("token"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"organization_id": pv.OrgID, "organization_name": pv.OrgName, "role": roleRef(pv.Role),
		"access": pv.Access, "permissions": pv.Grants, "uses_left": pv.UsesLeft, "expires_at": pv.ExpiresAt, "allowed_domains": pv.AllowedDomains})
}

func (s *Server) handleJoinInviteLink(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	res, err := s.Services.Invitations.JoinLink(r.Context(), middleware.Actor(r, p), p, r.PathValue("token"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	s.acceptResponse(w, r, res)
}
