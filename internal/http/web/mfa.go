package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The second step of a dashboard sign-in: an account with a second factor
// gets a code form carrying the sign-in's mfa_token, and, with passkeys, a
// "Use a passkey" button whose request options ride in the form too (they
// hold only the public challenge).

// loginMFAPage shows the second-factor form for a sign-in that needs it.
func (h *Handler) loginMFAPage(w http.ResponseWriter, r *http.Request, ch *service.MFAChallenge, next string, status int) {
	v := url.Values{"mfa_token": {ch.Token}, "next": {safeNext(next)}}
	for _, m := range ch.Methods {
		switch m {
		case "totp":
			v.Set("has_totp", "1")
		case "passkey":
			v.Set("has_passkey", "1")
		}
	}
	if ch.PasskeyOptions != nil {
		if raw, err := json.Marshal(ch.PasskeyOptions); err == nil {
			v.Set("passkey_options", string(raw))
		}
	}
	h.renderStatus(w, r, status, "login-mfa", h.authPage("Two-factor sign-in", newForm(v)))
}

// SecondFactor asks for the second factor of a Google or GitHub sign-in
// (the API's callback calls it).
func (h *Handler) SecondFactor(w http.ResponseWriter, r *http.Request, ch *service.MFAChallenge, next string) {
	securityHeaders(h.secure, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.loginMFAPage(w, r, ch, next, http.StatusOK)
	})).ServeHTTP(w, r)
}

func (h *Handler) loginMFA(w http.ResponseWriter, r *http.Request) {
	token, next := r.PostFormValue("mfa_token"), r.PostFormValue("next")
	var t *gatehouse.Tokens
	var err error
	if cred := r.PostFormValue("credential"); cred != "" && r.PostFormValue("code") == "" {
		t, _, err = h.svc.Auth.VerifyMFAPasskey(r.Context(), middleware.Actor(r, nil), token, json.RawMessage(cred))
	} else {
		t, _, err = h.svc.Auth.VerifyMFA(r.Context(), middleware.Actor(r, nil), token, r.PostFormValue("code"))
	}
	if err != nil {
		e := gatehouse.AsError(err)
		if e.Reason == "invalid_mfa_token" {
			h.setFlash(w, "error", e.Message)
			redirect(w, r, "/login")
			return
		}
		f := newForm(formValues(r, "mfa_token", "next", "has_totp", "has_passkey", "passkey_options"))
		f.Values.Set("next", safeNext(next))
		status := f.apply(err)
		if r.PostFormValue("credential") != "" {
			// The passkey's challenge was spent: a code, or a new sign-in.
			f.Error = e.Message
			f.Values.Del("passkey_options")
		}
		h.renderStatus(w, r, status, "login-mfa", h.authPage("Two-factor sign-in", f))
		return
	}
	h.setSession(w, t)
	redirect(w, r, h.after(next))
}

// loginPasskey signs in with a passkey alone (the sign-in page's button:
// the script fills the credential and posts the form).
func (h *Handler) loginPasskey(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "next"))
	t, _, err := h.svc.Auth.PasskeyLogin(r.Context(), middleware.Actor(r, nil), json.RawMessage(r.PostFormValue("credential")))
	if err != nil {
		status := f.apply(err)
		f.Error = gatehouse.AsError(err).Message
		h.renderStatus(w, r, status, "login", h.authPage("Sign in", f))
		return
	}
	h.setSession(w, t)
	redirect(w, r, h.after(f.Get("next")))
}

// signInMethod says in words how a session was opened, from its amr.
func signInMethod(amr []string) string {
	names := map[string]string{"pwd": "password", "otp": "authenticator code", "hwk": "passkey", "swk": "synced passkey",
		"fed": "single sign-on", service.AMRSocial: "Google or GitHub"}
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
