package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerSSO() {
	conns := "/v1/organizations/{id}/sso-connections"
	s.handle("POST "+conns, s.orgScoped(s.handleCreateSSO))
	s.handle("GET "+conns, s.orgScoped(s.handleListSSO))
	s.handle("GET "+conns+"/{cid}", s.orgScoped(s.handleGetSSO))
	s.handle("PATCH "+conns+"/{cid}", s.orgScoped(s.handleUpdateSSO))
	s.handle("DELETE "+conns+"/{cid}", s.orgScoped(s.handleDeleteSSO))
	s.handle("GET /v1/auth/sso", s.handleSSOStart)
	s.handle("GET /v1/auth/sso/oidc/callback", s.handleSSOOIDCCallback)
	s.registerSAML()
}

// ssoConnectionJSON is a connection as the API shows it: never its client
// secret; SAML connections carry what the IdP's administrator needs.
type ssoConnectionJSON struct {
	ID              string    `json:"id"`
	OrganizationID  string    `json:"organization_id"`
	Type            string    `json:"type"`
	Name            string    `json:"name"`
	Domains         []string  `json:"domains"`
	Enforced        bool      `json:"enforced"`
	Issuer          *string   `json:"issuer,omitempty"`
	ClientID        *string   `json:"client_id,omitempty"`
	ClientSecretSet *bool     `json:"client_secret_set,omitempty"`
	IdPMetadataURL  *string   `json:"idp_metadata_url,omitempty"`
	SPMetadataURL   *string   `json:"sp_metadata_url,omitempty"`
	SPEntityID      *string   `json:"sp_entity_id,omitempty"`
	SPACSURL        *string   `json:"sp_acs_url,omitempty"`
	RedirectURI     *string   `json:"redirect_uri,omitempty"`
	SignInURL       string    `json:"sign_in_url"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func ptr[T any](v T) *T { return &v }

func (s *Server) ssoJSON(c *gatehouse.SSOConnection) ssoConnectionJSON {
	out := ssoConnectionJSON{ID: c.ID, OrganizationID: c.OrgID, Type: c.Type, Name: c.Name, Domains: c.Domains, Enforced: c.Enforced,
		SignInURL: s.BaseURL + "/v1/auth/sso?connection_id=" + c.ID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if out.Domains == nil {
		out.Domains = []string{}
	}
	switch c.Type {
	case gatehouse.SSOTypeOIDC:
		out.Issuer, out.ClientID, out.ClientSecretSet = ptr(c.Issuer), ptr(c.ClientID), ptr(c.ClientSecret != "")
		out.RedirectURI = ptr(s.Services.SSO.OIDCCallbackURL())
	case gatehouse.SSOTypeSAML:
		meta := s.Services.SSO.SAMLMetadataURL(c.ID)
		out.SPMetadataURL, out.SPEntityID, out.SPACSURL = ptr(meta), ptr(meta), ptr(s.Services.SSO.SAMLACSURL())
		if c.IdPMetadataURL != "" {
			out.IdPMetadataURL = ptr(c.IdPMetadataURL)
		}
	}
	return out
}

type ssoConnectionBody struct {
	Type           *string   `json:"type"`
	Name           *string   `json:"name"`
	Issuer         *string   `json:"issuer"`
	ClientID       *string   `json:"client_id"`
	ClientSecret   *string   `json:"client_secret"`
	IdPMetadataXML *string   `json:"idp_metadata_xml"`
	IdPMetadataURL *string   `json:"idp_metadata_url"`
	Domains        *[]string `json:"domains"`
	Enforced       *bool     `json:"enforced"`
}

func (b ssoConnectionBody) input() service.SSOConnectionInput {
	return service.SSOConnectionInput{Type: b.Type, Name: b.Name, Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret,
		IdPMetadataXML: b.IdPMetadataXML, IdPMetadataURL: b.IdPMetadataURL, Domains: b.Domains, Enforced: b.Enforced}
}

func (s *Server) handleCreateSSO(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in ssoConnectionBody
	if !decode(w, r, &in) {
		return
	}
	conn, err := s.Services.SSO.CreateConnection(r.Context(), c, in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, s.ssoJSON(conn))
}

func (s *Server) handleListSSO(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	conns, err := s.Services.SSO.Connections(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]ssoConnectionJSON, 0, len(conns))
	for _, conn := range conns {
		out = append(out, s.ssoJSON(conn))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) handleGetSSO(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	conn, err := s.Services.SSO.Connection(r.Context(), c, r.PathValue("cid"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.ssoJSON(conn))
}

func (s *Server) handleUpdateSSO(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in ssoConnectionBody
	if !decode(w, r, &in) {
		return
	}
	conn, err := s.Services.SSO.UpdateConnection(r.Context(), c, r.PathValue("cid"), in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.ssoJSON(conn))
}

func (s *Server) handleDeleteSSO(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.SSO.DeleteConnection(r.Context(), c, r.PathValue("cid")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleSSOStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	url, state, err := s.Services.SSO.Start(r.Context(), q.Get("email"), q.Get("connection_id"), q.Get("redirect_to"), q.Get("mode"))
	if err != nil {
		if q.Get("mode") != service.ModeAPI && wantsHTML(r) {
			if web, ok := s.Web.(webSignIn); ok {
				web.SignInFailed(w, r, err)
				return
			}
		}
		respond.Error(w, r, err)
		return
	}
	s.startRedirect(w, r, url, state)
}

func (s *Server) handleSSOOIDCCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cb := service.Callback{State: q.Get("state"), CookieState: flowCookieValue(r), Code: q.Get("code"), Error: q.Get("error")}
	mode := s.Services.Social.FlowMode(r.Context(), cb.State)
	res, err := s.Services.SSO.FinishOIDC(r.Context(), middleware.Actor(r, nil), cb)
	s.finishSignIn(w, r, mode, res, err)
}
