package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var cancelRe = regexp.MustCompile(`/members/invitations/([0-9a-f-]{36})/cancel`)

func TestInvitationLinkPages(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing", "Training")
		m := ids["Marketing"]
		invite := func(email string) string {
			t.Helper()
			r := c.Post("/members/invite", url.Values{"email": {email}, "project": {m}, "mode." + m: {"full"}, "org.billing": {"on"}, "org.api": {"on"}})
			apptest.WantRedirect(t, r, "/members")
			apptest.WantPage(t, c.Follow(r), 200, "Invitation sent to "+email)
			return s.InvitationLink(email)
		}

		// Not signed in, no account: create it on the spot.
		link := invite("mia@example.com")
		token := strings.TrimPrefix(link, "/invitations/")
		anon := s.WebClient()
		r := anon.Get(link)
		apptest.WantPage(t, r, 200, "Join Acme Video", "Olivia Owner</strong> invited <strong>mia@example.com", "Full access to project Marketing",
			"Organization billing", "Organization API access", "Create your account to accept",
			`value="mia@example.com" autocomplete="username" readonly`, "Decline the invitation")
		apptest.WantNot(t, r, "Training")
		r = anon.Post(link+"/register", url.Values{"name": {""}, "password": {"short"}})
		apptest.WantPage(t, r, 400, "Name is required.")
		r = anon.Post(link+"/register", url.Values{"name": {"Mia"}, "password": {"short"}})
		apptest.WantPage(t, r, 400, "Password must be at least 10 characters.", `value="Mia"`)
		r = anon.Post(link+"/register", url.Values{"name": {"Mia"}, "password": {pw}, "email": {"attacker@example.com"}})
		apptest.WantRedirect(t, r, "/dashboard")
		apptest.WantPage(t, anon.Follow(r), 200, "Welcome to Acme Video! You joined as mia@example.com.", "Marketing")
		apptest.WantNot(t, anon.Get("/dashboard"), "Training")
		// The member appears in the Members tab with their access in words.
		apptest.WantPage(t, c.Get("/members"), 200, "Mia", "mia@example.com", "Full access to project Marketing: read, write, delete")
		// Used.
		apptest.WantPage(t, s.WebClient().Get(link), http.StatusGone, "This invitation has already been used")
		// Signed in as the member, the link says they are in already.
		apptest.WantPage(t, anon.Get(link), http.StatusGone, "already been used")

		// Wrong account, shown before anything is typed.
		link2 := invite("noah@example.com")
		r = anon.Get(link2)
		apptest.WantPage(t, r, http.StatusForbidden, "This invitation is for another account", "noah@example.com", "mia@example.com",
			"Sign out and continue as noah@example.com")
		apptest.WantNot(t, r, `type="password"`)
		r = anon.Post(link2+"/accept", nil)
		apptest.WantPage(t, r, http.StatusForbidden, "This invitation is for another email address.")
		apptest.WantRedirect(t, anon.Post(link2+"/signout", nil), link2)
		apptest.WantPage(t, anon.Get(link2), 200, "Create your account to accept")

		// An existing account signs in on the spot (the email is the invitation's).
		signUp(t, s, "Pat", "pat@example.com")
		link3 := invite("pat@example.com")
		pat := s.WebClient()
		apptest.WantPage(t, pat.Get(link3), 200, "Sign in to accept", "An account already exists for pat@example.com")
		r = pat.Post(link3+"/signin", url.Values{"password": {"not the password"}})
		apptest.WantPage(t, r, 401, "The email or password is wrong.", `aria-describedby="f-password-err"`)
		apptest.WantRedirect(t, pat.Post(link3+"/signin", url.Values{"email": {"olivia@example.com"}, "password": {pw}}), "/dashboard")
		apptest.WantPage(t, pat.Get("/dashboard"), 200, "Welcome to Acme Video! You joined as pat@example.com.")

		// Revoked (Cancel in the pending list).
		link4 := invite("rev@example.com")
		list := c.Get("/members")
		id := cancelRe.FindStringSubmatch(list.Body)
		if id == nil {
			t.Fatalf("no Cancel in the pending list:\n%s", list.Body)
		}
		// Just sent: Resend is not offered yet; the row says from when.
		apptest.WantPage(t, list, 200, "Resend possible from", "Pending", "Queued")
		apptest.WantRedirect(t, c.Post("/members/invitations/"+id[1]+"/cancel", url.Values{"back": {"/members/invitations"}}), "/members/invitations")
		apptest.WantPage(t, c.Get("/members/invitations?status=revoked"), 200, "rev@example.com", "Cancelled")
		apptest.WantPage(t, s.WebClient().Get(link4), http.StatusGone, "This invitation was cancelled")

		// Resend: too soon, then a new link (the old one dies).
		link5 := invite("late@example.com")
		id = regexp.MustCompile(`(?s)late@example\.com.*?/members/invitations/([0-9a-f-]{36})/cancel`).FindStringSubmatch(c.Get("/members").Body)
		r = c.Post("/members/invitations/"+id[1]+"/resend", nil)
		apptest.WantRedirect(t, r, "/members")
		apptest.WantPage(t, c.Follow(r), 200, "less than five minutes ago")
		s.Clock.Advance(6 * time.Minute)
		if !strings.Contains(c.Get("/members").Body, "/members/invitations/"+id[1]+"/resend") {
			t.Fatal("Resend is not offered once the cooldown is over")
		}
		apptest.WantRedirect(t, c.Post("/members/invitations/"+id[1]+"/resend", nil), "/members")
		if s.InvitationLink("late@example.com") == link5 {
			t.Fatal("resend kept the old link")
		}
		apptest.WantPage(t, s.WebClient().Get(link5), http.StatusGone, "A newer invitation was sent", "newest invitation email")
		link5 = s.InvitationLink("late@example.com")

		// Declined.
		link6 := invite("nope@example.com")
		apptest.WantPage(t, s.WebClient().Post(link6+"/decline", nil), 200, "Invitation declined", "You declined the invitation to Acme Video")
		apptest.WantPage(t, s.WebClient().Get(link6), http.StatusGone, "This invitation was declined")

		// Expired, eight days on.
		s.Clock.Advance(8 * 24 * time.Hour)
		r = s.WebClient().Get(link5)
		apptest.WantPage(t, r, http.StatusGone, "This invitation has expired", "Ask the person who invited you to send a new one.")
		apptest.WantNot(t, r, "<input")
		apptest.WantPage(t, s.WebClient().Get("/invitations/"+strings.Repeat("x", 43)), http.StatusNotFound, "This invitation link is not valid")

		// The token is in no log line: access logs show the pattern.
		logs := s.Logs.String()
		if strings.Contains(logs, token) {
			t.Fatal("an invitation token is in the logs")
		}
		if !strings.Contains(logs, `"route":"/invitations/{token}"`) {
			t.Fatal("the accept page is not logged by its pattern")
		}
	})
}

func TestMembersTab(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing", "Training")
		m := ids["Marketing"]
		me := userID(t, s, c)

		// The last owner cannot be removed, and has no Remove button.
		r := c.Get("/members")
		apptest.WantPage(t, r, 200, "Last owner", `id="invite-member"`, "Invite Member")
		apptest.WantNot(t, r, "/members/"+me+"/remove")
		r = c.Post("/members/"+me+"/remove", nil)
		apptest.WantRedirect(t, r, "/members")
		apptest.WantPage(t, c.Follow(r), 200, "The organization must keep at least one owner")
		apptest.WantPage(t, c.Get("/members/"+me+"/edit"), http.StatusForbidden, "You cannot change your own permissions")

		// A member with one custom project and members rights.
		r = c.Post("/members/invite", url.Values{"email": {"mia@example.com"}, "project": {m}, "mode." + m: {"custom"},
			"area." + m + ".livestreams": {"read"}, "org.members": {"on"}})
		apptest.WantRedirect(t, r, "/members")
		mia := s.WebClient()
		apptest.WantRedirect(t, mia.Post(s.InvitationLink("mia@example.com")+"/register", url.Values{"name": {"Mia"}, "password": {pw}}), "/dashboard")
		miaID := userID(t, s, mia)
		apptest.WantPage(t, c.Get("/members"), 200, "Livestreams of project Marketing: read", "Organization members: read, write, delete",
			"/members/"+miaID+"/edit", "/members/"+miaID+"/remove")

		// Only rights the inviter holds are offered.
		r = mia.Get("/members/invite")
		apptest.WantPage(t, r, 200, "Marketing", `name="area.`+m+`.livestreams" value="read"`, `name="org.members"`)
		apptest.WantNot(t, r, "Training", `name="mode.`+m+`" value="full"`, `name="area.`+m+`.livestreams" value="write"`,
			`name="org.billing"`, `name="org.api"`, `value="*"`, "7fc5e96d-768a-429f-ac1a-3390953f3c3c")
		// Posting more anyway is refused by the service, and said on the form.
		r = mia.Post("/members/invite", url.Values{"email": {"zed@example.com"}, "org.billing": {"on"}})
		apptest.WantPage(t, r, http.StatusForbidden, "You cannot grant this access")
		// Mia cannot edit the owner (she lacks the owner's rights).
		apptest.WantNot(t, mia.Get("/members"), "/members/"+me+"/edit")

		// The owner edits Mia: full access to Training, billing.
		r = c.Get("/members/" + miaID + "/edit")
		apptest.WantPage(t, r, 200, "Edit permissions", `id="p-`+m+`" name="project" value="`+m+`" checked`,
			`name="area.`+m+`.livestreams" value="read" checked`, `id="org-members" name="org.members" value="on" checked`)
		t2 := ids["Training"]
		r = c.Post("/members/"+miaID+"/edit", url.Values{"project": {t2}, "mode." + t2: {"full"}, "org.billing": {"on"}})
		apptest.WantRedirect(t, r, "/members")
		r = c.Follow(r)
		apptest.WantPage(t, r, 200, "Access of Mia updated.", "Full access to project Training", "Organization billing")
		apptest.WantNot(t, r, "Livestreams of project Marketing")
		apptest.WantPage(t, mia.Get("/dashboard"), 200, "Training")
		apptest.WantNot(t, mia.Get("/dashboard"), "Marketing")
		apptest.WantPage(t, mia.Get("/members"), http.StatusForbidden, "You need members read permission")

		// Remove, after a confirmation page.
		apptest.WantPage(t, c.Get("/members/"+miaID+"/remove"), 200, "Remove Mia?", "will lose all access", "Full access to project Training", "Remove member")
		r = c.Post("/members/"+miaID+"/remove", nil)
		apptest.WantRedirect(t, r, "/members")
		r = c.Follow(r)
		apptest.WantPage(t, r, 200, "Mia (mia@example.com) was removed from Acme Video.")
		apptest.WantNot(t, r, "/members/"+miaID+"/edit")
		apptest.WantRedirect(t, mia.Get("/dashboard"), "/orgs/new")
		// The audit log has it all.
		apptest.WantPage(t, c.Get("/audit?action=member."), 200, "member.removed", "member.updated", "member.added")
	})
}

func TestOrganizationsProjectsKeysAndSessions(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.Engines(t)[0])
	c, ids := owner(t, s, "olivia@example.com", "Marketing")
	m := ids["Marketing"]
	// Folders in a tree.
	r := c.Post("/projects/"+m+"/folders", url.Values{"name": {"Campaigns"}})
	apptest.WantRedirect(t, r, "/projects/"+m)
	parent := regexp.MustCompile(`<option value="([0-9a-f-]{36})">Campaigns</option>`).FindStringSubmatch(c.Get("/projects/" + m).Body)
	if parent == nil {
		t.Fatal("no folder to choose as parent")
	}
	apptest.WantRedirect(t, c.Post("/projects/"+m+"/folders", url.Values{"name": {"2026"}, "parent_id": {parent[1]}}), "/projects/"+m)
	apptest.WantPage(t, c.Get("/projects/"+m), 200, `<li><span class="node">`, "Campaigns", "2026", "— 2026")
	apptest.WantPage(t, c.Post("/projects/"+m+"/folders", url.Values{"name": {""}}), 400, "Name is required.")

	// A second organization and the switcher.
	apptest.WantRedirect(t, c.Post("/orgs", url.Values{"name": {"Beta Films"}}), "/dashboard")
	r = c.Get("/dashboard")
	apptest.WantPage(t, r, 200, "Beta Films", "Acme Video", "No projects yet")
	acme := regexp.MustCompile(`<option value="([0-9a-f-]{36})">Acme Video</option>`).FindStringSubmatch(r.Body)
	apptest.WantRedirect(t, c.Post("/orgs/switch", url.Values{"org_id": {acme[1]}}), "/dashboard")
	apptest.WantPage(t, c.Get("/dashboard"), 200, "Switched to Acme Video.", "Marketing")
	// A form rendered for one organization acts in it, whatever another
	// tab made current since; the browser then stays in that organization.
	beta := regexp.MustCompile(`<option value="([0-9a-f-]{36})">Beta Films</option>`).FindStringSubmatch(c.Get("/dashboard").Body)
	r = c.Post("/projects", url.Values{"org": {beta[1]}, "name": {"Beta project"}})
	apptest.WantRedirect(t, r, "/projects/")
	apptest.WantPage(t, c.Follow(r), 200, "Project Beta project created.")
	r = c.Get("/dashboard")
	apptest.WantPage(t, r, 200, "Beta project", `selected>Beta Films</option>`)
	apptest.WantNot(t, r, "Marketing")
	// Not a member: refused.
	apptest.WantPage(t, c.Post("/projects", url.Values{"org": {"01a20162-0000-7000-8000-000000000000"}, "name": {"x"}}), http.StatusNotFound, "Organization not found.")

	// API keys: the secret once, then only its prefix.
	apptest.WantRedirect(t, c.Post("/orgs/switch", url.Values{"org_id": {acme[1]}}), "/dashboard")
	apptest.WantPage(t, c.Get("/api-keys"), 200, "No API keys yet", "Create an API key")
	r = c.Post("/api-keys", url.Values{"name": {"CI"}, "project": {m}, "mode." + m: {"full"}, "expires_on": {"2027-01-31"}})
	apptest.WantPage(t, r, 200, "Your new API key", "Copy the key now", `data-copy="secret"`, "Full access to project Marketing")
	secret := regexp.MustCompile(`value="(gh_key_[A-Za-z0-9_-]+)"`).FindStringSubmatch(r.Body)
	if secret == nil {
		t.Fatal("no secret shown")
	}
	s.Must(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: secret[1]})
	r = c.Get("/api-keys")
	apptest.WantPage(t, r, 200, "CI", "1 Feb 2027")
	apptest.WantNot(t, r, secret[1])
	if strings.Contains(s.Logs.String(), secret[1]) {
		t.Fatal("the key's secret is in the logs")
	}
	key := regexp.MustCompile(`/api-keys/([0-9a-f-]{36})/revoke`).FindStringSubmatch(r.Body)
	apptest.WantRedirect(t, c.Post("/api-keys/"+key[1]+"/revoke", nil), "/api-keys")
	if r := s.Do(apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: secret[1]}); r.Status != 401 {
		t.Fatalf("revoked key works: %d", r.Status)
	}

	// Sessions: end another device's session.
	other := s.WebClient()
	apptest.WantRedirect(t, other.Post("/login", url.Values{"email": {"olivia@example.com"}, "password": {pw}}), "/dashboard")
	r = c.Get("/sessions")
	ends := regexp.MustCompile(`/sessions/([0-9a-f-]{36})/end`).FindAllStringSubmatch(r.Body, -1)
	if len(ends) != 2 {
		t.Fatalf("%d sessions listed, want 2", len(ends))
	}
	for _, e := range ends {
		if !strings.Contains(r.Body, "This device") {
			t.Fatal("the current session is not marked")
		}
		_ = e
	}
	otherID := ""
	for _, e := range ends {
		row := r.Body[strings.Index(r.Body, e[0])-1200 : strings.Index(r.Body, e[0])]
		if !strings.Contains(row[strings.LastIndex(row, "<tr>"):], "This device") {
			otherID = e[1]
		}
	}
	apptest.WantRedirect(t, c.Post("/sessions/"+otherID+"/end", nil), "/sessions")
	apptest.WantRedirect(t, other.Get("/dashboard"), "/login")
	apptest.WantPage(t, c.Get("/dashboard"), 200)
}

func TestForgotPassword(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.Engines(t)[0])
	signUp(t, s, "Ada", "ada@example.com")
	c := s.WebClient()
	apptest.WantPage(t, c.Get("/forgot-password"), 200, "Send code")
	r := c.Post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	apptest.WantPage(t, r, 200, "we sent it a 6-digit code", `name="otp"`, `value="ada@example.com"`)
	// A refused password after a right code: the page keeps the proof, so
	// no new code is needed.
	r = c.Post("/forgot-password/reset", url.Values{"email": {"ada@example.com"}, "otp": {s.LastCode("ada@example.com")}, "password": {"short"}})
	apptest.WantPage(t, r, 400, "Your code was right. Choose a new password.", "Password must be at least 10 characters.", `name="reset_token"`)
	token := regexp.MustCompile(`name="reset_token" value="([^"]+)"`).FindStringSubmatch(r.Body)[1]
	r = c.Post("/forgot-password/reset", url.Values{"email": {"ada@example.com"}, "reset_token": {token}, "password": {"a brand new passphrase"}})
	apptest.WantRedirect(t, r, "/login?email=ada%40example.com")
	apptest.WantPage(t, c.Follow(r), 200, "Your password is changed")
	apptest.WantPage(t, c.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {pw}}), 401)
	apptest.WantRedirect(t, c.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {"a brand new passphrase"}}), "/dashboard")
	if strings.Contains(s.Logs.String(), token) {
		t.Fatal("the reset token is in the logs")
	}
}

// A browser asking for a page that does not exist gets an HTML page; an
// API client still gets a problem document.
func TestWebNotFound(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t, storetest.SQLite())
	page := srv.Do(apptest.Req{Method: "GET", Path: "/no/such/page", Header: map[string]string{"Accept": "text/html,application/xhtml+xml"}})
	if page.Status != 404 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.Body), "Page not found") {
		t.Fatalf("browser: status %d, type %q", page.Status, page.Header.Get("Content-Type"))
	}
	if page.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("the not-found page lacks the security headers")
	}
	api := srv.Do(apptest.Req{Method: "GET", Path: "/no/such/page"})
	if api.Status != 404 || api.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("API client: status %d, type %q", api.Status, api.Header.Get("Content-Type"))
	}
}
