package apptest

// Helpers for sign-in through outside providers: a client that does not
// follow redirects, and a browser-like walk from the start endpoint through
// the provider back to the callback.

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// NoRedirect is a client that answers redirects instead of following them.
var NoRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Get sends a GET with the given cookies (name=value) without following redirects.
func Get(tb testing.TB, rawURL string, cookies ...*http.Cookie) *Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := NoRedirect.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Cookie returns a cookie the response set, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Flow is a sign-in through an outside provider, stopped at the callback.
type Flow struct {
	Start    *Response    // the start endpoint's answer (302 to the provider)
	Cookie   *http.Cookie // the state cookie it set
	Callback string       // the callback URL the provider sent back, on this server
}

// StartFlow opens path (such as /v1/auth/oauth/google?mode=api), follows the
// provider's redirects until they come back to Gatehouse's base URL, and
// returns the callback URL rewritten onto the test server, unsent.
func (s *Server) StartFlow(path string) *Flow {
	s.TB.Helper()
	start := Get(s.TB, s.URL+path)
	if start.Status != http.StatusFound {
		s.TB.Fatalf("start %s: status %d: %s", path, start.Status, start.Body)
	}
	f := &Flow{Start: start, Cookie: start.Cookie("gh_auth_flow")}
	loc := start.Header.Get("Location")
	for i := 0; i < 5; i++ {
		if strings.HasPrefix(loc, s.Config.BaseURL) {
			f.Callback = s.URL + strings.TrimPrefix(loc, s.Config.BaseURL)
			return f
		}
		r := Get(s.TB, loc)
		if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
			s.TB.Fatalf("provider %s: status %d: %s", loc, r.Status, r.Body)
		}
		next, err := url.Parse(r.Header.Get("Location"))
		if err != nil {
			s.TB.Fatal(err)
		}
		base, _ := url.Parse(loc)
		loc = base.ResolveReference(next).String()
	}
	s.TB.Fatalf("the provider never sent the browser back")
	return nil
}

// Finish sends the callback with the state cookie.
func (f *Flow) Finish(tb testing.TB) *Response {
	tb.Helper()
	if f.Cookie == nil {
		return Get(tb, f.Callback)
	}
	return Get(tb, f.Callback, f.Cookie)
}
