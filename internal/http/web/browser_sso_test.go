package web_test

// Browser runs of signing in with Google through an in-process OpenID
// Connect provider (mockoidc), and of accepting an `authentication: sso`
// invitation through the organization's OIDC connection (the same provider).

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
)

func TestBrowserSocialAndSSO(t *testing.T) {
	exe := chromium(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	clock := apptest.NewClock()
	old := mockoidc.NowFunc
	mockoidc.NowFunc = clock.Now // ID tokens on Gatehouse's test clock
	t.Cleanup(func() { mockoidc.NowFunc = old })
	s := apptest.New(t, sqliteEngine(t), apptest.Options{Clock: clock, RealBaseURL: true, Configure: func(c *app.Config) {
		c.GoogleClientID, c.GoogleClientSecret, c.GoogleIssuer = idp.ClientID, idp.ClientSecret, idp.Issuer()
	}})
	dir := screenshotDir(t)

	// "Continue with Google": a new account, straight into the dashboard's
	// first step (creating an organization).
	gina := newBrowser(t, exe, s.URL, dir, "gina")
	gina.open("/login")
	gina.see("Continue with Google", "Sign in with your organization's single sign-on")
	gina.notSee("Continue with GitHub") // not configured
	gina.shot("21-sign-in-social", true)
	idp.QueueUser(&mockoidc.MockUser{Subject: "gina-1", Email: "gina@example.com", EmailVerified: true})
	gina.submit("#continue-google")
	gina.at("/orgs/new")
	gina.fill("#f-name", "Gina's Studio")
	gina.submit(`form[action="/orgs"] button[type=submit]`)
	gina.at("/dashboard")
	gina.see("Gina's Studio")
	gina.shot("22-google-dashboard", false)

	// An organization with an OIDC connection invites Sam with
	// authentication: sso.
	owner, _ := s.Signup("Olive Owner", "olive@acme.test")
	org := s.CreateOrg(owner, "Acme Video")
	s.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations/" + org + "/sso-connections", Token: owner, Body: map[string]any{
		"type": "oidc", "name": "Acme Okta", "issuer": idp.Issuer(), "client_id": idp.ClientID, "client_secret": idp.ClientSecret, "domains": []string{"acme.test"}}})
	s.Invite(owner, org, map[string]any{"email": "sam@acme.test", "role": "viewer", "authentication": "sso"})
	link := "/invitations/" + s.LastInvitationToken("sam@acme.test")

	sam := newBrowser(t, exe, s.URL, dir, "sam")
	sam.open(link)
	sam.see("Sign in with Acme Okta to accept", "Continue with Acme Okta")
	sam.notSee("Create account and accept")
	sam.shot("23-accept-sso", true)
	// The password form is gone; posting it anyway is refused.
	resp, err := http.PostForm(s.URL+link+"/register", map[string][]string{"name": {"Sam"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "single sign-on") {
		t.Fatalf("a password account on an sso invitation: %d %s", resp.StatusCode, body)
	}
	idp.QueueUser(&mockoidc.MockUser{Subject: "sam-1", Email: "sam@acme.test", EmailVerified: true})
	sam.submit("#continue-sso")
	sam.at(link)
	sam.see("You are signed in as sam@acme.test", "Accept invitation")
	sam.submit("#accept")
	sam.at("/dashboard")
	sam.see("Welcome to Acme Video")
	sam.shot("24-sso-member-dashboard", false)

	// Enforced: the owner's correct password sends her through the connection.
	conns := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/sso-connections", Token: owner})
	cid := conns["data"].([]any)[0].(map[string]any)["id"].(string)
	s.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/organizations/" + org + "/sso-connections/" + cid, Token: owner, Body: map[string]any{"enforced": true}})
	olive := newBrowser(t, exe, s.URL, dir, "olive")
	olive.open("/login")
	olive.fill("#f-email", "olive@acme.test")
	olive.fill("#f-password", apptest.TestPassword)
	idp.QueueUser(&mockoidc.MockUser{Subject: "olive-1", Email: "olive@acme.test", EmailVerified: true})
	if st := olive.submit(`form[action="/login"] button[type=submit]`); st != 403 {
		t.Fatalf("enforced password sign-in: status %d", st)
	}
	olive.see("Sign in with Acme Okta", "Continue with Acme Okta")
	olive.shot("25-enforced-sso", false)
	olive.submit(`a.btn-primary`)
	olive.at("/dashboard")
	olive.see("Acme Video")
	if n := len(s.AuditEvents("", "user.identity_linked")); n < 3 {
		t.Fatalf("%d identities linked, want Gina's, Sam's and Olive's", n)
	}
}
