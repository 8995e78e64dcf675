package web

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Cookie names. With https the __Host- prefix pins them to this host, path
// "/" and Secure.
const (
	accessCookie  = "gh_access"
	refreshCookie = "gh_refresh"
	flashCookie   = "gh_flash"
)

func (h *Handler) cookieName(name string) string {
	if h.secure {
		return "__Host-" + name
	}
	return name
}

// setCookie writes an HttpOnly, SameSite=Lax cookie for path "/". maxAge
// is relative (Max-Age), so a browser's clock never matters.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: h.cookieName(name), Value: value, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	} else {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (h *Handler) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(h.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSession stores a sign-in's tokens. Both cookies live as long as the
// refresh token: an expired access token is renewed transparently.
func (h *Handler) setSession(w http.ResponseWriter, t *gatehouse.Tokens) {
	h.setCookie(w, accessCookie, t.AccessToken, service.RefreshTokenTTL)
	h.setCookie(w, refreshCookie, t.RefreshToken, service.RefreshTokenTTL)
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	h.setCookie(w, accessCookie, "", 0)
	h.setCookie(w, refreshCookie, "", 0)
}

// principal authenticates the browser from its cookies, refreshing the
// access token when it has expired. ok is false when nobody is signed in
// (stale cookies are then cleared).
func (h *Handler) principal(w http.ResponseWriter, r *http.Request) (*gatehouse.Principal, bool) {
	access, refresh := h.cookie(r, accessCookie), h.cookie(r, refreshCookie)
	if access == "" && refresh == "" {
		return nil, false
	}
	// Only session tokens are accepted from cookies, never API keys.
	if strings.HasPrefix(access, service.AccessTokenPrefix) {
		p, err := h.svc.Auth.Authenticate(r.Context(), access)
		if err == nil && p.Kind == gatehouse.PrincipalUser {
			return p, true
		}
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			h.cfg.Log.WarnContext(r.Context(), "web: authenticate", "err", err)
			return nil, false
		}
	}
	if !strings.HasPrefix(refresh, service.RefreshTokenPrefix) {
		h.clearSession(w)
		return nil, false
	}
	t, err := h.refresh.do(r.Context(), refresh, func(ctx context.Context) (*gatehouse.Tokens, error) {
		t, _, err := h.svc.Auth.Refresh(ctx, middleware.Actor(r, nil), refresh)
		return t, err
	})
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			h.cfg.Log.WarnContext(r.Context(), "web: refresh", "err", err)
		}
		h.clearSession(w)
		return nil, false
	}
	h.setSession(w, t)
	p, err := h.svc.Auth.Authenticate(r.Context(), t.AccessToken)
	if err != nil {
		h.clearSession(w)
		return nil, false
	}
	return p, true
}

// refresher makes concurrent refreshes with one refresh token (two tabs,
// a double click) share one rotation: a second rotation with the same token
// would look like token theft and end the session. A result is reused for
// a few seconds, in memory only.
type refresher struct {
	mu      sync.Mutex
	pending map[string]*refreshCall
}

type refreshCall struct {
	done   chan struct{}
	tokens *gatehouse.Tokens
	err    error
	at     time.Time
}

const refreshReuse = 10 * time.Second

func newRefresher() *refresher { return &refresher{pending: map[string]*refreshCall{}} }

func (f *refresher) do(ctx context.Context, token string, fn func(context.Context) (*gatehouse.Tokens, error)) (*gatehouse.Tokens, error) {
	key := secret.HashToken(token)
	now := time.Now()
	f.mu.Lock()
	for k, c := range f.pending {
		if !c.at.IsZero() && now.Sub(c.at) > refreshReuse {
			delete(f.pending, k)
		}
	}
	if c, ok := f.pending[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.tokens, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &refreshCall{done: make(chan struct{})}
	f.pending[key] = c
	f.mu.Unlock()
	c.tokens, c.err = fn(context.WithoutCancel(ctx))
	f.mu.Lock()
	c.at = time.Now()
	f.mu.Unlock()
	close(c.done)
	return c.tokens, c.err
}

// reqCtx is a signed-in request: the principal, the user and, inside an
// organization, the caller with its rights.
type reqCtx struct {
	h      *Handler
	w      http.ResponseWriter
	r      *http.Request
	P      *gatehouse.Principal
	User   *gatehouse.User
	Caller *service.Caller
	Org    *gatehouse.Organization
	Orgs   []gatehouse.UserOrg
}

// Actor is the request's actor for audit events.
func (rc *reqCtx) Actor() gatehouse.Actor { return middleware.Actor(rc.r, rc.P) }

// Can is what the caller may open in the organization.
func (rc *reqCtx) Can() caps {
	if rc.Caller == nil {
		return caps{}
	}
	return capsOf(rc.Caller)
}

// page starts a page of the signed-in layout.
func (rc *reqCtx) page(title, nav string) *page {
	p := &page{Title: title, Nav: nav, User: rc.User, Org: rc.Org, Orgs: rc.Orgs}
	if rc.Caller != nil {
		p.Can = capsOf(rc.Caller)
	}
	return p
}

// authed wraps a page that needs a signed-in user; anyone else goes to
// the sign-in page (and comes back after).
func (h *Handler) authed(fn func(rc *reqCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.principal(w, r)
		if !ok {
			next := ""
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			h.toLogin(w, r, next)
			return
		}
		rc := &reqCtx{h: h, w: w, r: r, P: p}
		var err error
		if rc.User, err = h.svc.Auth.Me(r.Context(), p); err != nil {
			h.failPage(w, r, nil, err)
			return
		}
		orgs, err := h.svc.Orgs.ListMine(r.Context(), p, gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
		if err != nil {
			h.failPage(w, r, nil, err)
			return
		}
		rc.Orgs = orgs.Items
		fn(rc)
	}
}

func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request, next string) {
	to := "/login"
	if next = safeNext(next); next != "" && next != "/" {
		to += "?next=" + url.QueryEscape(next)
	}
	redirect(w, r, to)
}

// inOrg wraps a page that acts in an organization: the one a form names
// (so a form rendered for one organization never acts in another after a
// switch in another tab), else the user's current one. Without any, the
// user is asked to create one.
func (h *Handler) inOrg(fn func(rc *reqCtx)) http.HandlerFunc {
	return h.authed(func(rc *reqCtx) {
		r := rc.r
		orgID := ""
		if r.Method == http.MethodPost {
			orgID = strings.TrimSpace(r.PostFormValue("org"))
		}
		if orgID == "" {
			orgID = rc.User.CurrentOrgID
		}
		// The session's organization is gone (removed, or deleted): say so,
		// and move the session to another organization of the user's.
		gone := r.Method == http.MethodGet && rc.P.CurrentOrgID != "" && rc.User.CurrentOrgID == ""
		if orgID == "" && len(rc.Orgs) > 0 {
			orgID = rc.Orgs[0].ID
			if gone {
				if _, err := h.svc.Orgs.Switch(r.Context(), rc.Actor(), rc.P, orgID); err == nil {
					h.setFlash(rc.w, "error", "You are no longer a member of the organization you were working in (you were removed, or it was deleted). You are now in "+rc.Orgs[0].Name+".")
					redirect(rc.w, r, r.URL.RequestURI())
					return
				}
			}
		}
		if orgID == "" {
			if r.Method == http.MethodGet {
				redirect(rc.w, r, "/orgs/new")
				return
			}
			h.failPage(rc.w, r, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Create an organization first."))
			return
		}
		c, err := h.svc.Access.Caller(r.Context(), rc.Actor(), rc.P, orgID)
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && r.Method == http.MethodGet && orgID == rc.User.CurrentOrgID && len(rc.Orgs) > 0 {
				// The current organization is gone or left: fall back to another.
				if c, err = h.svc.Access.Caller(r.Context(), rc.Actor(), rc.P, rc.Orgs[0].ID); err != nil {
					h.failPage(rc.w, r, nil, err)
					return
				}
			} else if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && r.Method == http.MethodGet && len(rc.Orgs) == 0 {
				redirect(rc.w, r, "/orgs/new")
				return
			} else {
				h.failPage(rc.w, r, nil, err)
				return
			}
		}
		rc.Caller = c
		if r.Method == http.MethodPost && c.OrgID != rc.User.CurrentOrgID {
			// The form came from a page of another organization than the
			// current one (another tab switched): what follows the post
			// stays in the form's organization.
			if _, err := h.svc.Orgs.Switch(r.Context(), rc.Actor(), rc.P, c.OrgID); err != nil {
				h.cfg.Log.WarnContext(r.Context(), "web: switch to the form's organization", "err", err)
			}
		}
		if rc.Org, err = h.svc.Orgs.Get(r.Context(), c); err != nil {
			h.failPage(rc.w, r, nil, err)
			return
		}
		fn(rc)
	})
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind string // "success" or "error"
	Text string
}

func (h *Handler) setFlash(w http.ResponseWriter, kind, text string) {
	if len(text) > 600 {
		text = text[:600]
	}
	h.setCookie(w, flashCookie, kind+":"+url.QueryEscape(text), time.Minute)
}

// takeFlash reads and clears the flash cookie.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	v := h.cookie(r, flashCookie)
	if v == "" {
		return nil
	}
	h.setCookie(w, flashCookie, "", 0)
	kind, text, _ := strings.Cut(v, ":")
	text, err := url.QueryUnescape(text)
	if err != nil || text == "" {
		return nil
	}
	if kind != "success" && kind != "error" {
		kind = "success"
	}
	return &flash{Kind: kind, Text: text}
}

// listPage reads the page of a list that the request asks for: limit items
// after its "cursor" parameter. A cursor that cannot be read shows the error
// page and ok is false.
func (rc *reqCtx) listPage(limit int) (page gatehouse.PageRequest, ok bool) {
	page.Limit = limit
	if cur := rc.r.URL.Query().Get("cursor"); cur != "" {
		after, err := gatehouse.DecodeCursor(cur)
		if err != nil {
			rc.h.failPage(rc.w, rc.r, rc, err)
			return page, false
		}
		page.After = after
	}
	return page, true
}

// done flashes a success and redirects.
func (rc *reqCtx) done(to, text string) {
	rc.h.setFlash(rc.w, "success", text)
	redirect(rc.w, rc.r, to)
}

// fail flashes an error and redirects.
func (rc *reqCtx) fail(to string, err error) {
	e := gatehouse.AsError(err)
	msg := e.Message
	if statusOf(e.Code) >= 500 {
		rc.h.cfg.Log.ErrorContext(rc.r.Context(), "web: request failed", "err", err)
		msg = "Something went wrong on our side. Try again in a moment."
	}
	rc.h.setFlash(rc.w, "error", msg)
	redirect(rc.w, rc.r, to)
}
