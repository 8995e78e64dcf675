package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
)

// signIn signs a browser in through the sign-in form.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.open("/login")
	b.fill("#f-email", email)
	b.fill("#f-password", apptest.TestPassword)
	b.submit(`form[action="/login"] button[type=submit]`)
}

// choose picks an option of a select by its visible text.
func (b *browser) choose(sel, text string) {
	b.t.Helper()
	val := b.eval(fmt.Sprintf(`(Array.from(document.querySelectorAll(%q + " option")).find(o => o.textContent.trim().startsWith(%q)) || {value: ""}).value`, sel, text))
	if val == "" {
		b.t.Fatalf("%s: no option %q in %s", b.who, text, sel)
	}
	b.step("choose "+text, chromedp.SetValue(chromedp.CSS(sel), val))
}

// TestBrowserAccess: an admin opens the Access page, sees a member's grid
// and folder tree with the reason of each right on hover and on keyboard
// focus, sees who can read, write and delete in a folder, and downloads the
// review; a member without members or audit read sees only their own.
func TestBrowserAccess(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	tok, _ := s.Signup("Olivia Owner", "olivia@acme.test")
	org := s.CreateOrg(tok, "Acme Video")
	mkt := s.CreateProject(tok, org, "Marketing")
	s.CreateProject(tok, org, "Training")
	campaigns := s.CreateFolder(tok, org, mkt, "Campaigns", "")
	launch := s.CreateFolder(tok, org, mkt, "2026 launch", campaigns)
	s.CreateFolder(tok, org, mkt, "Raw footage", "")
	s.AddStoreMember(org, "Ada Admin", "ada@acme.test", gatehouse.RoleAdminID, nil)
	fay := s.AddStoreMember(org, "Fay Folder", "fay@acme.test", "", []gatehouse.Grant{
		apptest.OneFolderGrant(mkt, campaigns, "read+write")})
	s.AddStoreMember(org, "Vic Viewer", "vic@acme.test", gatehouse.RoleViewerID, nil)

	admin := newBrowser(t, exe, s.URL, dir, "admin")
	admin.signIn("ada@acme.test")
	admin.open("/access")
	admin.see("A member's access", "Ada Admin", "Projects × areas", "Marketing", "Training", "Download access review (CSV)")

	// Fay: one folder grant, shown as a tree with the reason.
	admin.choose("#access-member", "Fay Folder")
	admin.submit("#show-member")
	admin.see("Fay Folder <fay@acme.test>", "Folder rights", "Campaigns", "2026 launch")
	row := fmt.Sprintf(`#folder-tree li[data-folder=%q]`, launch)
	if got := admin.eval(`Array.from(document.querySelectorAll(` + fmt.Sprintf("%q", row+" .act") + `)).map(a => a.innerText.trim()[0]).join("")`); got != "RW" {
		t.Fatalf("2026 launch shows actions %q, want RW", got)
	}
	// The reason is hidden until hover or keyboard focus.
	why := row + " .act-write .why"
	if v := admin.eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display`, why)); v != "none" {
		t.Fatalf("reason visible before focus: %s", v)
	}
	admin.step("focus write", chromedp.Focus(chromedp.CSS(row+" .act-write")))
	if v := admin.eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display`, why)); v != "block" {
		t.Fatalf("reason not shown on focus: %s", v)
	}
	if txt := admin.eval(fmt.Sprintf(`document.querySelector(%q).innerText`, why)); !strings.Contains(txt, "a direct grant on folder Campaigns") {
		t.Fatalf("reason %q does not name the grant on Campaigns", txt)
	}
	admin.step("move focus away", chromedp.Focus(chromedp.CSS("#access-member")))
	var x, y float64
	if _, err := fmt.Sscan(admin.eval(`(() => { const r = document.querySelector(`+fmt.Sprintf("%q", row+" .act-read")+`).getBoundingClientRect(); return (r.left + r.width / 2) + " " + (r.top + r.height / 2); })()`), &x, &y); err != nil {
		t.Fatal(err)
	}
	admin.step("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y))
	if v := admin.eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display`, row+" .act-read .why")); v != "block" {
		t.Fatalf("reason not shown on hover: %s", v)
	}
	admin.step("move focus away", chromedp.Focus(chromedp.CSS("#access-member")))
	admin.shot("15-access-member", true)

	// Who can do what in "2026 launch".
	admin.choose("#access-target", "2026 launch")
	admin.submit("#show-who")
	admin.see("Who can read, write and delete in folder 2026 launch")
	whoRow := func(name string) string {
		return admin.eval(fmt.Sprintf(`(Array.from(document.querySelectorAll("#who-grid tbody tr")).find(r => r.querySelector("th").innerText.includes(%q)) || {innerText: ""}).innerText`, name))
	}
	if r := whoRow("Fay Folder"); !strings.Contains(r, "R") || !strings.Contains(r, "W") || strings.Contains(r, "D\n") {
		t.Fatalf("Fay's row: %q", r)
	}
	for _, name := range []string{"Olivia Owner", "Ada Admin", "Vic Viewer"} {
		if whoRow(name) == "" {
			t.Fatalf("%s is missing from who can", name)
		}
	}
	if txt := admin.eval(`(Array.from(document.querySelectorAll("#who-grid tbody tr")).find(r => r.innerText.includes("Olivia Owner")).querySelector(".act-delete .why")).textContent`); !strings.Contains(txt, "organization owner") {
		t.Fatalf("owner's delete reason %q", txt)
	}
	admin.shot("16-access-who", true)

	// The review, as the download button fetches it.
	csv := admin.eval(`(() => { const x = new XMLHttpRequest(); x.open("GET", document.querySelector("#download-review").getAttribute("href"), false); x.send(); return x.status + "\n" + x.getResponseHeader("Content-Type") + "\n" + x.responseText; })()`)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 4 || lines[0] != "200" || !strings.HasPrefix(lines[1], "text/csv") || !strings.HasPrefix(lines[2], "member_id,member_name") {
		t.Fatalf("review download: %.300s", csv)
	}
	if !strings.Contains(csv, fay.UserID+",Fay Folder,fay@acme.test,folder,"+campaigns+",Campaigns,folders,write,direct") {
		t.Fatalf("review lacks Fay's write on Campaigns:\n%s", csv)
	}

	// A viewer sees their own access only.
	viewer := newBrowser(t, exe, s.URL, dir, "viewer")
	viewer.signIn("vic@acme.test")
	viewer.open("/access")
	viewer.see("Vic Viewer", "You need members or audit log permission")
	viewer.notSee("Download access review (CSV)", "Fay Folder")
	viewer.open("/access?member=" + fay.UserID)
	viewer.see("You don't have access to this")
	viewer.open("/access/review.csv")
	viewer.see("You don't have access to this")
}
