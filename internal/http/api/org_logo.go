package api

import (
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The organization's uploaded logo, handled like the users' avatars.
func (s *Server) registerOrgLogo() {
	s.handle("PUT /v1/organizations/{id}/logo", s.orgScoped(s.handleSetOrgLogo))
	s.handle("DELETE /v1/organizations/{id}/logo", s.orgScoped(s.handleDeleteOrgLogo))
	s.handle("GET /v1/organizations/{id}/logo", s.handleOrgLogo)
}

func (s *Server) handleSetOrgLogo(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	tooLarge := gatehouse.Errorf(gatehouse.ETOOLARGE, "The logo is larger than 2 MiB.")
	if r.ContentLength > service.MaxAvatarBytes {
		respond.Error(w, r, tooLarge)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxAvatarBytes))
	if err != nil {
		respond.Error(w, r, tooLarge)
		return
	}
	v, err := s.Services.Orgs.SetLogo(r.Context(), c, data)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"logo_image_url": s.BaseURL + "/v1/organizations/" + c.OrgID + "/logo?v=" + itoa(v)})
}

func (s *Server) handleDeleteOrgLogo(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Orgs.DeleteLogo(r.Context(), c); err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleOrgLogo(w http.ResponseWriter, r *http.Request) {
	ct, data, err := s.Services.Orgs.Logo(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
