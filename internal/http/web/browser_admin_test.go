package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
)

// pick sets a select by the exact text of one of its options (whose
// value may be empty).
func (b *browser) pick(sel, text string) {
	b.t.Helper()
	v := b.eval(fmt.Sprintf(`(Array.from(document.querySelectorAll(%q)).find(o => o.textContent.trim() === %q) || {value: "?"}).value`, sel+" option", text))
	if v == "?" {
		b.t.Fatalf("%s: no option %q in %s", b.who, text, sel)
	}
	b.step("choose "+text, chromedp.SetValue(chromedp.CSS(sel), v))
}

// status is the HTTP status of the page a navigation lands on.
func (b *browser) status(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.base+path))
	if err != nil {
		b.t.Fatalf("%s: open %s: %v", b.who, path, err)
	}
	return resp.Status
}

// TestBrowserAdministration tours the pages that run an organization
// beyond inviting: custom roles (with the review of what an edit changes),
// project and folder management, Check access, and the audit log in words
// with chain verification — and what someone without the rights sees.
func TestBrowserAdministration(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	ownerTok := s.SignUpTokens("Olivia Owner", "olivia@acme.test", "")
	org := s.CreateOrg(ownerTok.Access, "Acme Video")
	marketing := s.CreateProject(ownerTok.Access, org, "Marketing")
	s.CreateProject(ownerTok.Access, org, "Training")
	campaigns := s.CreateFolder(ownerTok.Access, org, marketing, "Campaigns", "")
	s.CreateFolder(ownerTok.Access, org, marketing, "2026 launch", campaigns)
	raw := s.CreateFolder(ownerTok.Access, org, marketing, "Raw footage", "")
	s.CreateFolder(ownerTok.Access, org, marketing, "Interviews", raw)
	mia := s.AddStoreMember(org, "Mia Member", "mia@acme.test", "", []gatehouse.Grant{{EntityType: "organizations", EntityID: org, Name: "billing", Action: "read", Permission: []gatehouse.AreaGrant{}}})
	s.AddStoreMember(org, "Noah Reader", "noah@acme.test", "", []gatehouse.Grant{{EntityType: "projects", EntityID: marketing, Name: "custom",
		Permission: []gatehouse.AreaGrant{{Name: "folders", Action: "read"}}}})

	owner := newBrowser(t, exe, s.URL, dir, "owner")
	owner.signIn("olivia@acme.test")

	// Roles: built-in ones read-only with their access in words; a new
	// custom role, first with a wrong name (said beside the field, kept).
	owner.submit(`.nav a[href="/roles"]`)
	owner.at("/roles")
	owner.see("No custom roles yet", "Built-in roles", "Owner of the organization: everything", "Read-only")
	owner.submit("#new-role")
	owner.fill("#f-name", "Editor Role")
	owner.fill("#f-description", "Edits Marketing")
	owner.click("#p-" + marketing)
	if st := owner.submit("#create-role"); st != 400 {
		t.Fatalf("bad role name: status %d, want 400", st)
	}
	owner.see("Name must be 1–50 lowercase letters")
	if v := owner.eval(`document.querySelector("#f-name").value + "|" + document.querySelector("#p-` + marketing + `").checked`); v != "Editor Role|true" {
		t.Fatalf("the role form lost what was typed: %s", v)
	}
	owner.shot("70-role-errors", false)
	owner.fill("#f-name", "editor")
	owner.click(fmt.Sprintf(`input[name="mode.%s"][value=full]`, marketing))
	owner.click("#org-billing")
	owner.submit("#create-role")
	owner.at("/roles")
	owner.see("Role editor created", "Full access to project Marketing", "Organization billing")
	owner.shot("71-roles", true)
	roleHref := owner.attr(`#custom-roles a[href^="/roles/"]:not([href$="/delete"])`, "href")
	role := strings.TrimPrefix(roleHref, "/roles/")
	s.SetStoreRights(org, mia.UserID, role, []gatehouse.Grant{{EntityType: "organizations", EntityID: org, Name: "billing", Action: "read", Permission: []gatehouse.AreaGrant{}}})

	// Edit: Marketing becomes write on folders only and billing goes; the
	// review says what changes for the members holding it before saving.
	owner.open(roleHref)
	owner.click(fmt.Sprintf(`input[name="mode.%s"][value=custom]`, marketing))
	owner.click(fmt.Sprintf(`input[name="area.%s.folders"][value=read]`, marketing))
	owner.click(fmt.Sprintf(`input[name="area.%s.folders"][value=write]`, marketing))
	owner.click("#org-billing")
	owner.submit("#review-role")
	owner.see("What saving changes", "1 member loses delete on Marketing (folders)", "1 member loses read, write, delete on Marketing (livestreams)")
	// Mia keeps billing read through her own grant.
	owner.see("1 member loses write, delete on the organization's billing")
	owner.shot("72-role-review", true)
	owner.submit("#save-role")
	owner.see("Role editor saved", "Folders of project Marketing: read, write")

	// Check access: may Mia delete in Campaigns? Not any more; may she write? Yes, through the role.
	owner.open("/members")
	owner.submit(fmt.Sprintf(`a[href="/members/%s/check"]`, mia.UserID))
	owner.see("Check access", "Nothing checked yet")
	owner.pick("#f-target", "Folder Campaigns")
	owner.pick("#f-area", "folders")
	owner.pick("#f-action", "delete")
	owner.submit("#check")
	owner.see("Not allowed.", "nothing gives delete")
	owner.pick("#f-action", "write")
	owner.submit("#check")
	owner.see("Allowed.", "Mia Member may write folders in folder Campaigns", "Role editor", "on project Marketing",
		"Folders of project Marketing: read, write")
	owner.shot("73-check-access", true)
	// Wrong input: an organization area on a folder is said beside the field.
	owner.pick("#f-area", "billing")
	if st := owner.submit("#check"); st != 400 {
		t.Fatalf("billing on a folder: status %d, want 400", st)
	}
	owner.see("Choose an area that exists there")

	// Folders: rename in place, move on its page, bulk move, delete after
	// seeing what it holds; the project's settings rename it.
	owner.open("/projects/" + marketing)
	owner.click(`details:has(form[action$="/folders/` + raw + `/rename"]) > summary`)
	owner.fill("#rn-"+raw, "")
	if st := owner.submit(fmt.Sprintf(`form[action$="/folders/%s/rename"] button`, raw)); st != 400 {
		t.Fatalf("empty folder name: status %d, want 400", st)
	}
	owner.see("Name is required.")
	owner.fill("#rn-"+raw, "Footage")
	owner.submit(fmt.Sprintf(`form[action$="/folders/%s/rename"] button`, raw))
	owner.see("Folder renamed to Footage.")
	owner.shot("74-folders", true)
	owner.submit(fmt.Sprintf(`a[href$="/folders/%s/move"]`, campaigns))
	owner.see("Move folder Campaigns", "Its 1 subfolder moves with it")
	owner.pick("#f-parent", "Footage")
	owner.submit(`form[action$="/move"] button[type=submit]`)
	owner.see("Folder moved.")
	owner.click(fmt.Sprintf(`#pick-%s`, campaigns))
	owner.pick("#f-bulk-parent", "The project's top level")
	owner.submit("#bulk-move-btn")
	owner.see("1 folder moved.")
	owner.submit(fmt.Sprintf(`a[href$="/folders/%s/delete"]`, raw))
	owner.see("Delete folder Footage?", "It holds 1 subfolder", "Interviews")
	owner.shot("75-folder-delete", false)
	owner.submit(`form[action$="/delete"] button[type=submit]`)
	owner.see("Folder Footage and 1 subfolders deleted.")
	owner.notSee("Interviews")

	// The audit log says what changed, to what, with names.
	owner.open("/audit")
	owner.see("editor: lost Organization billing; lost Full access to project Marketing; gained Folders of project Marketing: read, write", "Footage: name Raw footage → Footage",
		"Folder Campaigns moved", "Mia Member")
	owner.click(`#audit-events details.more summary`)
	owner.shot("76-audit-log", true)
	owner.pick("#f-action", "Folders")
	owner.submit(`#audit-filters button[type=submit]`)
	owner.see("Footage: name Raw footage → Footage")
	owner.notSee("Role editor created")
	owner.submit("#verify-chain")
	owner.see("The chain is intact.")
	owner.shot("77-audit-verified", false)

	// Someone without the rights: no buttons, and 403 pages when typed.
	member := newBrowser(t, exe, s.URL, dir, "member")
	member.signIn("noah@acme.test")
	member.open("/projects/" + marketing)
	member.see("Campaigns", "You may not add folders in this project")
	member.notSee("Delete project", "Project settings", "Rename", "Delete", "Move")
	if n := member.eval(`String(document.querySelectorAll('.nav a[href="/roles"], .nav a[href="/audit"]').length)`); n != "0" {
		t.Fatalf("the member's sidebar links Roles or Audit log (%s links)", n)
	}
	for _, p := range []string{"/roles", "/roles/new", "/projects/" + marketing + "/delete", "/audit", "/audit/export.ndjson",
		"/projects/" + marketing + "/folders/" + campaigns + "/delete"} {
		if st := member.status(p); st != 403 {
			t.Fatalf("member opens %s: status %d, want 403", p, st)
		}
	}
	member.see("You don't have access to this")
	member.shot("78-forbidden", false)

	// The project's settings rename it, and deleting it lists what goes.
	owner.open("/projects/" + marketing)
	owner.fill("#f-project_name", "Brand")
	owner.submit("#save-project")
	owner.see("Project Brand saved.")
	owner.submit("#delete-project")
	owner.see("Delete project Brand?", "It holds 2 folders", "Campaigns", "2026 launch")
	owner.submit(`form[action$="/delete"] button[type=submit]`)
	owner.at("/dashboard")
	owner.see("Project Brand and its folders were deleted.", "Training")
}
