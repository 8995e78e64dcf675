package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// secretToken looks like an invitation token; it must never reach a log.
const secretToken = "inv_S3cr3tT0kenDoNotLog0123456789abcdef"

var generatedID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lines decodes every JSON log line.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, l)
		}
		out = append(out, m)
	}
	return out
}

// find returns the log lines with the given msg.
func (b *syncBuffer) find(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range b.lines(t) {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

type observation struct {
	route  string
	status int
}

// stack is a handler as the API builds it: the middleware around a mux.
type stack struct {
	h        http.Handler
	logs     *syncBuffer
	mu       sync.Mutex
	observed []observation
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{logs: &syncBuffer{}}
	log := slog.New(middleware.ContextHandler{Handler: slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /v1/invitations/{token}", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, 200, map[string]string{"seen": "yes"})
	})
	mux.HandleFunc("POST /v1/invitations/{token}/accept", func(w http.ResponseWriter, r *http.Request) {
		respond.NoContent(w)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		panic("boom: the panic text with password=hunter2")
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("GET /internal", func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, r, gatehouse.Internal(errors.New("SELECT secret FROM users")))
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "inside the handler")
		log.With("component", "test").WithGroup("g").InfoContext(r.Context(), "inside with attrs", "k", "v")
		log.Info("without the request context")
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /silent", func(w http.ResponseWriter, r *http.Request) {})
	s.h = middleware.Log(log, func(r *http.Request, route string, status int, d time.Duration) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.observed = append(s.observed, observation{route, status})
	}, mux)
	return s
}

func (s *stack) serve(method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = []string{v}
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec
}

func TestRequestID(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name string
			sent string
		}{
			{"Plain", "abc123"},
			{"Punctuation", "req-1_2.3:4"},
			{"UUID", "0190f4b2-7c1e-7a3b-9d2e-123456789abc"},
			{"MaxLength", strings.Repeat("a", 128)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStack(t)
				rec := s.serve("GET", "/health", map[string]string{"X-Request-Id": tt.sent})
				if got := rec.Header().Get("X-Request-Id"); got != tt.sent {
					t.Fatalf("X-Request-Id = %q, want the client's %q", got, tt.sent)
				}
				access := s.logs.find(t, "request")
				if len(access) != 1 || access[0]["request_id"] != tt.sent {
					t.Fatalf("access log = %v, want request_id %q", access, tt.sent)
				}
			})
		}
	})

	t.Run("OKGenerated", func(t *testing.T) {
		s := newStack(t)
		a := s.serve("GET", "/health", nil).Header().Get("X-Request-Id")
		b := s.serve("GET", "/health", nil).Header().Get("X-Request-Id")
		if !generatedID.MatchString(a) || !generatedID.MatchString(b) {
			t.Fatalf("generated ids %q, %q are not 24 hex digits", a, b)
		}
		if a == b {
			t.Fatalf("two requests got the same id %q", a)
		}
	})

	t.Run("ErrInvalidReplaced", func(t *testing.T) {
		tests := []struct {
			name string
			sent string
		}{
			{"TooLong", strings.Repeat("a", 129)},
			{"Space", "abc def"},
			{"Newline", "abc\ninjected log line"},
			{"CarriageReturn", "abc\rdef"},
			{"Quote", `abc"def`},
			{"Brace", "abc{def}"},
			{"NonASCII", "abcé"},
			{"Slash", "a/b"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStack(t)
				rec := s.serve("GET", "/health", map[string]string{"X-Request-Id": tt.sent})
				got := rec.Header().Get("X-Request-Id")
				if got == tt.sent || !generatedID.MatchString(got) {
					t.Fatalf("X-Request-Id = %q, want a fresh id replacing %q", got, tt.sent)
				}
				if strings.Contains(s.logs.String(), tt.sent) {
					t.Fatalf("the invalid id reached the log: %s", s.logs)
				}
			})
		}
	})
}

func TestRecover(t *testing.T) {
	t.Run("ErrPanic", func(t *testing.T) {
		s := newStack(t)
		rec := s.serve("GET", "/panic", nil)
		if rec.Code != 500 {
			t.Fatalf("status = %d, want 500", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type = %q", ct)
		}
		body := rec.Body.String()
		for _, leak := range []string{"boom", "hunter2", "goroutine", ".go:", "panic"} {
			if strings.Contains(body, leak) {
				t.Fatalf("body leaks %q: %s", leak, body)
			}
		}
		var p map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p["status"] != float64(500) || p["code"] != "internal" || p["request_id"] != rec.Header().Get("X-Request-Id") {
			t.Fatalf("problem = %v", p)
		}
		panics := s.logs.find(t, "panic")
		if len(panics) != 1 {
			t.Fatalf("panic log lines = %d: %s", len(panics), s.logs)
		}
		if !strings.Contains(panics[0]["panic"].(string), "boom") || !strings.Contains(panics[0]["stack"].(string), "goroutine") {
			t.Fatalf("panic log line lacks the panic or stack: %v", panics[0])
		}
		if panics[0]["request_id"] != rec.Header().Get("X-Request-Id") {
			t.Fatalf("panic log request_id = %v", panics[0]["request_id"])
		}
		access := s.logs.find(t, "request")
		if len(access) != 1 || access[0]["status"] != float64(500) || access[0]["route"] != "/panic" {
			t.Fatalf("access log = %v", access)
		}
	})

	t.Run("ErrAbortHandler", func(t *testing.T) {
		s := newStack(t)
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler passed on", p)
			}
		}()
		s.serve("GET", "/abort", nil)
		t.Fatal("ErrAbortHandler was swallowed")
	})
}

func TestAccessLog(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := newStack(t)
		rec := s.serve("GET", "/health?x=1", nil)
		access := s.logs.find(t, "request")
		if len(access) != 1 {
			t.Fatalf("access lines = %d: %s", len(access), s.logs)
		}
		l := access[0]
		want := map[string]any{"level": "INFO", "method": "GET", "route": "/health", "status": float64(200),
			"request_id": rec.Header().Get("X-Request-Id"), "path": "/health"}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s = %#v, want %#v", k, l[k], v)
			}
		}
		for _, k := range []string{"bytes", "duration_ms", "remote", "time"} {
			if _, ok := l[k]; !ok {
				t.Errorf("access line lacks %q: %v", k, l)
			}
		}
		if strings.Contains(s.logs.String(), "x=1") {
			t.Errorf("query string logged: %s", s.logs)
		}
	})

	t.Run("OKDefaultStatus", func(t *testing.T) {
		s := newStack(t)
		s.serve("GET", "/silent", nil)
		if l := s.logs.find(t, "request"); len(l) != 1 || l[0]["status"] != float64(200) {
			t.Fatalf("access log = %v", l)
		}
	})

	t.Run("ErrNeverLogsTokens", func(t *testing.T) {
		tests := []struct {
			name       string
			method     string
			target     string
			wantStatus int
			wantRoute  string
		}{
			{"Wildcard", "GET", "/v1/invitations/" + secretToken, 200, "/v1/invitations/{token}"},
			{"WildcardWithQuery", "GET", "/v1/invitations/" + secretToken + "?token=" + secretToken, 200, "/v1/invitations/{token}"},
			{"WildcardSuffix", "POST", "/v1/invitations/" + secretToken + "/accept", 204, "/v1/invitations/{token}/accept"},
			{"UnmatchedMethod", "GET", "/v1/invitations/" + secretToken + "/accept", 405, "unmatched"},
			{"UnmatchedPath", "GET", "/v1/invitations/" + secretToken + "/nothing/here", 404, "unmatched"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStack(t)
				rec := s.serve(tt.method, tt.target, nil)
				if rec.Code != tt.wantStatus {
					t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
				}
				out := s.logs.String()
				if strings.Contains(out, "S3cr3tT0ken") {
					t.Fatalf("the token reached the log: %s", out)
				}
				access := s.logs.find(t, "request")
				if len(access) != 1 || access[0]["route"] != tt.wantRoute {
					t.Fatalf("access log = %v, want route %q", access, tt.wantRoute)
				}
				if _, ok := access[0]["path"]; ok {
					t.Fatalf("path logged for route %q: %v", tt.wantRoute, access[0])
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				if len(s.observed) != 1 || s.observed[0] != (observation{tt.wantRoute, tt.wantStatus}) {
					t.Fatalf("observed %v, want route %q status %d", s.observed, tt.wantRoute, tt.wantStatus)
				}
			})
		}
	})

	t.Run("OKInternalCauseLoggedWithRequestID", func(t *testing.T) {
		s := newStack(t)
		rec := s.serve("GET", "/internal", nil)
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "SELECT") {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
		failed := s.logs.find(t, "request failed")
		if len(failed) != 1 {
			t.Fatalf("want one 'request failed' line in the server's log, got: %s", s.logs)
		}
		if !strings.Contains(failed[0]["err"].(string), "SELECT secret FROM") || failed[0]["request_id"] != rec.Header().Get("X-Request-Id") {
			t.Fatalf("failure line = %v", failed[0])
		}
	})
}

func TestContextHandler(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := newStack(t)
		rec := s.serve("GET", "/log", map[string]string{"X-Request-Id": "ctx-123"})
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status = %d", rec.Code)
		}
		for _, msg := range []string{"inside the handler", "inside with attrs"} {
			l := s.logs.find(t, msg)
			if len(l) != 1 {
				t.Fatalf("%q lines = %v", msg, l)
			}
			// With a group, the record's own attributes sit in the group.
			id := l[0]["request_id"]
			if g, ok := l[0]["g"].(map[string]any); ok && id == nil {
				id = g["request_id"]
			}
			if id != "ctx-123" {
				t.Fatalf("%q: request_id = %v (line %v)", msg, id, l[0])
			}
		}
		if l := s.logs.find(t, "inside with attrs"); l[0]["component"] != "test" {
			t.Fatalf("WithAttrs lost: %v", l[0])
		}
	})
	t.Run("ErrNoRequestContext", func(t *testing.T) {
		s := newStack(t)
		s.serve("GET", "/log", nil)
		l := s.logs.find(t, "without the request context")
		if len(l) != 1 {
			t.Fatalf("lines = %v", l)
		}
		if _, ok := l[0]["request_id"]; ok {
			t.Fatalf("request_id on a line logged without the request context: %v", l[0])
		}
	})
}

func TestRoute(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    string
	}{
		{"OKMethodAndPath", "GET /v1/invitations/{token}", "/v1/invitations/{token}"},
		{"OKPathOnly", "/metrics", "/metrics"},
		{"OKRoot", "GET /{$}", "/{$}"},
		{"ErrUnmatched", "", "unmatched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/whatever", nil)
			r.Pattern = tt.pattern
			if got := middleware.Route(r); got != tt.want {
				t.Fatalf("Route(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestRequestIDContext(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		ctx := middleware.WithRequestID(r.Context(), "abc")
		if got := middleware.RequestID(ctx); got != "abc" {
			t.Fatalf("RequestID = %q", got)
		}
		if got := respond.RequestIDFunc(ctx); got != "abc" {
			t.Fatalf("respond.RequestIDFunc = %q: the hook is not installed", got)
		}
	})
	t.Run("ErrOutsideRequest", func(t *testing.T) {
		if got := middleware.RequestID(httptest.NewRequest("GET", "/", nil).Context()); got != "" {
			t.Fatalf("RequestID = %q, want empty", got)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := middleware.NewMetrics(reg)
		r := httptest.NewRequest("GET", "/v1/invitations/"+secretToken, nil)
		m.Observe(r, "/v1/invitations/{token}", 200, 3*time.Millisecond)
		m.Observe(r, "/v1/invitations/{token}", 200, 5*time.Millisecond)
		m.Observe(r, "unmatched", 404, time.Millisecond)
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{} // metric name → "route status value" per series
		for _, f := range families {
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if strings.Contains(labels["route"], "S3cr3t") {
					t.Fatalf("raw path in a label: %v", labels)
				}
				var v float64
				switch {
				case m.GetCounter() != nil:
					v = m.GetCounter().GetValue()
				case m.GetHistogram() != nil:
					v = float64(m.GetHistogram().GetSampleCount())
				}
				got[f.GetName()] = append(got[f.GetName()], fmt.Sprintf("%s %s %s %g", labels["method"], labels["route"], labels["status"], v))
			}
		}
		want := map[string][]string{
			"gatehouse_http_requests_total":           {"GET /v1/invitations/{token} 200 2", "GET unmatched 404 1"},
			"gatehouse_http_request_duration_seconds": {"GET /v1/invitations/{token}  2", "GET unmatched  1"},
		}
		for name, series := range want {
			if strings.Join(got[name], "; ") != strings.Join(series, "; ") {
				t.Errorf("%s = %q, want %q", name, got[name], series)
			}
		}
	})
}
