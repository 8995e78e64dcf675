package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// header is r.Header.Get(key) for a key written in canonical form (the
// hot path's look-ups, without canonicalising the key at every request:
// issue 17). TestHeaderKeysCanonical checks the keys it is given.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	h := header(r, "Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authed wraps a handler that needs a principal; without valid credentials
// it answers 401.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			respond.Error(w, r, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "unauthenticated",
				Message: "Sign in first: send Authorization: Bearer <access token>."})
			return
		}
		p, err := s.Services.Auth.Authenticate(r.Context(), token)
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
			}
			respond.Error(w, r, err)
			return
		}
		if s.idempotent(w, r, p, func(w http.ResponseWriter, r *http.Request) { h(w, r, p) }) { // idempotency.go
			return
		}
		h(w, r, p)
	}
}
