// Package web is Gatehouse's browser dashboard: server-rendered pages
// (html/template) over the same services as the JSON API, with the guide's
// "User Management" flow — sign up, organizations, projects and folders,
// members, invitations, API keys, the audit log and sessions.
//
// Everything is embedded: templates under templates/, CSS and a little
// plain JavaScript under static/ (no inline scripts or styles, so the
// Content-Security-Policy allows 'self' only). A signed-in browser holds the
// API's own opaque access and refresh tokens in HttpOnly cookies; every
// state-changing request must pass http.CrossOriginProtection.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is sent with every page: scripts, styles and
// images from this origin only, no framing, forms posting here only.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// Config is what the dashboard needs.
type Config struct {
	Services *service.Services
	// BaseURL is the public URL; https makes the cookies Secure.
	BaseURL string
	// DevMailbox links the development mailbox (/dev/mail) where mail is read.
	DevMailbox bool
	Log        *slog.Logger
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
}

// Handler serves the dashboard.
type Handler struct {
	cfg      Config
	svc      *service.Services
	secure   bool
	pages    *template.Template // every page, and per page a copy of each layout (render.go)
	static   http.Handler
	files    fs.FS
	csrf     *http.CrossOriginProtection
	refresh  *refresher
	patterns []string
}

// New builds the dashboard. It panics if the embedded templates do not
// parse, which a test catches.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, svc: cfg.Services, secure: strings.HasPrefix(cfg.BaseURL, "https://")}
	h.pages = parsedPages()
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	h.files = sub
	h.csrf = http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		_ = h.csrf.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	h.csrf.SetDenyHandler(http.HandlerFunc(h.denyCrossOrigin))
	h.refresh = newRefresher()
	return h
}

// Patterns lists the patterns Register adds (for tests and docs).
func (h *Handler) Patterns() []string { return h.patterns }

// Register adds every page to mux. Paths that carry a secret (the
// invitation link) use wildcards, so access logs show only the pattern.
func (h *Handler) Register(mux *http.ServeMux) {
	h.handle(mux, "GET /static/", h.serveStatic)

	h.handle(mux, "GET /login", h.loginPage)
	h.handle(mux, "GET /login/sso", h.ssoPage)
	h.handle(mux, "POST /login", h.login)
	h.handle(mux, "POST /login/mfa", h.loginMFA)
	h.handle(mux, "POST /login/passkey", h.loginPasskey)
	h.handle(mux, "GET /register", h.registerPage)
	h.handle(mux, "POST /register", h.register)
	h.handle(mux, "GET /verify", h.verifyPage)
	h.handle(mux, "POST /verify", h.verify)
	h.handle(mux, "POST /verify/resend", h.resendCode)
	h.handle(mux, "GET /forgot-password", h.forgotPage)
	h.handle(mux, "POST /forgot-password", h.forgot)
	h.handle(mux, "POST /forgot-password/reset", h.resetPassword)
	h.handle(mux, "POST /logout", h.logout)

	h.handle(mux, "GET /orgs/new", h.authed(h.newOrgPage))
	h.handle(mux, "POST /orgs", h.authed(h.createOrg))
	h.handle(mux, "POST /orgs/switch", h.authed(h.switchOrg))
	h.handle(mux, "POST /my-invitations/{id}/accept", h.authed(h.acceptMine))
	h.handle(mux, "POST /my-invitations/{id}/decline", h.authed(h.declineMine))

	h.handle(mux, "GET /dashboard", h.inOrg(h.dashboard))
	h.handle(mux, "POST /projects", h.inOrg(h.createProject))
	h.handle(mux, "GET /projects/{id}", h.inOrg(h.projectPage))
	h.handle(mux, "POST /projects/{id}/folders", h.inOrg(h.createFolder))
	h.registerFolders(mux)

	h.handle(mux, "GET /members", h.inOrg(h.membersPage))
	h.handle(mux, "GET /members/invite", h.inOrg(h.invitePage))
	h.handle(mux, "POST /members/invite", h.inOrg(h.invite))
	h.handle(mux, "GET /members/invitations", h.inOrg(h.invitationsPage))
	h.handle(mux, "POST /members/invitations/{id}/resend", h.inOrg(h.resendInvitation))
	h.handle(mux, "POST /members/invitations/{id}/cancel", h.inOrg(h.cancelInvitation))
	h.handle(mux, "GET /members/{user}/edit", h.inOrg(h.editMemberPage))
	h.handle(mux, "POST /members/{user}/edit", h.inOrg(h.editMember))
	h.handle(mux, "GET /members/{user}/remove", h.inOrg(h.removeMemberPage))
	h.handle(mux, "POST /members/{user}/remove", h.inOrg(h.removeMember))
	h.handle(mux, "GET /members/{user}/check", h.inOrg(h.checkAccessPage))
	h.registerRoles(mux)

	h.handle(mux, "GET /invitations/{token}", h.acceptPage)
	h.handle(mux, "POST /invitations/{token}/accept", h.acceptInvitation)
	h.handle(mux, "POST /invitations/{token}/signin", h.acceptSignIn)
	h.handle(mux, "POST /invitations/{token}/register", h.acceptRegister)
	h.handle(mux, "POST /invitations/{token}/decline", h.declineInvitation)
	h.handle(mux, "POST /invitations/{token}/signout", h.acceptSignOut)

	h.handle(mux, "GET /api-keys", h.inOrg(h.keysPage))
	h.handle(mux, "POST /api-keys", h.inOrg(h.createKey))
	h.handle(mux, "POST /api-keys/{id}/revoke", h.inOrg(h.revokeKey))
	h.registerWebhooks(mux)
	h.registerAudit(mux)
	h.registerInviteLinks(mux)    // invitelinks.go
	h.registerEmailTemplates(mux) // emailtemplates.go
	h.registerSCIM(mux)
	h.registerSSOConnections(mux) // ssoconn.go
	h.handle(mux, "GET /access", h.inOrg(h.accessPage))
	h.handle(mux, "GET /access/review.csv", h.inOrg(h.accessReview))
	h.handle(mux, "GET /profile", h.authed(h.profilePage))
	h.handle(mux, "POST /profile/name", h.authed(h.updateName))
	h.handle(mux, "POST /profile/avatar", withUpload(service.MaxAvatarBytes, h.authed(h.uploadAvatar)))
	h.handle(mux, "POST /profile/avatar/remove", h.authed(h.removeAvatar))
	h.handle(mux, "POST /profile/password", h.authed(h.changePassword))
	h.handle(mux, "POST /profile/identities/{id}/unlink", h.authed(h.unlinkIdentity))
	h.handle(mux, "GET /avatars/{id}", h.serveAvatar)
	h.registerSettings(mux)
	h.handle(mux, "GET /sessions", h.authed(h.sessionsPage))
	h.handle(mux, "POST /sessions/{id}/end", h.authed(h.endSession))
	h.registerSecurity(mux)
}

// handle registers one page behind the security headers and, for
// state-changing methods, cross-origin protection.
func (h *Handler) handle(mux *http.ServeMux, pattern string, fn http.HandlerFunc) {
	h.patterns = append(h.patterns, pattern)
	var next http.Handler = fn
	if !strings.HasPrefix(pattern, "GET ") {
		next = h.csrf.Handler(next)
	}
	mux.Handle(pattern, securityHeaders(h.secure, next))
}

// securityHeaders sets the headers every dashboard response carries.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		// The invitation token is in the page's URL: never send it on.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	// Only files that exist are served; anything else (a folder, "..",
	// "%2e%2e", a missing file) gets the dashboard's 404 page, not the file
	// server's plain text.
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if fi, err := fs.Stat(h.files, name); !fs.ValidPath(name) || err != nil || fi.IsDir() {
		h.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	h.static.ServeHTTP(w, r)
}

// denyCrossOrigin answers a refused cross-origin form post.
func (h *Handler) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	h.cfg.Log.WarnContext(r.Context(), "web: cross-origin request refused", "method", r.Method, "route", middleware.Route(r))
	h.renderStatus(w, r, http.StatusForbidden, "message", &page{Title: "Request refused", Layout: "auth", Data: messageData{
		Heading: "This request was refused",
		Text:    "It came from another site, which may have been trying to act on your behalf. Nothing was changed. Go back to Gatehouse and try again from there.",
		Link:    "/", LinkText: "Back to Gatehouse",
	}})
}

// NotFound answers a browser's request for a page that does not exist.
func (h *Handler) NotFound(w http.ResponseWriter, r *http.Request) {
	securityHeaders(h.secure, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderStatus(w, r, http.StatusNotFound, "message", &page{Title: "Page not found", Layout: "auth", Data: messageData{
			Heading: "Page not found",
			Text:    "There is no page at this address. It may have moved, or the link may be mistyped.",
			Link:    "/", LinkText: "Back to Gatehouse",
		}})
	})).ServeHTTP(w, r)
}

// ServeHome answers GET / for a browser: its organization's dashboard when
// signed in, else the sign-in page.
func (h *Handler) ServeHome(w http.ResponseWriter, r *http.Request) {
	securityHeaders(h.secure, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if _, ok := h.principal(w, r); ok {
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})).ServeHTTP(w, r)
}

// render writes a page with status 200.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	h.renderStatus(w, r, http.StatusOK, name, p)
}

// renderStatus executes a page into a buffer, then writes it, so that a
// template error becomes a clean 500.
func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := h.pages
	if t.Lookup("page:"+name) == nil {
		panic("web: no page " + name)
	}
	if p.Layout == "" {
		p.Layout = "app"
	}
	if p.Flash == nil {
		p.Flash = h.takeFlash(w, r)
	}
	p.DevMailbox = h.cfg.DevMailbox
	p.Version = gatehouse.Version
	p.Social = h.svc.Social.Providers()
	if p.Form == nil {
		p.Form = newForm(nil)
	}
	var buf bytes.Buffer
	// The layout's copy for this page (mustParsePages).
	if err := t.ExecuteTemplate(&buf, p.Layout+":"+name, p); err != nil {
		h.cfg.Log.ErrorContext(r.Context(), "web: render", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// failPage shows an error that is not about a form field (403, 404, 500…).
func (h *Handler) failPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	e := gatehouse.AsError(err)
	status := statusOf(e.Code)
	msg := e.Message
	if status >= 500 {
		h.cfg.Log.ErrorContext(r.Context(), "web: request failed", "err", err)
		msg = "Something went wrong on our side. Try again in a moment."
	}
	heading := map[int]string{
		http.StatusForbidden: "You don't have access to this",
		http.StatusNotFound:  "Not found",
		http.StatusConflict:  "That can't be done",
	}[status]
	if heading == "" {
		heading = "Something went wrong"
	}
	p := &page{Title: heading, Layout: "auth", Data: messageData{Heading: heading, Text: msg, Link: "/", LinkText: "Back to Gatehouse"}}
	if rc != nil {
		p = rc.page(heading, "")
		p.Data = messageData{Heading: heading, Text: msg, Link: "/dashboard", LinkText: "Back to the dashboard"}
	}
	h.renderStatus(w, r, status, "message", p)
}

// statusOf is the API's one mapping from error code to HTTP status.
func statusOf(code string) int { return respond.Status(code) }

// safeNext accepts only a local path (no scheme, host or "//"), for
// redirects after sign-in.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\\") {
		return ""
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}
