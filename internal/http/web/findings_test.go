package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// The right verification code signs the new user in: no "Welcome back"
// sign-in page after sign-up.
func TestVerifySignsIn(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	c := s.WebClient()
	apptest.WantRedirect(t, c.Post("/register", url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {pw}}), "/verify")
	r := c.Post("/verify", url.Values{"email": {"ada@example.com"}, "otp": {s.LastCode("ada@example.com")}})
	apptest.WantRedirect(t, r, "/dashboard")
	page := c.Follow(c.Follow(r)) // the dashboard sends a user without organization to create one
	apptest.WantPage(t, page, 200, "Your email is verified", "Create an organization")
	apptest.WantNot(t, page, "Welcome back")
	if c.Cookie("gh_access") == nil {
		t.Fatal("no session after the right code")
	}
}

// A user with pending invitations sees them where they would otherwise
// only be asked to create an organization, and accepts or declines there.
func TestPendingInvitationsOnNewOrgPage(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	a := s.SignUpTokens("Olivia", "olivia@acme.test", "")
	acme := s.CreateOrg(a.Access, "Acme Video")
	b := s.SignUpTokens("Bo", "bo@globex.test", "")
	globex := s.CreateOrg(b.Access, "Globex")
	c := signUp(t, s, "Raka", "raka@example.com")
	s.Invite(a.Access, acme, map[string]any{"email": "raka@example.com", "role": "viewer"})
	s.Invite(b.Access, globex, map[string]any{"email": "raka@example.com", "role": "uploader"})

	page := c.Follow(c.Get("/dashboard"))
	apptest.WantPage(t, page, 200, "Invitations waiting for you", "Acme Video", "Globex", "invited by Olivia", "Create an organization")
	ids := regexpAll(page.Body, `/my-invitations/([0-9a-f-]{36})/accept`)
	if len(ids) != 2 {
		t.Fatalf("accept forms for %v", ids)
	}
	// Decline one (Globex is listed first: newest first), accept the other.
	apptest.WantRedirect(t, c.Post("/my-invitations/"+ids[0]+"/decline", nil), "/orgs/new")
	page = c.Get("/orgs/new")
	apptest.WantPage(t, page, 200, "Acme Video")
	apptest.WantNot(t, page, "Globex")
	r := c.Post("/my-invitations/"+ids[1]+"/accept", nil)
	apptest.WantRedirect(t, r, "/dashboard")
	apptest.WantPage(t, c.Follow(r), 200, "You joined Acme Video")
	// Someone else's invitation id is not found.
	other := signUp(t, s, "Eve", "eve@example.com")
	r = other.Post("/my-invitations/"+ids[1]+"/accept", nil)
	if r.Status == 303 && strings.HasPrefix(r.Location, "/dashboard") {
		t.Fatal("accepted someone else's invitation")
	}
}

// A member removed while working is told, not dropped silently.
func TestRemovedMemberIsTold(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	a := s.SignUpTokens("Olivia", "olivia@acme.test", "")
	acme := s.CreateOrg(a.Access, "Acme Video")
	c := signUp(t, s, "Raka", "raka@example.com")
	s.Invite(a.Access, acme, map[string]any{"email": "raka@example.com", "role": "viewer"})
	apptest.WantRedirect(t, c.Post(s.InvitationLink("raka@example.com")+"/accept", nil), "/")
	apptest.WantPage(t, c.Get("/dashboard"), 200, "Acme Video")
	raka := userID(t, s, c)

	s.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/" + raka, Token: a.Access, Header: apptest.OrgHeader(acme)})
	r := c.Get("/dashboard")
	apptest.WantRedirect(t, r, "/orgs/new")
	apptest.WantPage(t, c.Follow(r), 200, "You are no longer a member of the organization you were working in")

	// With another organization to go to, the message comes with the move.
	apptest.WantRedirect(t, c.Post("/orgs", url.Values{"name": {"Raka Films"}}), "/dashboard")
	b := s.SignUpTokens("Bo", "bo@globex.test", "")
	globex := s.CreateOrg(b.Access, "Globex")
	s.Invite(b.Access, globex, map[string]any{"email": "raka@example.com", "role": "viewer"})
	apptest.WantRedirect(t, c.Post(s.InvitationLink("raka@example.com")+"/accept", nil), "/")
	apptest.WantPage(t, c.Get("/dashboard"), 200, "Globex")
	s.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/" + raka, Token: b.Access, Header: apptest.OrgHeader(globex)})
	r = c.Get("/dashboard")
	apptest.WantRedirect(t, r, "/dashboard")
	apptest.WantPage(t, c.Follow(r), 200, "You are no longer a member of the organization you were working in", "You are now in Raka Films")
}

func regexpAll(s, pattern string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// The New folder form offers only the places the member may write to, and
// a refusal names the folder and project, never an id.
func TestNewFolderOffersWritablePlacesOnly(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	a := s.SignUpTokens("Olivia", "olivia@acme.test", "")
	org := s.CreateOrg(a.Access, "Acme Video")
	project := s.CreateProject(a.Access, org, "Marketing")
	writable := s.CreateFolder(a.Access, org, project, "Campaigns", "")
	readOnly := s.CreateFolder(a.Access, org, project, "Archive", "")
	c := signUp(t, s, "Raka", "raka@example.com")
	s.Invite(a.Access, org, map[string]any{"email": "raka@example.com", "permissions": []any{
		map[string]any{"entity_type": "projects", "entity_id": project, "name": "custom", "action": "", "permission": []any{
			map[string]any{"name": "folders", "action": "custom", "folders": []any{
				map[string]any{"folder_id": writable, "action": "write+read"},
				map[string]any{"folder_id": readOnly, "action": "read"},
			}},
		}},
	}})
	apptest.WantRedirect(t, c.Post(s.InvitationLink("raka@example.com")+"/accept", nil), "/")

	page := c.Get("/projects/" + project)
	apptest.WantPage(t, page, 200, "New folder", `<option value="`+writable+`"`)
	apptest.WantNot(t, page, "The project's top level", `<option value="`+readOnly+`"`)

	r := c.Post("/projects/"+project+"/folders", url.Values{"name": {"Sneaky"}, "parent_id": {readOnly}})
	apptest.WantPage(t, r, 403, "Archive", "Marketing")
	apptest.WantNot(t, r, "folder "+readOnly, "project "+project+" ")
	r = c.Post("/projects/"+project+"/folders", url.Values{"name": {"Top"}})
	apptest.WantPage(t, r, 403, "the top level of project “Marketing”")
	apptest.WantRedirect(t, c.Post("/projects/"+project+"/folders", url.Values{"name": {"Spring"}, "parent_id": {writable}}), "/projects/"+project)
}
