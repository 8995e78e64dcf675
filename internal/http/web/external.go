package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// The API's sign-in callbacks (Google, GitHub, organization SSO) finish a
// dashboard flow through these: session cookies then the redirect, or a
// page saying what went wrong.

// SignedIn stores a sign-in's tokens in the session cookies and sends the
// browser on to next (a local path).
func (h *Handler) SignedIn(w http.ResponseWriter, r *http.Request, t *gatehouse.Tokens, next string) {
	h.setSession(w, t)
	if next = safeNext(next); next == "" || next == "/" {
		next = "/dashboard"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusFound)
}

// SignInFailed shows why a sign-in with an outside provider did not work.
func (h *Handler) SignInFailed(w http.ResponseWriter, r *http.Request, err error) {
	securityHeaders(h.secure, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := gatehouse.AsError(err)
		status := statusOf(e.Code)
		msg := e.Message
		if status >= 500 {
			h.cfg.Log.ErrorContext(r.Context(), "web: sign-in failed", "err", err)
			msg = "Something went wrong on our side. Try again in a moment."
		}
		h.renderStatus(w, r, status, "message", &page{Title: "Sign-in failed", Layout: "auth", Data: messageData{
			Heading: "You are not signed in", Text: msg, Link: "/login", LinkText: "Back to sign in",
		}})
	})).ServeHTTP(w, r)
}
