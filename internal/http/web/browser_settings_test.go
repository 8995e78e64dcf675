package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// TestBrowserOrgSettings: the organization settings page. Wrong input is
// refused beside its field and what was typed stays; requiring a second
// factor from a session without one is refused; a viewer has no Settings
// link and gets a 403 page at the typed address; an admin sees settings but
// neither transfer nor delete; ownership goes to a member, who as the last
// owner cannot leave, and who deletes the organization after typing its name.
func TestBrowserOrgSettings(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	olivia := s.SignUpTokens("Olivia Owner", "olivia@acme.test", "")
	org := s.CreateOrg(olivia.Access, "Acme Video")
	_, mia := s.InviteAndAccept(olivia.Access, org, "Mia Member", "mia@acme.test", map[string]any{"role": "viewer"})
	s.InviteAndAccept(olivia.Access, org, "Adam Admin", "adam@acme.test", map[string]any{"role": "admin"})

	owner := newBrowser(t, exe, s.URL, dir, "owner")
	owner.signInForm("olivia@acme.test", apptest.TestPassword)
	owner.submit(`.nav a[href="/settings"]`)
	owner.at("/settings")
	owner.see("Organization settings", "Name and logo", "Invitation policy", "Who can invite", "Second factor",
		"3 members have no second factor", "Mia Member (mia@acme.test)", "No single sign-on connection yet", "Webhooks",
		"Transfer ownership", "Delete this organization")

	// The logo: not an image, then a picture, cropped to a square.
	files := t.TempDir()
	notes, logo := filepath.Join(files, "notes.txt"), filepath.Join(files, "logo.jpg")
	if err := os.WriteFile(notes, []byte("not a logo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logo, apptest.JPEG(900, 300), 0o600); err != nil {
		t.Fatal(err)
	}
	owner.upload("#f-logo", notes)
	if st := owner.submit(`form[action="/settings/logo"] button[type=submit]`); st != 400 {
		t.Fatalf("text as logo: status %d, want 400", st)
	}
	owner.see("The logo was not changed.", "The logo must be a PNG, JPEG or WebP image.")
	owner.upload("#f-logo", logo)
	owner.submit(`form[action="/settings/logo"] button[type=submit]`)
	owner.see("Logo updated.", "Remove logo")
	owner.step("logo loads", chromedp.WaitVisible(chromedp.CSS("img.org-logo")))
	if got := owner.eval(`(() => { const i = document.querySelector("img.org-logo"); return i.complete ? i.naturalWidth + "x" + i.naturalHeight : "loading"; })()`); got != "256x256" {
		t.Fatalf("the logo is %s, want 256x256", got)
	}
	owner.shot("33-settings", true)

	// Rename: empty is refused beside the field.
	owner.eval(`document.querySelector("#f-name").value = ""`)
	if st := owner.submit(`form[action="/settings/name"] button[type=submit]`); st != 400 {
		t.Fatalf("empty name: status %d, want 400", st)
	}
	owner.see("Name is required.")
	owner.fill("#f-name", "Acme Studios")
	owner.submit(`form[action="/settings/name"] button[type=submit]`)
	owner.see("Organization settings saved: it is called Acme Studios.")
	if got := owner.eval(`document.querySelector("#org-switch option:checked").innerText`); got != "Acme Studios" {
		t.Fatalf("organization switcher shows %q", got)
	}

	// The policy: a number left out (the other fields keep what was typed);
	// then a bad domain and a default above the maximum.
	owner.eval(`document.querySelector("#f-invitations_per_day").value = ""`)
	owner.fill("#f-seat_limit", "25")
	if st := owner.submit(`form[action="/settings/policy"] button[type=submit]`); st != 400 {
		t.Fatalf("missing number: status %d, want 400", st)
	}
	owner.see("Invitations per day is required.")
	if v := owner.eval(`document.querySelector("#f-seat_limit").value`); v != "25" {
		t.Fatalf("typed seat limit not kept: %q", v)
	}
	owner.fill("#f-invitations_per_day", "50")
	owner.fill("#f-allowed_domains", "acme.test, not_a_domain")
	owner.fill("#f-default_expiry_days", "20")
	owner.fill("#f-max_expiry_days", "14")
	if st := owner.submit(`form[action="/settings/policy"] button[type=submit]`); st != 400 {
		t.Fatalf("bad policy: status %d, want 400", st)
	}
	owner.see("The domain “not_a_domain” is not a domain name such as example.com.", "Default expiry must not exceed the maximum expiry.")
	if v := owner.eval(`document.querySelector("#f-allowed_domains").value`); v != "acme.test, not_a_domain" {
		t.Fatalf("domains not kept: %q", v)
	}
	owner.shot("34-settings-policy-errors", false)
	owner.fill("#f-allowed_domains", "acme.test")
	owner.fill("#f-default_expiry_days", "7")
	owner.fill("#f-seat_limit", "10")
	owner.eval(`document.querySelector("#f-who_can_invite").value = "owners"`)
	owner.submit(`form[action="/settings/policy"] button[type=submit]`)
	owner.see("Invitation policy saved.")
	pol := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/policy", Token: olivia.Access})
	if pol["invitations_per_day"] != float64(50) || pol["max_expiry_days"] != float64(14) || pol["seat_limit"] != float64(10) || pol["who_can_invite"] != "owners" {
		t.Fatalf("policy after save: %v", pol)
	}

	// Requiring a second factor from a password session: refused, nothing changes.
	owner.click("#f-require_mfa")
	owner.submit(`form[action="/settings/mfa"] button[type=submit]`)
	owner.see("Sign in with a second factor before requiring one of everyone")
	if owner.eval(`String(document.querySelector("#f-require_mfa").checked)`) != "false" {
		t.Fatal("the requirement shows as on after a refusal")
	}

	// A viewer: no Settings link, 403 at the typed address.
	viewer := newBrowser(t, exe, s.URL, dir, "viewer")
	viewer.signInForm("mia@acme.test", apptest.TestPassword)
	viewer.open("/dashboard")
	if n := viewer.eval(`String(document.querySelectorAll('.nav a[href="/settings"]').length)`); n != "0" {
		t.Fatal("a viewer sees the Settings link")
	}
	if st := viewer.openStatus("/settings"); st != 403 {
		t.Fatalf("viewer at /settings: status %d, want 403", st)
	}
	viewer.see("You don't have access to this", "You need settings read permission")
	if st := viewer.postStatus("/settings/logo/remove"); st != 403 {
		t.Fatalf("viewer removing the logo: status %d, want 403", st)
	}
	viewer.shot("35-settings-refused", false)

	// An admin: settings, but no transfer or delete.
	admin := newBrowser(t, exe, s.URL, dir, "admin")
	admin.signInForm("adam@acme.test", apptest.TestPassword)
	admin.open("/settings")
	admin.see("Invitation policy", "Save invitation policy", "Upload logo")
	admin.notSee("Transfer ownership", "Delete this organization")

	// Transfer: nobody chosen, then Mia.
	owner.open("/settings")
	if st := owner.submit(`form[action="/settings/transfer"] button[type=submit]`); st != 400 {
		t.Fatalf("no member chosen: status %d, want 400", st)
	}
	owner.see("Member is required.")
	owner.eval(`document.querySelector("#f-user_id").value = "` + mia["id"].(string) + `"`)
	owner.see("Tick the box to confirm that you become an admin.")
	owner.click("#f-confirm_transfer")
	owner.submit(`form[action="/settings/transfer"] button[type=submit]`)
	owner.at("/members")
	owner.see("Mia Member is now the owner of Acme Studios. You are an admin.")
	owner.open("/settings")
	owner.notSee("Transfer ownership", "Delete this organization")

	// Mia is the last owner: leaving is refused.
	viewer.open("/members/" + mia["id"].(string) + "/remove")
	viewer.submit(`form[action$="/remove"] button[type=submit]`)
	viewer.see("The organization must keep at least one owner")

	// Delete: the wrong name, then the right one.
	viewer.open("/settings")
	viewer.see("Transfer ownership", "Delete this organization")
	viewer.fill("#f-confirm_name", "Acme Video")
	if st := viewer.submit(`form[action="/settings/delete"] button[type=submit]`); st != 400 {
		t.Fatalf("wrong name: status %d, want 400", st)
	}
	viewer.see("The organization was not deleted.", "That is not the organization's name. Type “Acme Studios” exactly.")
	viewer.shot("36-settings-delete-error", true)
	viewer.fill("#f-confirm_name", "Acme Studios")
	viewer.submit(`form[action="/settings/delete"] button[type=submit]`)
	viewer.at("/orgs/new")
	viewer.see("Organization Acme Studios deleted")
	s.Must(404, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: olivia.Access})
}
