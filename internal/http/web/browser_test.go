package web_test

// Browser tests: Debian's chromium, driven with chromedp, plays the guide
// "User Management" end to end against a real server. They skip when no
// chromium is installed (.ci/run installs it). With GATEHOUSE_SCREENSHOTS=1
// the screenshots go to docs/screenshots (commit them); otherwise to a
// temporary folder, so CI runs never rewrite files.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// chromium finds the browser, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tour skipped under -short")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found: install it (apt-get install chromium) to run the browser tests")
	return ""
}

// sqliteEngine is the engine the browser tests run on.
func sqliteEngine(t *testing.T) storetest.Engine {
	for _, e := range storetest.Engines(t) {
		if e.Name == "sqlite" {
			return e
		}
	}
	t.Fatal("no sqlite engine")
	return storetest.Engine{}
}

// screenshotDir is docs/screenshots with GATEHOUSE_SCREENSHOTS=1, else a
// temporary folder.
func screenshotDir(t *testing.T) string {
	if os.Getenv("GATEHOUSE_SCREENSHOTS") == "1" {
		dir, err := filepath.Abs(filepath.Join("..", "..", "..", "docs", "screenshots"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// browser is one person's browser (its own profile, so its own cookies).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	who  string
	// tabStops is how many controls the last keyboard walk reached.
	tabStops int
}

const desktopW, desktopH = 1280, 900

func newBrowser(t *testing.T, exe, base, dir, who string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.WindowSize(desktopW, desktopH),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopW, desktopH)); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base, dir: dir, who: who}
}

// step runs actions with a time limit, failing the test on error.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v (at %s)", b.who, what, err, b.path())
	}
}

// open navigates to a path of the server.
func (b *browser) open(path string) {
	b.t.Helper()
	b.step("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// submit clicks a button that navigates, and waits for the next page.
func (b *browser) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: submit %s: %v (at %s)", b.who, sel, err, b.path())
	}
	b.step("page ready", chromedp.WaitReady(chromedp.CSS("body")))
	return resp.Status
}

// fill types into an input after clearing it.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.step("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.step("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.who, js, err)
	}
	return v
}

func (b *browser) text() string { return b.eval(`document.body.innerText`) }

func (b *browser) path() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(loc, b.base)
}

// see fails the test unless the page shows every text.
func (b *browser) see(texts ...string) {
	b.t.Helper()
	body := b.text()
	for _, s := range texts {
		if !strings.Contains(body, s) {
			b.t.Fatalf("%s: page %s does not show %q; it shows:\n%s", b.who, b.path(), s, body)
		}
	}
}

func (b *browser) notSee(texts ...string) {
	b.t.Helper()
	body := b.text()
	for _, s := range texts {
		if strings.Contains(body, s) {
			b.t.Fatalf("%s: page %s shows %q, which it should not:\n%s", b.who, b.path(), s, body)
		}
	}
}

func (b *browser) at(path string) {
	b.t.Helper()
	if got := b.path(); got != path && !strings.HasPrefix(got, path+"?") {
		b.t.Fatalf("%s: at %s, want %s", b.who, got, path)
	}
}

// shot saves a full-page screenshot at desktop width and, with mobile, at
// 375 px too.
func (b *browser) shot(name string, mobile bool) {
	b.t.Helper()
	save := func(file string) {
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", file, err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, file), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	save(name + ".png")
	if mobile {
		b.step("mobile viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
		// Usable at 375 px: nothing sticks out sideways. The page lays
		// itself out again after the viewport changes, which a loaded
		// machine (or the race detector) can delay: a page that is still
		// wide after two seconds is wide.
		w := b.eval(`String(document.documentElement.scrollWidth)`)
		for deadline := time.Now().Add(2 * time.Second); w != "375" && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			w = b.eval(`String(document.documentElement.scrollWidth)`)
		}
		if w != "375" {
			b.t.Errorf("%s: page %s is %s px wide at a 375 px viewport", b.who, b.path(), w)
		}
		save(name + "-mobile.png")
		b.step("desktop viewport", chromedp.EmulateReset(), chromedp.EmulateViewport(desktopW, desktopH))
	}
}

// id returns an element attribute through JavaScript.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {getAttribute(){return ""}}).getAttribute(%q) || ""`, sel, name))
}

// projectID finds the id of a project by its name on the dashboard.
func (b *browser) projectID(name string) string {
	b.t.Helper()
	b.open("/dashboard")
	href := b.eval(fmt.Sprintf(`(Array.from(document.querySelectorAll(".project-list a")).find(a => a.innerText.includes(%q)) || {getAttribute(){return ""}}).getAttribute("href")`, name))
	id := strings.TrimPrefix(href, "/projects/")
	if id == "" || id == href {
		b.t.Fatalf("no project %q on the dashboard", name)
	}
	return id
}

// folderID finds the id of a folder by its name in the access form.
func (b *browser) folderID(projectID, name string) string {
	b.t.Helper()
	sel := fmt.Sprintf(`input[name^="folder.%s."]`, projectID)
	id := b.eval(fmt.Sprintf(`(() => { for (const i of document.querySelectorAll(%q)) { if (i.closest("tr").querySelector(".fname").innerText.trim() === %q) return i.name.split(".")[2]; } return ""; })()`, sel, name))
	if id == "" {
		b.t.Fatalf("no folder %q in the access form", name)
	}
	return id
}

var linkRe = regexp.MustCompile(`https?://\S+(/invitations/[A-Za-z0-9_-]+)`)

// TestBrowserUserManagement plays the guide: an owner signs up, verifies,
// creates an organization and two projects with folders, invites a member
// with one project, billing and API; the member opens the link from the
// development mailbox, creates the account and accepts; the member appears
// in the Members tab; the owner edits their access and removes them; the
// wrong-account and expired pages show.
func TestBrowserUserManagement(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	started := time.Now()
	owner := newBrowser(t, exe, s.URL, dir, "owner")

	// A browser asking for / is sent to sign in.
	owner.open("/")
	owner.at("/login")
	owner.see("Sign in", "Create an account")
	owner.shot("01-sign-in", true)

	// Sign up; a too short password is refused next to the field, and what
	// was typed stays.
	owner.submit(`a[href="/register"]`)
	owner.at("/register")
	owner.fill("#f-name", "Olivia Owner")
	owner.fill("#f-email", "olivia@acme.test")
	owner.fill("#f-password", "short")
	if st := owner.submit(`form[action="/register"] button[type=submit]`); st != 400 {
		t.Fatalf("short password: status %d, want 400", st)
	}
	owner.see("Password must be at least 10 characters.")
	if v := owner.eval(`document.querySelector("#f-email").value`); v != "olivia@acme.test" {
		t.Fatalf("email not kept: %q", v)
	}
	owner.shot("02-register-errors", true)
	owner.fill("#f-password", "correct horse battery staple")
	owner.submit(`form[action="/register"] button[type=submit]`)
	owner.at("/verify")
	owner.see("We sent a 6-digit code to olivia@acme.test")
	owner.shot("03-verify-email", false)

	// The code from the mail.
	owner.fill("#f-otp", s.LastCode("olivia@acme.test"))
	owner.submit(`form[action="/verify"] button[type=submit]`)

	// The right code signs in at once. No organization yet: create one.
	owner.at("/orgs/new")
	owner.see("Your email is verified")
	owner.notSee("Welcome back")
	owner.fill("#f-name", "Acme Video")
	owner.submit(`form[action="/orgs"] button[type=submit]`)
	owner.at("/dashboard")
	owner.see("Organization Acme Video created", "No projects yet")
	owner.shot("04-dashboard-empty", false)

	// Two projects with folders.
	owner.fill("#f-name", "Marketing")
	owner.fill("#f-description", "Campaign videos and livestreams")
	owner.submit(`form[action="/projects"] button[type=submit]`)
	owner.see("Project Marketing created")
	for _, f := range []struct{ name, parent string }{{"Campaigns", ""}, {"2026 launch", "Campaigns"}, {"Raw footage", ""}} {
		owner.fill("#f-name", f.name)
		if f.parent != "" {
			val := owner.eval(fmt.Sprintf(`Array.from(document.querySelectorAll("#f-parent option")).find(o => o.textContent.trim().endsWith(%q)).value`, f.parent))
			owner.step("choose parent", chromedp.SetValue(chromedp.CSS("#f-parent"), val))
		}
		owner.submit(`form[action$="/folders"] button[type=submit]`)
		owner.see("Folder " + f.name + " created.")
	}
	owner.shot("05-project-folders", true)
	owner.open("/dashboard")
	owner.fill("#f-name", "Training")
	owner.submit(`form[action="/projects"] button[type=submit]`)
	owner.fill("#f-name", "Onboarding")
	owner.submit(`form[action$="/folders"] button[type=submit]`)
	owner.open("/dashboard")
	owner.see("Marketing", "Training")
	owner.shot("06-dashboard", true)
	marketing, training := owner.projectID("Marketing"), owner.projectID("Training")

	// Members tab in the sidebar; Invite Member at the top right.
	owner.submit(`.nav a[href="/members"]`)
	owner.at("/members")
	owner.see("Olivia Owner", "Last owner", "No pending invitations")
	owner.submit("#invite-member")
	owner.at("/members/invite")
	owner.see("Project permissions", "Marketing", "Training", "Billing permissions", "API permissions", "Send Invite", "Cancel")
	owner.shot("07-invite-form", true)

	// A mistake first: the form keeps the ticks and says what is wrong.
	owner.fill("#f-email", "mia@")
	owner.click("#p-" + marketing)
	owner.click("#org-billing")
	if st := owner.submit(`form[action="/members/invite"] button[type=submit]`); st != 400 {
		t.Fatalf("bad email: status %d, want 400", st)
	}
	owner.see("Please correct the fields marked below.", "Email must be an email address")
	if owner.eval(`String(document.querySelector("#p-`+marketing+`").checked && document.querySelector("#org-billing").checked)`) != "true" {
		t.Fatal("the invite form lost the ticked project or billing")
	}
	owner.shot("08-invite-errors", false)

	// The guide's invitation: one project, billing and API.
	owner.open("/members/invite")
	owner.fill("#f-email", "mia@acme.test")
	owner.click("#p-" + marketing)
	owner.click("#org-billing")
	owner.click("#org-api")
	owner.shot("09-invite-filled", true)
	owner.submit(`form[action="/members/invite"] button[type=submit]`)
	owner.at("/members")
	owner.see("Invitation sent to mia@acme.test", "Pending invitations", "mia@acme.test", "Full access to project Marketing",
		"Organization billing", "Organization API access", "Pending", "Resend", "Cancel")
	owner.click(`table.invitations details.confirm summary`) // the Cancel confirm step opens in place
	owner.step("confirm step", chromedp.WaitVisible(chromedp.CSS(`table.invitations .confirm-box button`)))
	owner.see("Cancel the invitation to mia@acme.test? Its link stops working.")
	owner.shot("10-members-pending", true)
	owner.click(`table.invitations details.confirm summary`)

	// The member opens the link from the development mailbox.
	member := newBrowser(t, exe, s.URL, dir, "member")
	member.open("/dev/mail")
	m := linkRe.FindStringSubmatch(member.text())
	if m == nil {
		t.Fatalf("no invitation link in the development mailbox:\n%s", member.text())
	}
	link := m[1]
	member.open(link)
	member.see("Join Acme Video", "Olivia Owner invited mia@acme.test", "Full access to project Marketing",
		"Organization billing", "Organization API access", "Create your account to accept")
	if v := member.eval(`document.querySelector("#f-email").readOnly + ":" + document.querySelector("#f-email").value`); v != "true:mia@acme.test" {
		t.Fatalf("the email is not fixed to the invitation's: %s", v)
	}
	member.shot("11-accept-create-account", true)
	member.fill("#f-name", "Mia Member")
	member.fill("#f-password", "a long member passphrase")
	member.submit(`form[action$="/register"] button[type=submit]`)
	member.at("/dashboard")
	member.see("Welcome to Acme Video!", "Marketing")
	member.notSee("Training")
	member.shot("12-member-dashboard", true)

	// The member appears in the owner's Members tab.
	owner.open("/members")
	owner.see("Mia Member", "mia@acme.test", "Full access to project Marketing", "No pending invitations")
	owner.shot("13-members", true)
	mia := strings.TrimSuffix(strings.TrimPrefix(owner.attr(`#members a[href$="/edit"]`, "href"), "/members/"), "/edit")
	if mia == "" {
		t.Fatal("no Edit permissions link for the member")
	}

	// The owner edits the member's access: Marketing becomes custom —
	// livestreams read and the Campaigns folder read and write — and
	// billing goes.
	owner.submit(`#members a[href$="/edit"]`)
	owner.see("Edit permissions", "Mia Member")
	owner.click(fmt.Sprintf(`input[name="mode.%s"][value=custom]`, marketing))
	owner.click(fmt.Sprintf(`input[name="area.%s.livestreams"][value=read]`, marketing))
	campaigns := owner.folderID(marketing, "Campaigns")
	owner.click(fmt.Sprintf(`input[name="folder.%s.%s"][value=read]`, marketing, campaigns))
	owner.click(fmt.Sprintf(`input[name="folder.%s.%s"][value=write]`, marketing, campaigns))
	owner.click("#org-billing")
	owner.shot("14-edit-permissions", true)
	owner.submit(`form[action$="/edit"] button[type=submit]`)
	owner.at("/members")
	owner.see("Access of Mia Member updated.", "Livestreams of project Marketing: read",
		"Folder Campaigns in project Marketing (and its subfolders): read, write", "Organization API access")
	owner.notSee("Organization billing")
	_ = training

	// The member sees the change at once.
	member.open("/dashboard")
	member.see("Marketing")

	// The owner removes the member, after a confirmation step.
	owner.submit(fmt.Sprintf(`a[href="/members/%s/remove"]`, mia))
	owner.see("Remove Mia Member?", "will lose all access")
	owner.shot("15-remove-confirm", false)
	owner.submit(`form[action$="/remove"] button[type=submit]`)
	owner.at("/members")
	owner.see("Mia Member (mia@acme.test) was removed from Acme Video.", "Last owner")
	owner.notSee("mia@acme.test (")
	// The last owner has no Remove button.
	if n := owner.eval(`String(document.querySelectorAll('#members a[href$="/remove"]').length)`); n != "0" {
		t.Fatalf("%s remove links, want none: the last owner cannot be removed", n)
	}
	member.open("/dashboard")
	member.see("Create an organization")

	// An API key with grants; the secret is shown once with a copy button.
	owner.submit(`.nav a[href="/api-keys"]`)
	owner.see("No API keys yet")
	owner.fill(`#new-key #f-name`, "CI uploader")
	owner.click("#p-" + marketing)
	owner.submit(`#new-key button[type=submit]`)
	owner.see("Your new API key", "Copy the key now", "Full access to project Marketing")
	secretText := owner.eval(`document.querySelector("#secret").value`)
	if !strings.HasPrefix(secretText, "gh_key_") {
		t.Fatalf("no key secret shown: %q", secretText)
	}
	owner.click(`button[data-copy]`)
	owner.shot("16-api-key-created", false)
	owner.open("/api-keys")
	owner.notSee(secretText)
	owner.see("CI uploader")

	// Audit log and sessions.
	owner.open("/audit")
	owner.see("member.removed", "member.updated", "invitation.accepted", "invitation.created")
	owner.shot("17-audit-log", false)
	owner.open("/audit?action=member.")
	owner.see("member.removed")
	owner.notSee("invitation.created")
	owner.open("/sessions")
	owner.see("This device", "End session")
	owner.shot("18-sessions", false)

	// Wrong account: the owner, signed in, opens an invitation for someone else.
	owner.open("/members/invite")
	owner.fill("#f-email", "noah@acme.test")
	owner.step("role", chromedp.SetValue(chromedp.CSS("#f-role"), "7fc5e96d-768a-429f-ac1a-3390953f3c3c")) // viewer
	owner.submit(`form[action="/members/invite"] button[type=submit]`)
	owner.see("Invitation sent to noah@acme.test")
	noahLink := s.InvitationLink("noah@acme.test")
	owner.open(noahLink)
	owner.see("This invitation is for another account", "noah@acme.test", "olivia@acme.test")
	owner.notSee("Create your account to accept")
	if n := owner.eval(`String(document.querySelectorAll("input[type=password]").length)`); n != "0" {
		t.Fatal("the wrong-account page asks for a password")
	}
	owner.shot("19-accept-wrong-account", true)

	// Expired: eight days later the link says so before anything is typed.
	s.Clock.Advance(8 * 24 * time.Hour)
	visitor := newBrowser(t, exe, s.URL, dir, "visitor")
	visitor.open(noahLink)
	visitor.see("This invitation has expired", "Ask the person who invited you to send a new one")
	if n := visitor.eval(`String(document.querySelectorAll("input").length)`); n != "0" {
		t.Fatal("the expired page has inputs")
	}
	visitor.shot("20-accept-expired", true)

	// The owner's session outlived its access token: refreshed in place.
	owner.open("/members")
	owner.at("/members")
	owner.see("Members", "Olivia Owner")
	t.Logf("browser suite took %s; screenshots in %s", time.Since(started).Round(time.Millisecond), dir)
}
