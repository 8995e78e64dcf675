// Package api is Gatehouse's native HTTP API (/v1) plus the operational
// endpoints (/, /health, /metrics, /openapi.json) and the development mailbox.
// Handlers decode and validate transport details, call a service and write
// the result; business rules live in internal/service.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/compat"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
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
	// Web, when set, is the browser dashboard (internal/http/web): it adds
	// its pages to the mux (they are not API routes, so Routes leaves them
	// out) and answers GET / for browsers.
	Web WebUI

	mux     *http.ServeMux
	routes  []string
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
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	if s.DevMailbox {
		s.handle("GET /dev/mailbox", s.handleDevMailbox)
		s.handle("GET /dev/mail", s.handleDevMailPage)
	}
	s.registerAuth()
	s.registerSocial()
	s.registerSSO()
	s.registerMe()
	s.registerOrgs()
	s.registerProjects()
	s.registerFolders()
	s.registerInvitations()
	s.registerMembers()
	s.registerKeys()
	s.registerAudits()
	compat.Register(s.mux, s.Services, s.Log)
	if s.Web != nil {
		s.Web.Register(s.mux)
	}

	s.handler = middleware.Log(s.Log, s.metrics.Observe, http.HandlerFunc(s.route))
	return s.handler
}

// handle registers an API route and remembers it for the OpenAPI check.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, h)
}

// route dispatches through the mux, turning its plain-text 404 and 405 into
// problem documents.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		respond.Error(w, r, gatehouse.Errorf(gatehouse.EMETHOD, "Method %s is not allowed here; allowed: %s.", r.Method, probe.header.Get("Allow")))
	case http.StatusNotFound, 0:
		if s.Web != nil && r.Method == http.MethodGet && wantsHTML(r) {
			s.Web.NotFound(w, r)
			return
		}
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such endpoint."))
	default:
		// A redirect (such as path cleaning): pass it on.
		for k, v := range probe.header {
			w.Header()[k] = v
		}
		w.WriteHeader(probe.status)
	}
}

// statusProbe captures what the mux would answer for an unmatched request.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
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

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.WarnContext(r.Context(), "health: database down", "err", err)
		respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
}
