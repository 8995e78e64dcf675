package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Sign-in through Google, GitHub and organizations' SSO on the dashboard:
// the buttons link to the API's redirect endpoints, which come back with
// the session cookies (external.go).

// ssoContinue shows where an organization's single sign-on starts: a link,
// not a redirect, because the page's CSP (form-action 'self') stops a form
// submission from ending at another site.
func (h *Handler) ssoContinue(w http.ResponseWriter, r *http.Request, status int, extra map[string]any, email, next string) {
	id, _ := extra["connection_id"].(string)
	name, _ := extra["connection_name"].(string)
	q := url.Values{"connection_id": {id}, "redirect_to": {next}}
	if email != "" {
		q.Set("email", email)
	}
	h.renderStatus(w, r, status, "message", &page{Title: "Sign in with " + name, Layout: "auth", Data: messageData{
		Heading: "Sign in with " + name,
		Text:    "Your organization signs in " + email + " through its single sign-on. Continue there; you will come back signed in.",
		Link:    "/v1/auth/sso?" + q.Encode(), LinkText: "Continue with " + name,
	}})
}

// ssoPage finds the connection for a work email (the "Sign in with SSO"
// form of the sign-in page).
func (h *Handler) ssoPage(w http.ResponseWriter, r *http.Request) {
	email, next := strings.TrimSpace(r.URL.Query().Get("email")), h.after(r.URL.Query().Get("next"))
	c, err := h.svc.SSO.ResolveConnection(r.Context(), email, "")
	if err != nil {
		e := gatehouse.AsError(err)
		if e.Code == gatehouse.EINTERNAL {
			h.failPage(w, r, nil, err)
			return
		}
		h.renderStatus(w, r, statusOf(e.Code), "message", &page{Title: "No single sign-on", Layout: "auth", Data: messageData{
			Heading: "No single sign-on for this address", Tone: "warn",
			Text: "No organization signs in " + email + " through single sign-on. Sign in with your password, Google or GitHub instead.",
			Link: "/login?next=" + url.QueryEscape(next), LinkText: "Back to sign in",
		}})
		return
	}
	h.ssoContinue(w, r, http.StatusOK, map[string]any{"connection_id": c.ID, "connection_name": c.Name}, email, next)
}

// ssoAccept fills in how an `authentication: sso` invitation is accepted.
func (h *Handler) ssoAccept(r *http.Request, p *gatehouse.Principal, d *acceptData) {
	c, err := h.svc.Invitations.SSOConnectionFor(r.Context(), d.Preview.Invitation)
	if err != nil || c == nil {
		if err != nil {
			h.cfg.Log.WarnContext(r.Context(), "web: sso connection of invitation", "err", err)
		}
		return
	}
	d.SSO = c
	if p != nil && p.SessionID != "" {
		orgID, err := h.svc.SSO.SessionOrg(r.Context(), p.SessionID)
		d.SSOSession = err == nil && orgID == d.Preview.Invitation.OrgID
	}
}

// socialButtons is what the "social" template draws.
type socialButtons struct {
	Providers []string
	Next      string
}

func socialFor(providers []string, next string) socialButtons {
	return socialButtons{Providers: providers, Next: safeNext(next)}
}
