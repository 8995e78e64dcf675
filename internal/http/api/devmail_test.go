package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/http/api"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// serveFrom answers one request to h as if it came over TCP from peer.
func serveFrom(h http.Handler, peer, path string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = peer
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var requestIDField = regexp.MustCompile(`"request_id":"[^"]*"`)

func TestDevMailboxLoopbackOnly(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t, storetest.SQLite())
	fdRegister(t, srv, "someone@example.com")
	h := srv.Handler()
	unknown := serveFrom(h, "203.0.113.7:40000", "/dev/no-such-page", nil)

	t.Run("ErrRemotePeer", func(t *testing.T) {
		for _, peer := range []string{"203.0.113.7:40000", "10.1.2.3:1234", "[2001:db8::1]:443", "192.168.0.1:80"} {
			for _, path := range []string{"/dev/mailbox", "/dev/mail", "/dev/mailbox?limit=5"} {
				// Forwarding headers claiming loopback change nothing.
				w := serveFrom(h, peer, path, map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1", "Forwarded": "for=127.0.0.1"})
				if w.Code != 404 {
					t.Fatalf("%s from %s: status %d, want 404", path, peer, w.Code)
				}
				got := requestIDField.ReplaceAllString(w.Body.String(), "")
				if want := requestIDField.ReplaceAllString(unknown.Body.String(), ""); got != want {
					t.Fatalf("%s from %s answers %q, unlike an unknown path %q", path, peer, got, want)
				}
				if strings.Contains(w.Body.String(), "someone@example.com") {
					t.Fatal("mail leaked")
				}
			}
		}
	})
	t.Run("OKLoopbackPeer", func(t *testing.T) {
		for _, peer := range []string{"127.0.0.1:5000", "127.9.9.9:1", "[::1]:5000"} {
			w := serveFrom(h, peer, "/dev/mailbox", nil)
			if w.Code != 200 || !strings.Contains(w.Body.String(), "someone@example.com") {
				t.Fatalf("from %s: status %d: %s", peer, w.Code, w.Body)
			}
		}
	})
	t.Run("ErrRealNonLoopbackConnection", func(t *testing.T) {
		ip := nonLoopbackIP(t)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Shutdown(context.Background())
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + ln.Addr().String() + "/dev/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || strings.Contains(string(body), "someone@example.com") {
			t.Fatalf("GET /dev/mailbox over %s: %d %s", ln.Addr(), resp.StatusCode, body)
		}
	})
}

// nonLoopbackIP returns an address of this machine that is not loopback.
func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address")
	return ""
}

func TestLoopbackPeer(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "[::1]:80": true, "127.0.0.2:9": true,
		"10.0.0.1:1": false, "[::ffff:10.0.0.1]:1": false, "localhost:80": false, "127.0.0.1": false, "": false, "garbage": false,
	} {
		if got := api.LoopbackPeer(addr); got != want {
			t.Errorf("LoopbackPeer(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestDevMailboxOff(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e, apptest.Options{Config: func(c *app.Config) { c.DevMailbox = "false" }})
		fdRegister(t, srv, "quiet@example.com")
		for _, path := range []string{"/dev/mailbox", "/dev/mail"} {
			apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: path}), 404, "not_found")
		}
		metrics := string(srv.Do(apptest.Req{Method: "GET", Path: "/metrics"}).Body)
		if !strings.Contains(metrics, "gatehouse_outbox_queued 1") {
			t.Fatalf("the queued mail is not visible in /metrics:\n%s", grepLines(metrics, "outbox"))
		}
	})
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// With no base URL set, links in emails point at the port listened on.
func TestBaseURLFromListenedPort(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t, storetest.SQLite(), apptest.Options{Listen: true, Config: func(c *app.Config) {
		c.BaseURL, c.Addr = "", "127.0.0.1:0"
	}})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	want := fmt.Sprintf("http://localhost:%s", port)
	if srv.Config.BaseURL != want {
		t.Fatalf("base URL %q, want %q", srv.Config.BaseURL, want)
	}
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	srv.Invite(owner, org, map[string]any{"email": "guest@example.com", "role": "viewer"})
	mails := srv.MailTo("guest@example.com")
	if len(mails) == 0 || !strings.Contains(mails[0].Text, want+"/invitations/") {
		t.Fatalf("the invitation does not link to %s: %+v", want, mails)
	}
}
