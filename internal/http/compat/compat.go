// Package compat serves other vendors' invitation APIs over Gatehouse's own
// invitations, so a client written against either works unchanged with a
// Gatehouse API key: Vidbeo's /v2/invites and Snyk's REST org invites.
// There is no second invitation model: every call goes to the same
// services as the native API.
package compat

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Register adds both dialects' routes to mux.
// baseURL is the public URL (GATEHOUSE_BASE_URL) that Vidbeo's absolute
// links start with.
func Register(mux *http.ServeMux, svc *service.Services, log *slog.Logger, baseURL string) {
	v := &vidbeo{svc: svc, log: log, baseURL: strings.TrimRight(baseURL, "/")}
	v.register(mux)
	s := &snyk{svc: svc, log: log}
	s.register(mux)
}

// credential returns the token of "Bearer <t>" or, for Snyk, "token <t>".
func credential(r *http.Request, allowTokenScheme bool) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return ""
	}
	if strings.EqualFold(scheme, "Bearer") || (allowTokenScheme && strings.EqualFold(scheme, "token")) {
		return strings.TrimSpace(token)
	}
	return ""
}

// caller authenticates and resolves the organization (the key's, or for a
// user the X-Organization-Id header or current organization).
func caller(r *http.Request, svc *service.Services, token, orgID string) (*service.Caller, error) {
	if token == "" {
		return nil, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "Authentication required: send an API key in the Authorization header."}
	}
	p, err := svc.Auth.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if orgID == "" {
		orgID = strings.TrimSpace(r.Header.Get("X-Organization-Id"))
	}
	return svc.Access.Caller(r.Context(), middleware.Actor(r, p), p, orgID)
}

// roleName is the role an invitation shows: its role's name, or "custom"
// for one that carries grants only.
func roleName(v *service.InvitationView) string {
	if v.Role != nil {
		return v.Role.Name
	}
	return "custom"
}
