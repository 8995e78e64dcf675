// Package apptest runs a whole Gatehouse in a test: real storage (either
// engine), real services, the real HTTP handler behind httptest, a clock the
// test moves, and cheap password hashing.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed, recent time.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Server is a running test Gatehouse.
type Server struct {
	*app.Main
	TB     testing.TB
	HTTP   *httptest.Server
	URL    string
	Clock  *Clock
	Engine storetest.Engine
	// Logs holds everything the server logged.
	Logs *SyncBuffer

	client *http.Client
}

// Options adjust a test server.
type Options struct {
	// DSN reuses a database made with Engine.NewDSN (restart tests).
	DSN string
	// SMTPURL configures real SMTP delivery.
	SMTPURL string
	Clock   *Clock
	// WebhooksAllowPrivate lets webhooks reach httptest receivers.
	WebhooksAllowPrivate bool
	// AccessLog sets GATEHOUSE_ACCESS_LOG (sampled when zero).
	AccessLog middleware.AccessLogMode
	// Config, when set, adjusts the configuration before the server opens.
	Config func(*app.Config)
	// Hasher replaces FastHasher.
	Hasher *secret.Hasher
	// Listen serves through Main.Start on Config.Addr (instead of
	// httptest), as the binary does.
	Listen bool
	// Configure adjusts the configuration before the server opens.
	Configure func(*app.Config)
	// RealBaseURL makes GATEHOUSE_BASE_URL the test server's own address,
	// for browsers that follow redirects through outside providers.
	RealBaseURL bool
}

// FastHasher keeps argon2id but with test-sized memory, so suites stay quick.
var FastHasher = secret.NewHasher(secret.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 8)

// New starts a Gatehouse on engine e.
func New(tb testing.TB, e storetest.Engine, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	dsn := o.DSN
	if dsn == "" {
		dsn = e.NewDSN(tb)
	}
	cfg := app.Config{Addr: "127.0.0.1:0", BaseURL: "http://gatehouse.test", MailFrom: "Gatehouse <gatehouse@example.com>",
		SecretKey: storetest.TestKey, SMTPURL: o.SMTPURL, LogLevel: slog.LevelDebug, WebhooksAllowPrivate: o.WebhooksAllowPrivate,
		AccessLog: o.AccessLog}
	if e.Name == "postgres" {
		cfg.DatabaseURL = dsn
	} else {
		cfg.DataDir = dsn
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	var ln net.Listener
	if o.RealBaseURL {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	logs := &SyncBuffer{}
	hasher := FastHasher
	if o.Hasher != nil {
		hasher = o.Hasher
	}
	m := &app.Main{Config: cfg, Log: app.NewLogger(logs, slog.LevelDebug), Now: o.Clock.Now, Hasher: hasher}
	if err := m.Open(context.Background()); err != nil {
		tb.Fatalf("open gatehouse: %v", err)
	}
	if o.Listen {
		if err := m.Start(); err != nil {
			_ = m.Close(context.Background())
			tb.Fatalf("start gatehouse: %v", err)
		}
		tb.Cleanup(func() { _ = m.Close(context.Background()) })
		return &Server{Main: m, TB: tb, URL: m.URL(), Clock: o.Clock, Engine: e, Logs: logs, client: &http.Client{Timeout: time.Minute}}
	}
	hs := httptest.NewUnstartedServer(m.Handler())
	if ln != nil {
		_ = hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	s := &Server{Main: m, TB: tb, HTTP: hs, URL: hs.URL, Clock: o.Clock, Engine: e, Logs: logs, client: hs.Client()}
	tb.Cleanup(func() {
		hs.Close()
		_ = m.Close(context.Background())
	})
	return s
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (failing the test when it is not JSON).
func (r *Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Req is one request to send.
type Req struct {
	Method string
	Path   string
	Token  string
	// Body is marshalled to JSON unless it is a string or []byte (sent raw).
	Body        any
	ContentType string
	Header      map[string]string
}

// Do sends a request and reads the whole response.
func (s *Server) Do(r Req) *Response {
	s.TB.Helper()
	var body io.Reader
	ct := r.ContentType
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.TB.Fatal(err)
		}
		body = bytes.NewReader(raw)
		if ct == "" {
			ct = "application/json"
		}
	}
	req, err := http.NewRequest(r.Method, s.URL+r.Path, body)
	if err != nil {
		s.TB.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.TB.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.TB.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Must sends a request and fails the test unless the status is want.
func (s *Server) Must(want int, r Req) map[string]any {
	s.TB.Helper()
	resp := s.Do(r)
	if resp.Status != want {
		s.TB.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.Path, resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(s.TB)
}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// LastCode returns the 6-digit code of the newest mail to addr.
func (s *Server) LastCode(addr string) string {
	s.TB.Helper()
	ms, err := s.Store.R().ListMail(context.Background(), 100)
	if err != nil {
		s.TB.Fatal(err)
	}
	for _, m := range ms {
		if strings.EqualFold(m.To, addr) {
			if c := codeRe.FindStringSubmatch(m.Text); c != nil {
				return c[1]
			}
		}
	}
	s.TB.Fatalf("no mail with a code to %s", addr)
	return ""
}

// Signup registers, verifies and signs in a user; it returns the access token.
func (s *Server) Signup(name, email string) (token string, user map[string]any) {
	s.TB.Helper()
	pw := "a long enough password"
	s.Must(201, Req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"name": name, "email": email, "password": pw}})
	s.Must(200, Req{Method: "POST", Path: "/v1/auth/verify-email", Body: map[string]string{"email": email, "otp": s.LastCode(email)}})
	out := s.Must(200, Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": pw}})
	return out["access_token"].(string), out["user"].(map[string]any)
}

// EachEngine runs fn as a subtest per engine (PostgreSQL when configured).
func EachEngine(t *testing.T, fn func(t *testing.T, e storetest.Engine)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e) })
	}
}
