package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerOrgs() {
	s.handle("GET /v1/organizations", s.authed(s.handleListOrgs))
	s.handle("POST /v1/organizations", s.authed(s.handleCreateOrg))
	s.handle("GET /v1/organizations/{id}", s.orgScoped(s.handleGetOrg))
	s.handle("PATCH /v1/organizations/{id}", s.orgScoped(s.handleUpdateOrg))
	s.handle("DELETE /v1/organizations/{id}", s.orgScoped(s.handleDeleteOrg))
	s.handle("POST /v1/organizations/{id}/switch", s.authed(s.handleSwitchOrg))
	s.handle("POST /v1/organizations/{id}/transfer-ownership", s.orgScoped(s.handleTransferOwnership))
	s.registerOrgLogo()
}

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	LogoURL   *string   `json:"logo_url"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toOrgJSON(o *gatehouse.Organization) orgJSON {
	out := orgJSON{ID: o.ID, Name: o.Name, CreatedBy: o.CreatedBy, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if o.LogoURL != "" {
		l := o.LogoURL
		out.LogoURL = &l
	}
	return out
}

func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[gatehouse.UserOrg], error) {
		return s.Services.Orgs.ListMine(r.Context(), p, page)
	}, func(o gatehouse.UserOrg) orgJSON { return toOrgJSON(o.Organization) })
}

func (s *Server) handleCreateOrg(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Name    string `json:"name"`
		LogoURL string `json:"logo_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	o, err := s.Services.Orgs.Create(r.Context(), middleware.Actor(r, p), p, in.Name, in.LogoURL)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toOrgJSON(o))
}

func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	o, err := s.Services.Orgs.Get(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toOrgJSON(o))
}

func (s *Server) handleUpdateOrg(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Name    *string `json:"name"`
		LogoURL *string `json:"logo_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	o, err := s.Services.Orgs.Update(r.Context(), c, in.Name, in.LogoURL)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toOrgJSON(o))
}

func (s *Server) handleDeleteOrg(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Orgs.Delete(r.Context(), c); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleSwitchOrg(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	o, err := s.Services.Orgs.Switch(r.Context(), middleware.Actor(r, p), p, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toOrgJSON(o))
}

func (s *Server) handleTransferOwnership(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		UserID string `json:"user_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, err := s.Services.Members.TransferOwnership(r.Context(), c, in.UserID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]memberJSON{"owner": s.memberWithMFA(r, t.Owner), "previous_owner": s.memberWithMFA(r, t.Previous)})
}
