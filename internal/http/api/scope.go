package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// OrgHeader selects the organization a request acts in.
const OrgHeader = "X-Organization-Id"

// scoped wraps a handler acting in one organization: the X-Organization-Id
// header, else the API key's organization, else the user's current one.
// Rights are loaded once per request; not a member → 404.
func (s *Server) scoped(h func(w http.ResponseWriter, r *http.Request, c *service.Caller)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
		c, err := s.Services.Access.Caller(r.Context(), middleware.Actor(r, p), p, strings.TrimSpace(header(r, OrgHeader)))
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		h(w, r, c)
	})
}

// orgScoped is scoped with the organization taken from the path's {id}.
func (s *Server) orgScoped(h func(w http.ResponseWriter, r *http.Request, c *service.Caller)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
		c, err := s.Services.Access.Caller(r.Context(), middleware.Actor(r, p), p, r.PathValue("id"))
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		h(w, r, c)
	})
}
