package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// scimCall sends one SCIM request as an identity provider would.
func scimCall(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+"/scim/v2"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Settings → SCIM in a browser: the base URL, a token created and shown
// once, used by a provider, listed, then revoked; and the set-password
// link a provisioned account receives.
func TestBrowserSCIM(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	token, _ := s.Signup("Olivia Owner", "olivia@acme.test")
	s.CreateOrg(token, "Acme Video")
	b := newBrowser(t, exe, s.URL, screenshotDir(t), "owner")
	b.open("/login")
	b.fill("#f-email", "olivia@acme.test")
	b.fill("#f-password", "a long enough password")
	b.submit(`form[action="/login"] button[type=submit]`)

	b.open("/settings/scim")
	b.see("SCIM provisioning", "SCIM base URL", "No SCIM tokens yet", "Create a SCIM token")
	if v := b.eval(`document.querySelector("#scim-base-url").value`); v != "http://gatehouse.test/scim/v2" {
		t.Fatalf("base URL field %q", v)
	}
	b.fill("#f-name", "Entra ID")
	b.submit(`form[action="/settings/scim/tokens"] button[type=submit]`)
	b.see("Copy the token now", "SCIM token Entra ID created.")
	secret := b.eval(`document.querySelector("#secret").value`)
	if !strings.HasPrefix(secret, "gh_scim_") {
		t.Fatalf("token field %q", secret)
	}
	b.shot("66-scim-token-created", false)

	// The provider uses it: a new person, who gets a set-password link.
	if code, body := scimCall(t, s.URL, secret, "POST", "/Users",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mia@acme.test","name":{"givenName":"Mia","familyName":"Park"},"active":true}`); code != 201 {
		t.Fatalf("provision: %d %s", code, body)
	}
	b.open("/settings/scim")
	b.see("Entra ID", secret[:len("gh_scim_")+6])
	b.notSee("No SCIM tokens yet", secret)
	b.shot("67-scim", true)

	b.click(`details.confirm summary`)
	b.submit(`form[action$="/revoke"] button[type=submit]`)
	b.see("SCIM token revoked", "No SCIM tokens yet")
	if code, _ := scimCall(t, s.URL, secret, "GET", "/Users", ""); code != 401 {
		t.Fatalf("revoked token answered %d", code)
	}

	// The provisioned person follows the mailed link and chooses a password.
	mails := s.MailTo("mia@acme.test")
	if len(mails) != 1 {
		t.Fatalf("%d mails to mia", len(mails))
	}
	link := regexp.MustCompile(`/set-password\?token=[A-Za-z0-9_-]+`).FindString(mails[0].Text)
	if link == "" {
		t.Fatalf("no link in %q", mails[0].Text)
	}
	mia := newBrowser(t, exe, s.URL, screenshotDir(t), "mia")
	mia.open(link)
	mia.see("Choose a new password")
	mia.fill("#f-password", "mia's own passphrase")
	mia.submit(`form[action="/forgot-password/reset"] button[type=submit]`)
	mia.see("Your password is changed")
	s.SignIn("mia@acme.test", "mia's own passphrase")
}
