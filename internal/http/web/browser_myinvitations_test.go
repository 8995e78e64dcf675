package web_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// TestBrowserMyInvitations: invitations addressed to a signed-in user's
// verified email show on the dashboard of the organization they are in,
// with Accept and Decline; declining stays on the dashboard, accepting
// moves the session to the new organization (findings_test.go covers
// someone else's invitation id).
func TestBrowserMyInvitations(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	ada := s.SignUpTokens("Ada", "ada@acme.test", "")
	s.CreateOrg(ada.Access, "Acme Video")
	for _, name := range []string{"Globex", "Initech"} {
		o := s.SignUpTokens(name+" Owner", "owner@"+name+".test", "")
		org := s.CreateOrg(o.Access, name)
		s.Invite(o.Access, org, map[string]any{"email": "ada@acme.test", "role": "viewer"})
	}
	b := newBrowser(t, exe, s.URL, dir, "ada")
	b.signInForm("ada@acme.test", apptest.TestPassword)
	b.open("/dashboard")
	b.see("Invitations waiting for you", "Globex", "Initech", "invited by Globex Owner")
	b.shot("37-my-invitations", true)
	b.submit(`#my-invitations button[aria-label="Decline the invitation to Initech"]`)
	b.at("/dashboard")
	b.see("Invitation declined.", "Globex")
	b.notSee("Initech")
	b.submit(`#my-invitations button[aria-label="Accept the invitation to Globex"]`)
	b.at("/dashboard")
	b.see("You joined Globex.")
	b.notSee("Invitations waiting for you")
	if got := b.eval(`document.querySelector("#org-switch option:checked").innerText`); got != "Globex" {
		t.Fatalf("current organization %q, want Globex", got)
	}
}
