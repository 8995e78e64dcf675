package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerKeys() {
	s.handle("GET /v1/api-keys", s.scoped(s.handleListKeys))
	s.handle("POST /v1/api-keys", s.scoped(s.handleCreateKey))
	s.handle("GET /v1/api-keys/{id}", s.scoped(s.handleGetKey))
	s.handle("DELETE /v1/api-keys/{id}", s.scoped(s.handleRevokeKey))
}

type keyJSON struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	Name           string            `json:"name"`
	Prefix         string            `json:"prefix"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      time.Time         `json:"created_at"`
	ExpiresAt      *time.Time        `json:"expires_at"`
	LastUsedAt     *time.Time        `json:"last_used_at"`
	// Secret is set only in the response that creates the key.
	Secret string `json:"secret,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toKeyJSON(k *gatehouse.APIKey) keyJSON {
	out := keyJSON{ID: k.ID, OrganizationID: k.OrgID, Name: k.Name, Prefix: k.Prefix, Permissions: k.Grants, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: optTime(k.ExpiresAt), LastUsedAt: optTime(k.LastUsedAt)}
	if out.Permissions == nil {
		out.Permissions = []gatehouse.Grant{}
	}
	return out
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.APIKey], error) {
		return s.Services.Keys.List(r.Context(), c, page)
	}, toKeyJSON)
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Name        string            `json:"name"`
		Permissions []gatehouse.Grant `json:"permissions"`
		ExpiresAt   *time.Time        `json:"expires_at"`
	}
	if !decode(w, r, &in) {
		return
	}
	k, secretText, err := s.Services.Keys.Create(r.Context(), c, service.KeyInput{Name: in.Name, Grants: in.Permissions, GrantsSet: in.Permissions != nil, ExpiresAt: in.ExpiresAt})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := toKeyJSON(k)
	out.Secret = secretText
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusCreated, out)
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	k, err := s.Services.Keys.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toKeyJSON(k))
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Keys.Revoke(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}
