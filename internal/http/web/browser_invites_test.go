package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
)

// pickViewer chooses the built-in viewer role in the access picker.
func pickViewer(b *browser) {
	b.t.Helper()
	b.step("choose viewer", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#f-role").value = %q`, gatehouse.RoleViewerID)))
}

// TestBrowserInvitationsAtScale: Invite Member for many (pasted and CSV,
// with per-row results, refusals included), invite links (created, joined,
// used up, revoked), the invitation email editor (an unknown variable
// refused beside its field, preview, test send, save, reset) and an
// accept that lands on the invitation's redirect_url.
func TestBrowserInvitationsAtScale(t *testing.T) {
	exe := chromium(t)
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>Acme app</title><h1>Welcome to the Acme app</h1>")
	}))
	defer landing.Close()
	s := apptest.New(t, sqliteEngine(t), apptest.Options{Config: func(c *app.Config) { c.AllowedRedirectOrigins = landing.URL }})
	token, _ := s.Signup("Olivia Owner", "olivia@acme.test")
	org := s.CreateOrg(token, "Acme Video")
	s.CreateProject(token, org, "Marketing")
	dir := screenshotDir(t)
	b := newBrowser(t, exe, s.URL, dir, "owner")
	b.open("/login")
	b.fill("#f-email", "olivia@acme.test")
	b.fill("#f-password", apptest.TestPassword)
	b.submit(`form[action="/login"] button[type=submit]`)

	// Pasted addresses: two good, one malformed, one repeated.
	b.open("/members/invite")
	b.fill("#f-emails", "ann@acme.test, bob@acme.test\nnot-an-address\nann@acme.test")
	pickViewer(b)
	b.shot("50-invite-many", false)
	if st := b.submit(`form[action="/members/invite"] button[type=submit]`); st != 200 {
		t.Fatalf("bulk invite answered %d", st)
	}
	b.see("2 invited, 2 not", "ann@acme.test", "bob@acme.test", "Invited", "Not sent (400)", "Email must be", "Not sent (409)", "Already on row 1 of this list.")
	b.shot("51-invite-results", true)
	if len(s.MailTo("ann@acme.test")) != 1 || len(s.MailTo("bob@acme.test")) != 1 {
		t.Fatal("pasted invitations not mailed once each")
	}

	// A CSV upload: each row its own role; bad rows say why.
	csvPath := filepath.Join(t.TempDir(), "team.csv")
	if err := os.WriteFile(csvPath, []byte("email,name,role\ncara@acme.test,Cara,viewer\nbad-address,Bad,viewer\ndan@acme.test,Dan,no-such-role\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.open("/members/invite")
	b.step("choose file", chromedp.SetUploadFiles(chromedp.CSS("#f-csv"), []string{csvPath}))
	b.submit("#upload-csv")
	b.see("1 invited, 2 not", "cara@acme.test", "Cara", "bad-address", "dan@acme.test")
	// A file that is not email,name,role is refused as a whole.
	if err := os.WriteFile(csvPath, []byte("a,b,c,d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.open("/members/invite")
	b.step("choose file", chromedp.SetUploadFiles(chromedp.CSS("#f-csv"), []string{csvPath}))
	if st := b.submit("#upload-csv"); st != 400 {
		t.Fatalf("bad CSV answered %d", st)
	}
	b.see("The CSV file was not used", "expected email,name,role")
	b.submit("#upload-csv") // no file chosen
	b.see("Choose a CSV file to upload.")

	// An invite link for one person.
	b.open("/members/invite-links")
	b.see("Invite links", "No invite links yet", "Create an invite link")
	pickViewer(b)
	b.fill("#f-max_uses", "0")
	if st := b.submit(`form[action="/members/invite-links"] button[type=submit]`); st != 400 {
		t.Fatalf("max_uses 0 answered %d", st)
	}
	b.see("Uses must")
	pickViewer(b)
	b.fill("#f-max_uses", "1")
	b.submit(`form[action="/members/invite-links"] button[type=submit]`)
	b.see("Copy the link now", "Up to 1 people")
	link := b.eval(`document.querySelector("#secret").value`)
	linkToken := link[strings.LastIndexByte(link, '/')+1:]
	if !strings.HasPrefix(link, "http://gatehouse.test/invite-links/") || len(linkToken) < 20 {
		t.Fatalf("link %q", link)
	}
	b.shot("52-invite-link-created", false)

	// Lena joins with it; Max finds it used up.
	lena, _ := s.Signup("Lena Link", "lena@acme.test")
	_ = lena
	lb := newBrowser(t, exe, s.URL, dir, "lena")
	lb.open("/invite-links/" + linkToken)
	lb.see("Join Acme Video", "1 place left", "Sign in to join")
	lb.submit("#signin-to-join")
	lb.fill("#f-email", "lena@acme.test")
	lb.fill("#f-password", apptest.TestPassword)
	lb.submit(`form[action^="/login"] button[type=submit]`)
	lb.at("/invite-links/" + linkToken)
	lb.see("You are signed in as lena@acme.test")
	lb.shot("53-invite-link-join", true)
	lb.submit("#join")
	lb.at("/dashboard")
	lb.see("Welcome to Acme Video")
	s.Signup("Max Late", "max@acme.test")
	mb := newBrowser(t, exe, s.URL, dir, "max")
	mb.open("/login")
	mb.fill("#f-email", "max@acme.test")
	mb.fill("#f-password", apptest.TestPassword)
	mb.submit(`form[action="/login"] button[type=submit]`)
	mb.open("/invite-links/" + linkToken)
	mb.see("This invite link has been used up")
	mb.notSee("Join Acme Video")

	// The owner sees the use, and revokes a second link.
	b.open("/members/invite-links")
	b.see("1 of 1", "Used up")
	pickViewer(b)
	b.fill("#f-max_uses", "5")
	b.submit(`form[action="/members/invite-links"] button[type=submit]`)
	second := b.eval(`document.querySelector("#secret").value`)
	second = second[strings.LastIndexByte(second, '/')+1:]
	b.open("/members/invite-links")
	b.click(`details.confirm summary`)
	b.submit(`form[action$="/revoke"] button[type=submit]`)
	b.see("Invite link revoked")
	b.shot("54-invite-links", true)
	mb.open("/invite-links/" + second)
	mb.see("This invite link was revoked")
	mb.open("/invite-links/not-a-real-token-at-all-0123456789")
	mb.see("This invite link is not valid")

	// The invitation email editor.
	b.open("/settings/email-templates")
	b.see("Invitation email", "Built-in template", "{{.AcceptURL}}")
	b.fill("#f-subject", "Join {{.OrganizationName}}")
	b.fill("#f-text", "Your password: {{.Password}}")
	if st := b.submit("#save-template"); st != 422 {
		t.Fatalf("unknown variable answered %d", st)
	}
	b.see("unknown variable .Password", "Built-in template")
	b.shot("55-email-template-error", false)
	b.fill("#f-text", "{{.InviterName}} invites you: {{.AcceptURL}} (until {{.ExpiresAt}})")
	b.fill("#f-html", `<p><b>{{.OrganizationName}}</b> <a href="{{.AcceptURL}}">Join</a></p>`)
	b.submit("#preview-template")
	b.see("Preview", "Join Acme Video", "Olivia Owner invites you: http://gatehouse.test/invitations/sample-token")
	if sb := b.attr(`iframe.mail-html`, "sandbox"); sb != "" {
		t.Fatalf("preview frame sandbox %q, want empty (everything off)", sb)
	}
	b.submit("#test-template")
	b.see("Test email sent to olivia@acme.test")
	found := false
	for _, m := range s.MailTo("olivia@acme.test") {
		found = found || m.Subject == "[Test] Join Acme Video"
	}
	if !found {
		t.Fatal("no test mail")
	}
	b.submit("#save-template")
	b.see("Invitation email saved", "Your own template")
	b.shot("56-email-template", true)
	s.Invite(token, org, map[string]any{"email": "eve@acme.test", "role": "viewer", "redirect_url": landing.URL + "/welcome"})
	if m := s.MailTo("eve@acme.test"); len(m) != 1 || m[0].Subject != "Join Acme Video" {
		t.Fatalf("invitation mail with the template: %+v", m)
	}

	// Eve accepts in the browser and lands on the invitation's redirect_url.
	eb := newBrowser(t, exe, s.URL, dir, "eve")
	eb.open("/invitations/" + s.LastInvitationToken("eve@acme.test"))
	eb.fill("#f-name", "Eve Example")
	eb.fill("#f-password", apptest.TestPassword)
	eb.submit(`form[action$="/register"] button[type=submit]`)
	// The page answering the post sends the browser on (a meta refresh:
	// the CSP's form-action 'self' forbids a cross-origin redirect there).
	deadline := time.Now().Add(15 * time.Second)
	for eb.eval(`location.href`) != landing.URL+"/welcome" {
		if time.Now().After(deadline) {
			t.Fatalf("after accepting at %s, want %s/welcome", eb.eval(`location.href`), landing.URL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	eb.see("Welcome to the Acme app")

	// Back to the built-in email.
	b.open("/settings/email-templates")
	b.submit(`#template-reset button[type=submit]`)
	b.see("Back to the built-in invitation email", "Built-in template")
}
