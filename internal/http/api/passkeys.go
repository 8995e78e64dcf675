package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerPasskeys() {
	s.handle("POST /v1/me/passkeys/options", s.authed(s.handlePasskeyCreationOptions))
	s.handle("POST /v1/me/passkeys", s.authed(s.handleAddPasskey))
	s.handle("GET /v1/me/passkeys", s.authed(s.handleListPasskeys))
	s.handle("PATCH /v1/me/passkeys/{id}", s.authed(s.handleRenamePasskey))
	s.handle("DELETE /v1/me/passkeys/{id}", s.authed(s.handleDeletePasskey))
	s.handle("POST /v1/auth/passkey/options", s.handlePasskeyRequestOptions)
	s.handle("POST /v1/auth/passkey", s.handlePasskeyLogin)
}

type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Synced     bool       `json:"synced"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func passkeyOut(k *service.Passkey) passkeyJSON {
	out := passkeyJSON{ID: k.ID, Name: k.Name, Synced: k.Synced, CreatedAt: k.CreatedAt}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

func (s *Server) handlePasskeyCreationOptions(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	opts, err := s.Services.Auth.PasskeyCreationOptions(r.Context(), middleware.Actor(r, p), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, opts)
}

func (s *Server) handleAddPasskey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if !decode(w, r, &in) {
		return
	}
	k, err := s.Services.Auth.AddPasskey(r.Context(), middleware.Actor(r, p), p, in.Name, in.Credential)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, passkeyOut(k))
}

func (s *Server) handleListPasskeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	keys, err := s.Services.Auth.Passkeys(r.Context(), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]passkeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, passkeyOut(k))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) handleRenamePasskey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	k, err := s.Services.Auth.RenamePasskey(r.Context(), middleware.Actor(r, p), p, r.PathValue("id"), in.Name)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, passkeyOut(k))
}

func (s *Server) handleDeletePasskey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if err := s.Services.Auth.DeletePasskey(r.Context(), middleware.Actor(r, p), p, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handlePasskeyRequestOptions(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if !decode(w, r, &in) {
		return
	}
	opts, err := s.Services.Auth.PasskeyRequestOptions(r.Context(), middleware.Actor(r, nil), in.Email)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, opts)
}

func (s *Server) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, u, err := s.Services.Auth.PasskeyLogin(r.Context(), middleware.Actor(r, nil), in.Credential)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.tokensJSON(t, u))
}
