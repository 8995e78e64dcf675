package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var roleIDRe = regexp.MustCompile(`/roles/([0-9a-f-]{36})/delete`)

// orgOf is the organization the web client works in.
func orgOf(t *testing.T, s *apptest.Server, c *apptest.WebClient) string {
	t.Helper()
	me := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: c.Cookie("gh_access").Value})
	return me["current_organization_id"].(string)
}

// signIn opens a dashboard session for a user created through the API.
func signIn(t *testing.T, s *apptest.Server, email string) *apptest.WebClient {
	t.Helper()
	c := s.WebClient()
	apptest.WantRedirect(t, c.Post("/login", url.Values{"email": {email}, "password": {apptest.TestPassword}}), "/")
	return c
}

func TestRolesPages(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing")
		m := ids["Marketing"]
		org := orgOf(t, s, c)

		r := c.Get("/roles")
		apptest.WantPage(t, r, 200, "No custom roles yet", "Built-in roles", "Owner of the organization: everything", `href="/roles/new"`)

		// Wrong input: the name is refused beside its field, what was typed stays.
		r = c.Post("/roles", url.Values{"name": {"Bad Name"}, "description": {"Edits"}, "project": {m}, "mode." + m: {"full"}})
		apptest.WantPage(t, r, http.StatusBadRequest, "Name must be 1–50 lowercase letters", `value="Bad Name"`, `value="Edits"`,
			`id="p-`+m+`" name="project" value="`+m+`" checked`)
		r = c.Post("/roles", url.Values{"name": {"viewer"}, "project": {m}, "mode." + m: {"full"}})
		apptest.WantPage(t, r, http.StatusConflict, "That name belongs to a built-in role.")
		r = c.Post("/roles", url.Values{"name": {"editor"}, "project": {m}, "mode." + m: {"custom"}})
		apptest.WantPage(t, r, http.StatusBadRequest, "Choose at least one right for this project")

		r = c.Post("/roles", url.Values{"name": {"editor"}, "description": {"Edits Marketing"}, "project": {m}, "mode." + m: {"full"}, "org.billing": {"on"}})
		apptest.WantRedirect(t, r, "/roles")
		r = c.Follow(r)
		apptest.WantPage(t, r, 200, "Role editor created", "Edits Marketing", "Full access to project Marketing: read, write, delete", "Organization billing")
		role := roleIDRe.FindStringSubmatch(r.Body)[1]
		mia := s.AddStoreMember(org, "Mia Member", "mia@example.com", role, nil)
		s.AddStoreMember(org, "Max", "max@example.com", role, []gatehouse.Grant{{EntityType: "organizations", EntityID: org, Name: "billing", Action: "read+write+delete", Permission: []gatehouse.AreaGrant{}}})

		// Review first: what changes for the two holders; nothing is saved yet.
		r = c.Get("/roles/" + role)
		apptest.WantPage(t, r, 200, "Edit role editor", `value="editor"`, `id="review-role"`)
		edit := url.Values{"name": {"editor"}, "project": {m}, "mode." + m: {"custom"}, "area." + m + ".folders": {"read", "write"}, "step": {"review"}}
		r = c.Post("/roles/"+role, edit)
		apptest.WantPage(t, r, 200, "What saving changes", "2 members lose delete on Marketing (folders)",
			"1 member loses read, write, delete on the organization&#39;s billing", "Mia Member", `id="save-role"`,
			`name="area.`+m+`.folders" value="write" checked`)
		apptest.WantPage(t, c.Get("/roles"), 200, "Full access to project Marketing")
		edit.Set("step", "save")
		r = c.Post("/roles/"+role, edit)
		apptest.WantRedirect(t, r, "/roles")
		r = c.Follow(r)
		apptest.WantPage(t, r, 200, "Role editor saved", "Folders of project Marketing: read, write")
		apptest.WantNot(t, r, "Full access to project Marketing")

		// Deleting a role in use is refused with the reason.
		apptest.WantPage(t, c.Get("/roles"), 200, "2 members<small>Max, Mia Member</small>")
		apptest.WantPage(t, c.Get("/roles/"+role+"/delete"), 200, "Delete role editor?", "2 members hold this role:</strong> Max, Mia Member")
		r = c.Post("/roles/"+role+"/delete", nil)
		apptest.WantRedirect(t, r, "/roles/"+role+"/delete")
		apptest.WantPage(t, c.Follow(r), 200, "Members or pending invitations hold this role")

		// A role nobody holds is deleted.
		apptest.WantRedirect(t, c.Post("/roles", url.Values{"name": {"spare"}, "org.api": {"on"}}), "/roles")
		spare := roleIDRe.FindAllStringSubmatch(c.Get("/roles").Body, -1)
		last := spare[len(spare)-1][1]
		apptest.WantPage(t, c.Get("/roles/"+last+"/delete"), 200, "Delete role spare?", "Nobody holds it.")
		r = c.Post("/roles/"+last+"/delete", nil)
		apptest.WantRedirect(t, r, "/roles")
		apptest.WantPage(t, c.Follow(r), 200, "Role spare deleted.")
		apptest.WantPage(t, c.Get("/roles/"+last), http.StatusNotFound)

		// Built-in roles are read-only: no buttons, and a 403 page when typed.
		apptest.WantNot(t, c.Get("/roles"), "/roles/"+gatehouse.RoleViewerID)
		apptest.WantPage(t, c.Get("/roles/"+gatehouse.RoleViewerID), http.StatusForbidden, "Built-in roles cannot be changed")
		apptest.WantPage(t, c.Get("/roles/"+gatehouse.RoleViewerID+"/delete"), http.StatusForbidden, "Built-in roles cannot be changed")
		// Unknown and malformed ids are 404.
		apptest.WantPage(t, c.Get("/roles/0190f1d2-0000-7000-8000-000000000000"), http.StatusNotFound, "Role not found")
		apptest.WantPage(t, c.Get("/roles/nope"), http.StatusNotFound)

		// A member with members read only sees the roles, without buttons;
		// typed URLs are 403 pages. A member without members read gets 403.
		reader := s.AddStoreMember(org, "Rita Reader", "rita@example.com", "", []gatehouse.Grant{{EntityType: "organizations", EntityID: org, Name: "members", Action: "read", Permission: []gatehouse.AreaGrant{}}})
		rc := signIn(t, s, reader.Email)
		r = rc.Get("/roles")
		apptest.WantPage(t, r, 200, "editor", "Built-in roles")
		apptest.WantNot(t, r, `href="/roles/new"`, "/roles/"+role+"/delete", `href="/roles/`+role+`"`)
		apptest.WantPage(t, rc.Get("/roles/new"), http.StatusForbidden, "You need members write permission")
		apptest.WantPage(t, rc.Get("/roles/"+role), http.StatusForbidden, "You need members write permission")
		apptest.WantPage(t, rc.Post("/roles/"+role+"/delete", nil), http.StatusForbidden)
		vc := signIn(t, s, mia.Email)
		apptest.WantPage(t, vc.Get("/roles"), http.StatusForbidden)
		apptest.WantNot(t, vc.Get("/dashboard"), `href="/roles"`)

		// Another organization's role is 404.
		other, _ := owner(t, s, "oscar@example.com")
		apptest.WantPage(t, other.Get("/roles/"+role), http.StatusNotFound)
	})
}

func TestCheckAccessPage(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing", "Training")
		m := ids["Marketing"]
		org := orgOf(t, s, c)
		f := s.CreateFolder(c.Cookie("gh_access").Value, org, m, "Campaigns", "")
		mia := s.AddStoreMember(org, "Mia Member", "mia@example.com", gatehouse.RoleViewerID, []gatehouse.Grant{{EntityType: "projects", EntityID: m, Name: "custom",
			Permission: []gatehouse.AreaGrant{{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{{FolderID: f, Action: "read+write"}}}}}})

		apptest.WantPage(t, c.Get("/members"), 200, `href="/members/`+mia.UserID+`/check"`)
		apptest.WantPage(t, c.Get("/members/"+mia.UserID+"/check"), 200, "Check access", "Mia Member", "Nothing checked yet", "Folder Campaigns", "Project Training")

		r := c.Get("/members/" + mia.UserID + "/check?target=folder:" + f + "&area=folders&action=write")
		apptest.WantPage(t, r, 200, "Allowed.", "Mia Member may write folders in folder Campaigns", "A direct grant",
			"on folder Campaigns (and its subfolders)", "Folder Campaigns in project Marketing (and its subfolders): read, write")
		r = c.Get("/members/" + mia.UserID + "/check?target=folder:" + f + "&area=folders&action=read")
		apptest.WantPage(t, r, 200, "Allowed.", "Role viewer", "on every project")
		r = c.Get("/members/" + mia.UserID + "/check?target=project:" + ids["Training"] + "&area=livestreams&action=delete")
		apptest.WantPage(t, r, 200, "Not allowed.", "nothing gives delete", "No role or grant of theirs gives it", "/members/"+mia.UserID+"/edit")
		r = c.Get("/members/" + mia.UserID + "/check?target=organization&area=billing&action=read")
		apptest.WantPage(t, r, 200, "Not allowed.")

		// Wrong input is said beside the field; what was chosen stays.
		r = c.Get("/members/" + mia.UserID + "/check?target=project:" + m + "&area=billing&action=read")
		apptest.WantPage(t, r, http.StatusBadRequest, "Choose an area that exists there", `<option value="project:`+m+`" selected>`)
		r = c.Get("/members/" + mia.UserID + "/check?target=project:" + m + "&area=folders")
		apptest.WantPage(t, r, http.StatusBadRequest, "Choose read, write or delete.")
		r = c.Get("/members/" + mia.UserID + "/check?target=folder:0190f1d2-0000-7000-8000-000000000000&area=folders&action=read")
		apptest.WantPage(t, r, http.StatusBadRequest, "This place no longer exists")

		// Unknown or another organization's member: 404; no members read: 403.
		apptest.WantPage(t, c.Get("/members/0190f1d2-0000-7000-8000-000000000000/check"), http.StatusNotFound)
		other, _ := owner(t, s, "oscar@example.com")
		apptest.WantPage(t, other.Get("/members/"+mia.UserID+"/check"), http.StatusNotFound)
		// Oneself may always be checked; others need members read.
		mc := signIn(t, s, mia.Email)
		apptest.WantPage(t, mc.Get("/members/"+mia.UserID+"/check?target=folder:"+f+"&area=folders&action=write"), 200, "Allowed.")
		apptest.WantPage(t, mc.Get("/members/"+userID(t, s, c)+"/check"), http.StatusForbidden)
	})
}
