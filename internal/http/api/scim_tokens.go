package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/service"
)

// SCIM provisioning tokens of an organization; /scim/v2 itself is served by
// internal/scim.
func (s *Server) registerSCIMTokens() {
	s.handle("GET /v1/organizations/{id}/scim-tokens", s.orgScoped(s.handleListSCIMTokens))
	s.handle("POST /v1/organizations/{id}/scim-tokens", s.orgScoped(s.handleCreateSCIMToken))
	s.handle("DELETE /v1/organizations/{id}/scim-tokens/{tokenId}", s.orgScoped(s.handleRevokeSCIMToken))
}

type scimTokenJSON struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	Name           string     `json:"name"`
	Prefix         string     `json:"prefix"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	// BaseURL is the SCIM endpoint an identity provider is given.
	BaseURL string `json:"scim_base_url"`
	// Token is set only in the response that creates it.
	Token string `json:"token,omitempty"`
}

func (s *Server) toSCIMTokenJSON(t *gatehouse.SCIMToken) scimTokenJSON {
	return scimTokenJSON{ID: t.ID, OrganizationID: t.OrgID, Name: t.Name, Prefix: t.Prefix, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, LastUsedAt: optTime(t.LastUsedAt), BaseURL: SCIMBaseURL(s.BaseURL)}
}

// SCIMBaseURL is the SCIM endpoint under a public base URL.
func SCIMBaseURL(baseURL string) string {
	for len(baseURL) > 0 && baseURL[len(baseURL)-1] == '/' {
		baseURL = baseURL[:len(baseURL)-1]
	}
	return baseURL + scim.Prefix
}

func (s *Server) handleListSCIMTokens(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.SCIMToken], error) {
		return s.Services.SCIM.ListTokens(r.Context(), c, page)
	}, s.toSCIMTokenJSON)
}

func (s *Server) handleCreateSCIMToken(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Name string `json:"name"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	t, secretText, err := s.Services.SCIM.CreateToken(r.Context(), c, in.Name)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := s.toSCIMTokenJSON(t)
	out.Token = secretText
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusCreated, out)
}

func (s *Server) handleRevokeSCIMToken(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.SCIM.RevokeToken(r.Context(), c, r.PathValue("tokenId")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}
