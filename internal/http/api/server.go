// Package api is Gatehouse's native HTTP API (/v1) plus the operational
// endpoints (/, /health, /metrics, /openapi.json) and the development mailbox.
// Handlers decode and validate transport details, call a service and write
// the result; business rules live in internal/service.
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/compat"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Server routes the API.
type Server struct {
	Store      *store.Store
	Services   *service.Services
	Log        *slog.Logger
	Registry   *prometheus.Registry
	BaseURL    string
	DevMailbox bool // serve /dev/mailbox and /dev/mail (only without SMTP)
	// MetricsElsewhere: /metrics has a listener of its own
	// (GATEHOUSE_METRICS_ADDR), so the main listener never serves it.
	MetricsElsewhere bool
	// Web, when set, is the browser dashboard (internal/http/web): it adds
	// its pages to the mux (they are not API routes, so Routes leaves them
	// out) and answers GET / for browsers.
	Web WebUI
	// AccessLog says which requests get an access line (sampled by default).
	AccessLog middleware.AccessLogMode

	mux     *http.ServeMux
	routes  []string
	exact   map[string][]exactRoute // by path (see exactRoute)
	metrics *middleware.Metrics
	handler http.Handler
}

// WebUI is what the API server needs of the browser dashboard.
type WebUI interface {
	// Register adds the dashboard's pages and static files to mux.
	Register(mux *http.ServeMux)
	// ServeHome answers GET / for a browser: the dashboard or sign-in.
	ServeHome(w http.ResponseWriter, r *http.Request)
	// NotFound answers a browser asking for a page that does not exist.
	NotFound(w http.ResponseWriter, r *http.Request)
}

// Routes lists every registered pattern ("GET /v1/me"), for the OpenAPI test.
func (s *Server) Routes() []string { return s.routes }

// Handler builds the server's handler once.
func (s *Server) Handler() http.Handler {
	if s.handler != nil {
		return s.handler
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.mux = http.NewServeMux()
	s.metrics = middleware.NewMetrics(s.Registry)

	s.handle("GET /{$}", s.handleWelcome)
	s.handle("GET /health", s.handleHealth)
	s.handle("GET /openapi.json", s.handleOpenAPI)
	s.mux.HandleFunc("GET /metrics", s.handleMetrics)
	if s.DevMailbox {
		s.handle("GET /dev/mailbox", s.loopbackOnly(s.handleDevMailbox))
		s.handle("GET /dev/mail", s.loopbackOnly(s.handleDevMailPage))
	}
	s.registerAuth()
	s.registerSocial()
	s.registerSSO()
	s.registerMe()
	s.registerMFA()
	s.registerPasskeys()
	s.registerMFAPolicy()
	s.registerOrgs()
	s.registerPolicy()
	s.registerEmailTemplates()
	s.registerBulk()
	s.registerInviteLinks()
	s.registerProjects()
	s.registerFolders()
	s.registerInvitations()
	s.registerMembers()
	s.registerLookups()
	s.registerKeys()
	s.registerWebhooks()
	s.registerSCIMTokens()
	s.registerAudits()
	compat.Register(s.mux, s.Services, s.Log, s.BaseURL)
	scim.Register(s.mux, s.Services, s.Log, s.BaseURL) // not in Routes: SCIM serves its own Schemas
	if s.Web != nil {
		s.Web.Register(s.mux)
	}

	policy := &middleware.AccessLog{Mode: s.AccessLog, Quiet: QuietRoutes, Unlogged: s.metrics.Unlogged}
	s.handler = middleware.LogWith(s.Log, policy, s.metrics.Observe, http.HandlerFunc(s.route))
	return s.handler
}

// QuietRoutes are the routes whose successful answers the sampled access
// log writes one in a hundred of: the hot permission check and the probes.
var QuietRoutes = []string{"/v1/members/permissions/check", "/health", "/metrics"}

// handle registers an API route and remembers it for the OpenAPI check.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, h)
	if method, path, ok := strings.Cut(pattern, " "); ok && strings.HasPrefix(path, "/") &&
		!strings.HasSuffix(path, "/") && !strings.Contains(path, "{") {
		if s.exact == nil {
			s.exact = map[string][]exactRoute{}
		}
		s.exact[path] = append(s.exact[path], exactRoute{method: method, pattern: pattern, h: h})
	}
}

// exactRoute is an API route whose pattern is a method and a literal path
// (no wildcard, no trailing slash, no host). route serves a request naming
// exactly that method and path (unescaped, so already clean) without the
// mux's look-up, which would pick the same handler: such a pattern is the
// most specific for its path, and no pattern names a host
// (TestExactRoutesMatchMux checks each against the mux). Issue 17: the
// look-up was a tenth of the permission check's handler time.
type exactRoute struct {
	method, pattern string
	h               http.HandlerFunc
}

// exactHandler returns r's exact route, if it has one.
func (s *Server) exactHandler(r *http.Request) *exactRoute {
	if r.URL.RawPath != "" {
		return nil
	}
	routes := s.exact[r.URL.Path]
	for i := range routes {
		if routes[i].method == r.Method {
			return &routes[i]
		}
	}
	return nil
}

// route dispatches through the mux (or, for an exact route, straight to its
// handler), turning its plain-text 404 and 405 into
// problem documents. The mux looks the request up once: its own answer to a
// request no pattern matched (r.Pattern is then "") is caught by
// routeWriter (issue 17: the second look-up of the permission check's path
// cost as much as the metrics).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	lowerUUIDs(r)
	if e := s.exactHandler(r); e != nil {
		r.Pattern = e.pattern // as the mux sets it (a literal pattern has no path values)
		e.h(w, r)
		return
	}
	if r.RequestURI == "*" { // answered by the mux before any look-up
		s.routeProbed(w, r)
		return
	}
	rw := &routeWriter{ResponseWriter: w, r: r}
	s.mux.ServeHTTP(rw, r)
	if r.Pattern == "" {
		s.unmatched(w, r, &rw.probe)
	}
}

// routeProbed is route with the look-up made first, the mux's answer to an
// unmatched request written to a probe.
func (s *Server) routeProbed(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{}
	h.ServeHTTP(probe, r)
	s.unmatched(w, r, probe)
}

// unmatched answers a request no pattern matched, given the mux's answer.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, probe *statusProbe) {
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.Header().Get("Allow"))
		respond.Error(w, r, gatehouse.Errorf(gatehouse.EMETHOD, "Method %s is not allowed here; allowed: %s.", r.Method, probe.Header().Get("Allow")))
	case http.StatusNotFound, 0:
		s.notFound(w, r)
	default:
		// A redirect (such as path cleaning): pass it on.
		for k, v := range probe.header {
			w.Header()[k] = v
		}
		w.WriteHeader(probe.status)
	}
}

// routeWriter is the ResponseWriter the mux serves: a matched handler's
// writes go through; the mux's own answer to an unmatched request (its
// 404, 405 or redirect, written while r.Pattern is "") goes to probe.
type routeWriter struct {
	http.ResponseWriter
	r     *http.Request
	probe statusProbe
}

func (w *routeWriter) Header() http.Header {
	if w.r.Pattern == "" {
		return w.probe.Header()
	}
	return w.ResponseWriter.Header()
}

func (w *routeWriter) Write(b []byte) (int, error) {
	if w.r.Pattern == "" {
		return w.probe.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *routeWriter) WriteHeader(status int) {
	if w.r.Pattern == "" {
		w.probe.WriteHeader(status)
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *routeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// notFound answers a path that does not exist.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if s.Web != nil && r.Method == http.MethodGet && wantsHTML(r) {
		s.Web.NotFound(w, r)
		return
	}
	respond.Error(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such endpoint."))
}

// uuidSegment is a UUID in any case (RFC 9562: UUIDs are case-insensitive).
var uuidSegment = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// lowerUUIDs accepts UUIDs in any case in the path and in X-Organization-Id
// by lower-casing them before routing: every id is stored, compared and
// answered in lower case.
func lowerUUIDs(r *http.Request) {
	if v := header(r, OrgHeader); v != strings.ToLower(v) && uuidSegment.MatchString(strings.TrimSpace(v)) {
		r.Header.Set("X-Organization-Id", strings.ToLower(strings.TrimSpace(v)))
	}
	lower := func(p string) string {
		if p == strings.ToLower(p) {
			return p
		}
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			if uuidSegment.MatchString(seg) {
				segs[i] = strings.ToLower(seg)
			}
		}
		return strings.Join(segs, "/")
	}
	r.URL.Path = lower(r.URL.Path)
	if r.URL.RawPath != "" {
		r.URL.RawPath = lower(r.URL.RawPath)
	}
}

// statusProbe captures what the mux would answer for an unmatched request.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// wantsHTML reports whether the client is a browser asking for a page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (s *Server) handleWelcome(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	if s.Web != nil && wantsHTML(r) {
		s.Web.ServeHome(w, r) // a browser: its dashboard, or the sign-in page
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"name": "gatehouse", "version": gatehouse.Version})
}

// MetricsHandler serves the Prometheus metrics, to anyone who reaches it.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})
}

// handleMetrics serves /metrics on the main listener to loopback peers only
// (a scraper on the same host), and to nobody when metrics have a listener
// of their own: others get the 404 of an unknown endpoint.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	// A request a proxy on this host forwarded carries its client's address
	// in a header: that peer is not local.
	forwarded := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
	if s.MetricsElsewhere || forwarded || !isLoopback(r.RemoteAddr) {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such endpoint."))
		return
	}
	s.MetricsHandler().ServeHTTP(w, r)
}

// isLoopback reports whether a peer address (host:port) is on this host.
func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := map[string]string{"status": "ok", "database": "ok"}
	var down []string
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.WarnContext(r.Context(), "health: database down", "err", err)
		out["database"] = "down"
		down = append(down, "database")
	}
	for part, up := range s.Store.Parts() {
		out[part] = "ok"
		if !up {
			out[part] = "down"
			down = append(down, part)
		}
	}
	if len(down) > 0 {
		// Names the parts that are down, so an operator knows where to look.
		slices.Sort(down)
		out["status"] = "unavailable"
		out["down"] = strings.Join(down, ",")
		w.Header().Set("Retry-After", strconv.Itoa(store.RetryAfterOutage))
		respond.JSON(w, http.StatusServiceUnavailable, out)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
