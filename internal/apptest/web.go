package apptest

// Helpers for the dashboard's tests (internal/http/web): a browser-like
// HTTP client with cookies, and the links that mails carry.

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// WebClient is a browser-like client for handler tests: it keeps cookies,
// does not follow redirects, and marks its form posts as same-origin the
// way a browser does (Sec-Fetch-Site and Origin).
type WebClient struct {
	S      *Server
	Jar    *cookiejar.Jar
	client *http.Client
}

// WebClient returns a new client with an empty cookie jar.
func (s *Server) WebClient() *WebClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.TB.Fatal(err)
	}
	c := *s.HTTP.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &WebClient{S: s, Jar: jar, client: &c}
}

// WebResponse is a finished dashboard request.
type WebResponse struct {
	Status   int
	Header   http.Header
	Body     string
	Location string // of a redirect
}

// Get asks for a page as a browser does (Accept: text/html).
func (c *WebClient) Get(path string, header ...map[string]string) *WebResponse {
	c.S.TB.Helper()
	req, err := http.NewRequest(http.MethodGet, c.S.URL+path, nil)
	if err != nil {
		c.S.TB.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "none")
	return c.Do(req, header...)
}

// Post submits a form from one of the dashboard's own pages.
func (c *WebClient) Post(path string, form url.Values, header ...map[string]string) *WebResponse {
	c.S.TB.Helper()
	req, err := http.NewRequest(http.MethodPost, c.S.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.S.TB.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.S.URL)
	return c.Do(req, header...)
}

// Do sends req with extra headers (an empty value removes a header).
func (c *WebClient) Do(req *http.Request, header ...map[string]string) *WebResponse {
	c.S.TB.Helper()
	for _, h := range header {
		for k, v := range h {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.S.TB.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.S.TB.Fatal(err)
	}
	return &WebResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
}

// Follow GETs a redirect's target (failing the test unless resp is one).
func (c *WebClient) Follow(resp *WebResponse) *WebResponse {
	c.S.TB.Helper()
	if resp.Status < 300 || resp.Status > 399 || resp.Location == "" {
		c.S.TB.Fatalf("not a redirect: status %d: %.400s", resp.Status, resp.Body)
	}
	u, err := url.Parse(resp.Location)
	if err != nil {
		c.S.TB.Fatal(err)
	}
	return c.Get(u.RequestURI())
}

// Cookie returns the jar's cookie named name, nil when none.
func (c *WebClient) Cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.S.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

var invitationLinkRe = regexp.MustCompile(`https?://[^\s"<>]+(/invitations/[A-Za-z0-9_-]+)`)

// InvitationLink returns the path (/invitations/<token>) of the link in
// the newest invitation mail to addr.
func (s *Server) InvitationLink(addr string) string {
	s.TB.Helper()
	for _, m := range s.MailTo(addr) {
		if m.Kind != "invitation" {
			continue
		}
		if l := invitationLinkRe.FindStringSubmatch(m.Text); l != nil {
			return l[1]
		}
	}
	s.TB.Fatalf("no invitation mail with a link to %s", addr)
	return ""
}

// WantRedirect fails tb unless r is a 303 to a location starting with prefix.
func WantRedirect(tb testing.TB, r *WebResponse, prefix string) {
	tb.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, prefix) {
		tb.Fatalf("status %d to %q, want 303 to %s…: %.600s", r.Status, r.Location, prefix, r.Body)
	}
}

// WantPage fails tb unless r has status and its body contains every text.
func WantPage(tb testing.TB, r *WebResponse, status int, texts ...string) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d: %.2000s", r.Status, status, r.Body)
	}
	for _, s := range texts {
		if !strings.Contains(r.Body, s) {
			tb.Fatalf("page does not contain %q:\n%s", s, r.Body)
		}
	}
}

// WantNot fails tb if r's body contains any of texts.
func WantNot(tb testing.TB, r *WebResponse, texts ...string) {
	tb.Helper()
	for _, s := range texts {
		if strings.Contains(r.Body, s) {
			tb.Fatalf("page contains %q:\n%s", s, r.Body)
		}
	}
}
