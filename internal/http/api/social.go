package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// flowCookie binds a sign-in flow's state to the browser that started it.
const flowCookie = "gh_auth_flow"

// webSignIn is what the dashboard offers the sign-in callbacks.
type webSignIn interface {
	SignedIn(w http.ResponseWriter, r *http.Request, t *gatehouse.Tokens, next string)
	SignInFailed(w http.ResponseWriter, r *http.Request, err error)
	// SecondFactor asks for the second factor of a sign-in that needs it.
	SecondFactor(w http.ResponseWriter, r *http.Request, ch *service.MFAChallenge, next string)
}

func (s *Server) registerSocial() {
	s.handle("GET /v1/auth/oauth/{provider}", s.handleOAuthStart)
	s.handle("GET /v1/auth/oauth/{provider}/callback", s.handleOAuthCallback)
	s.handle("GET /v1/me/identities", s.authed(s.handleListIdentities))
	s.handle("DELETE /v1/me/identities/{id}", s.authed(s.handleUnlinkIdentity))
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.BaseURL, "https://") }

// setFlowCookie stores the state for the callback paths only, for FlowTTL.
// It is SameSite=Lax, except over https, where SameSite=None lets it come
// with a SAML IdP's cross-site POST to the ACS (the state it carries is
// compared with the RelayState, so the flow stays bound to this browser).
func (s *Server) setFlowCookie(w http.ResponseWriter, state string) {
	c := &http.Cookie{Name: flowCookie, Value: state, Path: "/v1/auth/", HttpOnly: true, Secure: s.secureCookies(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(service.FlowTTL.Seconds())}
	if s.secureCookies() {
		c.SameSite = http.SameSiteNoneMode
	}
	if state == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func flowCookieValue(r *http.Request) string {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// startRedirect answers a flow start: the state cookie, then 302 to the provider.
func (s *Server) startRedirect(w http.ResponseWriter, r *http.Request, url, state string) {
	s.setFlowCookie(w, state)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusFound)
}

func (s *Server) handleOAuthStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	url, state, err := s.Services.Social.Start(r.Context(), r.PathValue("provider"), q.Get("redirect_to"), q.Get("mode"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	s.startRedirect(w, r, url, state)
}

func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	if !s.Services.Social.Enabled(provider) {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such sign-in provider is configured."))
		return
	}
	q := r.URL.Query()
	cb := service.Callback{State: q.Get("state"), CookieState: flowCookieValue(r), Code: q.Get("code"), Error: q.Get("error")}
	mode := s.Services.Social.FlowMode(r.Context(), cb.State)
	res, err := s.Services.Social.Finish(r.Context(), middleware.Actor(r, nil), provider, cb)
	s.finishSignIn(w, r, mode, res, err)
}

// finishSignIn answers a callback: for the dashboard, cookies and a redirect
// (or an error page); for an API client, the login body (or a problem).
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, mode string, res *service.SignIn, err error) {
	s.setFlowCookie(w, "")
	w.Header().Set("Cache-Control", "no-store")
	web, hasWeb := s.Web.(webSignIn)
	if res != nil {
		mode = res.Mode
	}
	if mode == "" && wantsHTML(r) {
		mode = service.ModeWeb
	}
	if err != nil {
		if e := gatehouse.AsError(err); e.Code != gatehouse.EINTERNAL && e.Cause != nil {
			s.Log.InfoContext(r.Context(), "sign-in refused", "reason", e.Reason, "err", e.Cause)
		}
		if mode == service.ModeWeb && hasWeb {
			web.SignInFailed(w, r, err)
			return
		}
		respond.Error(w, r, err)
		return
	}
	if res.MFA != nil { // Google or GitHub, then the account's second factor
		if mode == service.ModeWeb && hasWeb {
			web.SecondFactor(w, r, res.MFA, res.RedirectTo)
			return
		}
		respond.JSON(w, http.StatusOK, mfaRequiredJSON(res.MFA))
		return
	}
	if mode == service.ModeWeb && hasWeb {
		web.SignedIn(w, r, res.Tokens, res.RedirectTo)
		return
	}
	respond.JSON(w, http.StatusOK, s.tokensJSON(res.Tokens, res.User))
}

type identityJSON struct {
	ID             string  `json:"id"`
	Provider       string  `json:"provider"`
	Email          string  `json:"email"`
	ConnectionID   *string `json:"connection_id"`
	ConnectionName *string `json:"connection_name"`
	CreatedAt      string  `json:"created_at"`
	LastUsedAt     string  `json:"last_used_at"`
}

func identitiesJSON(ids []*gatehouse.Identity) []identityJSON {
	out := make([]identityJSON, 0, len(ids))
	for _, i := range ids {
		j := identityJSON{ID: i.ID, Provider: i.Provider, Email: i.Email,
			CreatedAt: i.CreatedAt.Format("2006-01-02T15:04:05.999999Z07:00"), LastUsedAt: i.LastUsedAt.Format("2006-01-02T15:04:05.999999Z07:00")}
		if cid, ok := strings.CutPrefix(i.Provider, "sso:"); ok {
			j.Provider, j.ConnectionID = "sso", &cid
			name := i.ConnectionName
			j.ConnectionName = &name
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) handleListIdentities(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	ids, err := s.Services.Auth.Identities(r.Context(), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": identitiesJSON(ids)})
}

func (s *Server) handleUnlinkIdentity(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if err := s.Services.Auth.Unlink(r.Context(), middleware.Actor(r, p), p, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}
