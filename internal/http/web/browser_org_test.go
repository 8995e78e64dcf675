package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// TestBrowserOrganizationPerSession: one person signed in twice, in two
// browsers. Each browser keeps its own organization: switching, or
// accepting an invitation, in one never moves the other.
func TestBrowserOrganizationPerSession(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	ada := s.SignUpTokens("Ada", "ada@acme.test", "")
	orgA := s.CreateOrg(ada.Access, "Alpha Org")
	s.CreateProject(ada.Access, orgA, "Alpha Project")
	orgB := s.CreateOrg(ada.Access, "Beta Org")
	s.CreateProject(ada.Access, orgB, "Beta Project")

	dir := t.TempDir()
	one := newBrowser(t, exe, s.URL, dir, "browser 1")
	two := newBrowser(t, exe, s.URL, dir, "browser 2")
	for _, b := range []*browser{one, two} {
		b.open("/login")
		b.fill("#f-email", "ada@acme.test")
		b.fill("#f-password", apptest.TestPassword)
		b.submit(`form[action="/login"] button[type=submit]`)
		b.open("/dashboard")
		b.see("Alpha Project")
	}

	// Browser 2 switches to Beta; browser 1 stays in Alpha.
	two.step("choose Beta", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#org-switch").value = %q`, orgB)))
	two.submit(`form.org-switch button[type=submit]`)
	two.open("/dashboard")
	two.see("Beta Project")
	two.notSee("Alpha Project")
	one.open("/dashboard")
	one.see("Alpha Project")
	one.notSee("Beta Project")

	// Browser 2 accepts an invitation to a third organization; browser 1
	// still stays in Alpha, with its rights.
	other := s.SignUpTokens("Owner", "owner@acme.test", "")
	orgC := s.CreateOrg(other.Access, "Gamma Org")
	s.CreateProject(other.Access, orgC, "Gamma Project")
	s.Invite(other.Access, orgC, map[string]any{"email": "ada@acme.test", "role": "viewer"})
	two.open("/invitations/" + s.LastInvitationToken("ada@acme.test"))
	two.submit(`form[action$="/accept"] button[type=submit]`)
	two.open("/dashboard")
	two.see("Gamma Project")
	one.open("/dashboard")
	one.see("Alpha Project")
	one.notSee("Gamma Project", "Beta Project")
	one.open("/members")
	one.at("/members")
	one.see("Ada", "Alpha Org")
}
