package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerMe() {
	s.handle("GET /v1/me", s.authed(s.handleMe))
	s.handle("PATCH /v1/me", s.authed(s.handleUpdateMe))
	s.handle("PUT /v1/me/avatar", s.authed(s.handleSetAvatar))
	s.handle("DELETE /v1/me/avatar", s.authed(s.handleDeleteAvatar))
	s.handle("GET /v1/users/{id}/avatar", s.handleAvatar)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func registerInput(name, email, password string) service.RegisterInput {
	return service.RegisterInput{Name: name, Email: email, Password: password}
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	u, err := s.Services.Auth.Me(r.Context(), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	ids, err := s.Services.Auth.Identities(r.Context(), p)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
		respond.Error(w, r, err)
		return
	}
	// The linked identities (Google, GitHub, SSO) come with the profile.
	respond.JSON(w, http.StatusOK, struct {
		userJSON
		Identities []identityJSON `json:"identities"`
	}{s.userJSON(u), identitiesJSON(ids)})
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Name *string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := s.Services.Auth.UpdateMe(r.Context(), middleware.Actor(r, p), p, in.Name)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.userJSON(u))
}

// handleSetAvatar takes the raw image as the body; its type is sniffed from
// the bytes, whatever the Content-Type says.
func (s *Server) handleSetAvatar(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if r.ContentLength > service.MaxAvatarBytes {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ETOOLARGE, "The avatar is larger than 2 MiB."))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxAvatarBytes))
	if err != nil {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ETOOLARGE, "The avatar is larger than 2 MiB."))
		return
	}
	u, err := s.Services.Auth.SetAvatar(r.Context(), middleware.Actor(r, p), p, data)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Server) handleDeleteAvatar(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	u, err := s.Services.Auth.DeleteAvatar(r.Context(), middleware.Actor(r, p), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	ct, data, err := s.Services.Auth.Avatar(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
