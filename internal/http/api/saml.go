package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

func (s *Server) registerSAML() {
	s.handle("POST /v1/auth/sso/saml/acs", s.handleSAMLACS)
	s.handle("GET /v1/auth/sso/saml/metadata/{cid}", s.handleSAMLMetadata)
}

// handleSAMLACS takes the IdP's HTTP-POST response. The state cookie comes
// with this cross-site POST because SSO flows set it SameSite=None (on https).
func (s *Server) handleSAMLACS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		respond.Error(w, r, gatehouse.Invalid("The SAML response could not be read."))
		return
	}
	mode := s.Services.Social.FlowMode(r.Context(), r.PostForm.Get("RelayState"))
	res, err := s.Services.SSO.FinishSAML(r.Context(), middleware.Actor(r, nil), r, flowCookieValue(r))
	s.finishSignIn(w, r, mode, res, err)
}

func (s *Server) handleSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	meta, err := s.Services.SSO.SAMLMetadata(r.Context(), r.PathValue("cid"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(meta)
}
