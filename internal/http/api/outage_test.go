package api_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// tcpProxy forwards one port to another; Cut drops the listener and every
// connection (the database "goes away"), Restore listens again on the same
// port.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.Cut)
	return p
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) Restore() { p.listen(p.addr) }

// TestOutage cuts PostgreSQL away from a running server: requests answer
// 503 `unavailable` with Retry-After (problem+json, and each dialect in its
// own shape), never 500; /health names the database; and serving resumes
// without a restart once the database is back.
func TestOutage(t *testing.T) {
	e := storetest.Postgres()
	dsn := e.NewDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	srv := apptest.New(t, e, apptest.Options{DSN: u.String()})
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	key := srv.CreateKey(owner, org, map[string]any{"entity_type": "organizations", "entity_id": org, "name": "owner", "action": "", "permission": []any{}})["secret"].(string)

	create := apptest.Req{Method: "POST", Path: "/v1/organizations", Token: owner, Body: map[string]any{"name": "During"}}
	proxy.Cut()
	for i := range 5 {
		resp := srv.Do(create)
		if resp.Status != 503 {
			t.Fatalf("request %d during the outage: %d %s", i, resp.Status, resp.Body)
		}
		p := apptest.Problem(t, resp, 503)
		if p["code"] != "unavailable" || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("outage answer: %v %v", resp.Header, p)
		}
	}
	health := srv.Do(apptest.Req{Method: "GET", Path: "/health"})
	if health.Status != 503 || health.Header.Get("Retry-After") == "" {
		t.Fatalf("health during the outage: %d %s", health.Status, health.Body)
	}
	if h := health.JSON(t); h["database"] != "down" || !strings.Contains(h["down"].(string), "database") {
		t.Fatalf("health names no part: %v", h)
	}
	// The dialects answer in their own error shapes.
	vid := srv.Do(apptest.Req{Method: "GET", Path: "/v2/invites", Token: key})
	var vb map[string]any
	if vid.Status != 503 || vid.Header.Get("Retry-After") == "" || json.Unmarshal(vid.Body, &vb) != nil || vb["success"] != false {
		t.Fatalf("Vidbeo during the outage: %d %v %s", vid.Status, vid.Header, vid.Body)
	}
	sn := srv.Do(apptest.Req{Method: "GET", Path: "/rest/orgs/" + org + "/invites?version=2024-06-21", Header: map[string]string{"Authorization": "token " + key}})
	var sb map[string]any
	if sn.Status != 503 || sn.Header.Get("Retry-After") == "" || json.Unmarshal(sn.Body, &sb) != nil || sb["errors"] == nil {
		t.Fatalf("Snyk during the outage: %d %v %s", sn.Status, sn.Header, sn.Body)
	}

	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := srv.Do(create)
		if resp.Status == 201 {
			break
		}
		if resp.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d %s", resp.Status, resp.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The invalidation listener reconnects on its own backoff.
	for {
		h := srv.Do(apptest.Req{Method: "GET", Path: "/health"})
		if h.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health after the outage: %d %s", h.Status, h.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsPeers: /metrics answers loopback peers on the main listener,
// and nobody there when metrics have a listener of their own.
func TestMetricsPeers(t *testing.T) {
	srv := apptest.New(t, storetest.SQLite())
	h := srv.Handler()
	get := func(remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, remote := range []string{"127.0.0.1:4000", "[::1]:4000"} {
		if w := get(remote); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "go_goroutines") {
			t.Fatalf("loopback %s: %d", remote, w.Code)
		}
	}
	for _, remote := range []string{"203.0.113.7:4000", "10.0.0.2:1234", "[2001:db8::1]:80"} {
		if w := get(remote); w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "go_goroutines") {
			t.Fatalf("remote %s: %d %s", remote, w.Code, w.Body)
		}
	}
	// Forwarded by a proxy on this host: not a local peer.
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = "127.0.0.1:4000"
		r.Header.Set(h, "203.0.113.7")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Fatalf("loopback peer forwarding with %s: %d", h, w.Code)
		}
	}
	srv.API.MetricsElsewhere = true
	if w := get("127.0.0.1:4000"); w.Code != http.StatusNotFound {
		t.Fatalf("loopback with a metrics listener elsewhere: %d", w.Code)
	}
}
