package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// The sign-in page's "Sign in with SSO" form: a work email leads to a page
// whose link starts the connection's flow (a link, since the CSP's
// form-action 'self' would stop a form from ending at the IdP).
func TestSSOLoginPage(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, sqliteEngine(t))
	owner, _ := s.Signup("Owner", "owner@acme.test")
	org := s.CreateOrg(owner, "Acme")
	conn := s.AddSSOConnection(owner, org, "acme.test")
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := apptest.NoRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := get("/login/sso?email=sam%40acme.test&next=%2Fmembers")
	if st != 200 || !strings.Contains(body, "Continue with OIDC acme.test") ||
		!strings.Contains(body, "/v1/auth/sso?connection_id="+conn["id"].(string)) || !strings.Contains(body, "redirect_to=%2Fmembers") {
		t.Fatalf("%d %s", st, body)
	}
	st, body = get("/login/sso?email=sam%40nowhere.test&next=https%3A%2F%2Fevil.test")
	if st != 404 || !strings.Contains(body, "No single sign-on for this address") || strings.Contains(body, "evil.test") {
		t.Fatalf("%d %s", st, body)
	}
	if st, _ = get("/login/sso?email=not-an-email"); st != 400 {
		t.Fatalf("bad email: %d", st)
	}
}
