package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
)

// The second step of a dashboard sign-in: an account with a second factor
// gets a code form carrying the sign-in's mfa_token.

// loginMFAPage shows the code form for a password sign-in that needs it.
func (h *Handler) loginMFAPage(w http.ResponseWriter, r *http.Request, token, next string, status int) {
	f := newForm(url.Values{"mfa_token": {token}, "next": {safeNext(next)}})
	h.renderStatus(w, r, status, "login-mfa", h.authPage("Two-factor sign-in", f))
}

func (h *Handler) loginMFA(w http.ResponseWriter, r *http.Request) {
	token, next := r.PostFormValue("mfa_token"), r.PostFormValue("next")
	t, _, err := h.svc.Auth.VerifyMFA(r.Context(), middleware.Actor(r, nil), token, r.PostFormValue("code"))
	if err != nil {
		e := gatehouse.AsError(err)
		if e.Reason == "invalid_mfa_token" {
			h.setFlash(w, "error", e.Message)
			redirect(w, r, "/login")
			return
		}
		f := newForm(url.Values{"mfa_token": {token}, "next": {safeNext(next)}})
		status := f.apply(err)
		h.renderStatus(w, r, status, "login-mfa", h.authPage("Two-factor sign-in", f))
		return
	}
	h.setSession(w, t)
	redirect(w, r, h.after(next))
}

// signInMethod says in words how a session was opened, from its amr.
func signInMethod(amr []string) string {
	names := map[string]string{"pwd": "password", "otp": "authenticator code", "hwk": "security key", "swk": "passkey", "fed": "single sign-on"}
	var parts []string
	for _, m := range amr {
		if n, ok := names[m]; ok {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "password"
	}
	return strings.Join(parts, " and ")
}
