package web_test

import (
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// TestBrowserSSOConnections: the owner adds an OpenID Connect connection
// from Settings → Single sign-on against an in-process provider (mockoidc):
// a bad issuer is refused beside its field with what was typed kept but
// not the secret; the page gives the redirect URI; an edit with the secret
// left empty keeps it; requiring it sends the next password sign-in through
// the provider; delete asks first. A viewer has no link and a 403 page.
func TestBrowserSSOConnections(t *testing.T) {
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
	s := apptest.New(t, sqliteEngine(t), apptest.Options{Clock: clock, RealBaseURL: true})
	dir := screenshotDir(t)
	olivia := s.SignUpTokens("Olivia Owner", "olivia@acme.test", "")
	org := s.CreateOrg(olivia.Access, "Acme Video")
	s.InviteAndAccept(olivia.Access, org, "Mia Member", "mia@acme.test", map[string]any{"role": "viewer"})

	owner := newBrowser(t, exe, s.URL, dir, "owner")
	owner.signInForm("olivia@acme.test", apptest.TestPassword)
	owner.open("/settings")
	owner.see("No single sign-on connection yet.")
	owner.submit(`.link-list a[href="/settings/sso"]`)
	owner.at("/settings/sso")
	owner.see("No single sign-on connection yet", "Add one below", "Redirect URI to enter in your identity provider")
	if v := owner.eval(`document.querySelector("#new-redirect").value`); v != s.URL+"/v1/auth/sso/oidc/callback" {
		t.Fatalf("redirect URI for a new connection: %q", v)
	}
	if v := owner.eval(`getComputedStyle(document.querySelector(".sso-saml")).display`); v != "none" {
		t.Fatalf("SAML fields shown for an OIDC connection: display %s", v)
	}

	// A bad issuer and no client ID: refused beside the fields.
	owner.fill("#f-name", "Acme Okta")
	owner.fill("#f-domains", "acme.test")
	owner.fill("#f-issuer", "idp.example")
	owner.fill("#f-client_secret", idp.ClientSecret)
	if st := owner.submit(`form[action="/settings/sso"] button[type=submit]`); st != 400 {
		t.Fatalf("bad issuer: status %d, want 400", st)
	}
	owner.see("Please correct the fields marked below.", "Issuer URL must be an http:// or https:// URL.", "Client ID is required")
	for sel, want := range map[string]string{"#f-name": "Acme Okta", "#f-domains": "acme.test", "#f-issuer": "idp.example", "#f-client_secret": ""} {
		if v := owner.eval(`document.querySelector("` + sel + `").value`); v != want {
			t.Fatalf("%s after the refusal: %q, want %q", sel, v, want)
		}
	}
	if v := owner.attr("#f-issuer", "aria-invalid"); v != "true" {
		t.Fatalf("issuer not marked invalid: %q", v)
	}
	owner.fill("#f-issuer", idp.Issuer())
	owner.fill("#f-client_id", idp.ClientID)
	owner.fill("#f-client_secret", idp.ClientSecret)
	owner.submit(`form[action="/settings/sso"] button[type=submit]`)
	owner.see("Connection Acme Okta created.", "Give your identity provider", "OpenID Connect single sign-on for acme.test")
	if v := owner.eval(`document.querySelector("input[id^=redirect-]").value`); v != s.URL+"/v1/auth/sso/oidc/callback" {
		t.Fatalf("redirect URI shown: %q", v)
	}
	if strings.Contains(owner.eval(`document.documentElement.outerHTML`), idp.ClientSecret) {
		t.Fatal("the client secret is shown back")
	}

	// A viewer: no link, and a 403 page at the typed address.
	viewer := newBrowser(t, exe, s.URL, dir, "viewer")
	viewer.signInForm("mia@acme.test", apptest.TestPassword)
	viewer.at("/dashboard")
	if n := viewer.eval(`String(document.querySelectorAll('a[href^="/settings"]').length)`); n != "0" {
		t.Fatal("a viewer sees a link to the settings")
	}
	if st := viewer.openStatus("/settings/sso"); st != 403 {
		t.Fatalf("viewer at /settings/sso: status %d, want 403", st)
	}
	viewer.see("You don't have access to this", "You need settings read permission")

	// Edit with the secret left empty: the name changes, the secret stays.
	owner.fill("#f-name", "Acme Single Sign-On")
	owner.submit(`form.sso-form button[type=submit]`)
	owner.at("/settings/sso")
	owner.see("Connection Acme Single Sign-On saved.", "Acme Single Sign-On", "OpenID Connect", "acme.test", "Optional")
	owner.submit(`form[action$="/enforced"] button[type=submit]`)
	owner.see("Single sign-on through Acme Single Sign-On is now required for acme.test", "Enforced", "Stop requiring")
	owner.shot("68-sso-connections", true)

	// Required: Olivia's correct password sends her through the provider
	// (with the kept secret, which the code exchange needs).
	again := newBrowser(t, exe, s.URL, dir, "olivia-again")
	again.open("/login")
	again.fill("#f-email", "olivia@acme.test")
	again.fill("#f-password", apptest.TestPassword)
	if st := again.submit(`form[action="/login"] button[type=submit]`); st != 403 {
		t.Fatalf("enforced password sign-in: status %d", st)
	}
	again.see("Continue with Acme Single Sign-On")
	idp.QueueUser(&mockoidc.MockUser{Subject: "olivia-1", Email: "olivia@acme.test", EmailVerified: true})
	again.submit(`a.btn-primary`)
	again.at("/dashboard")
	again.see("Acme Video")

	// Delete asks first.
	owner.open("/settings/sso")
	owner.click(`details.confirm summary`)
	owner.see("Delete Acme Single Sign-On? People at acme.test can no longer sign in through it.")
	owner.submit(`form[action$="/delete"] button[type=submit]`)
	owner.see("Connection Acme Single Sign-On deleted", "No single sign-on connection yet")
	if n := len(s.AuditEvents(org, "sso_connection.deleted")); n != 1 {
		t.Fatalf("%d deletions audited", n)
	}
}
