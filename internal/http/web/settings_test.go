package web_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Settings without the right: every form post is a 403 page, whatever it
// holds, and nothing changes; an admin may change settings but neither
// transfer nor delete.
func TestSettingsRights(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	oc, _ := owner(t, s, "olivia@acme.test")
	olivia := s.SignIn("olivia@acme.test", pw)
	org := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations", Token: olivia.Access})["data"].([]any)[0].(map[string]any)["id"].(string)
	s.InviteAndAccept(olivia.Access, org, "Vic Viewer", "vic@acme.test", map[string]any{"role": "viewer"})
	s.InviteAndAccept(olivia.Access, org, "Adam Admin", "adam@acme.test", map[string]any{"role": "admin"})
	viewer, admin := s.WebClient(), s.WebClient()
	apptest.WantRedirect(t, viewer.Post("/login", url.Values{"email": {"vic@acme.test"}, "password": {apptest.TestPassword}}), "/dashboard")
	apptest.WantRedirect(t, admin.Post("/login", url.Values{"email": {"adam@acme.test"}, "password": {apptest.TestPassword}}), "/dashboard")

	apptest.WantPage(t, viewer.Get("/settings"), 403, "You need settings read permission")
	apptest.WantNot(t, viewer.Get("/dashboard"), `href="/settings"`)
	for path, form := range map[string]url.Values{
		"/settings/name":        {"name": {"Taken over"}},
		"/settings/policy":      {"invitations_per_day": {"1"}, "default_expiry_days": {"1"}, "max_expiry_days": {"1"}, "who_can_invite": {"owners"}},
		"/settings/mfa":         {"require_mfa": {"on"}},
		"/settings/transfer":    {"user_id": {userID(t, s, viewer)}},
		"/settings/delete":      {"confirm_name": {"Acme Video"}},
		"/settings/logo/remove": {},
	} {
		if r := viewer.Post(path, form); r.Status != 403 {
			t.Errorf("viewer POST %s: status %d, want 403", path, r.Status)
		}
	}
	for _, path := range []string{"/settings/transfer", "/settings/delete"} {
		if r := admin.Post(path, url.Values{"user_id": {userID(t, s, viewer)}, "confirm_name": {"Acme Video"}}); r.Status != 403 {
			t.Errorf("admin POST %s: status %d, want 403", path, r.Status)
		}
	}
	page := admin.Get("/settings")
	apptest.WantPage(t, page, 200, "Save invitation policy")
	apptest.WantNot(t, page, "Transfer ownership", "Delete this organization")
	pol := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/policy", Token: olivia.Access})
	if pol["who_can_invite"] != "members_write" || pol["invitations_per_day"] != float64(100) {
		t.Fatalf("a refused post changed the policy: %v", pol)
	}
	apptest.WantPage(t, oc.Get("/settings"), 200, "Acme Video", "Transfer ownership")

	// Wrong input keeps what was typed and says what is wrong beside it.
	page = oc.Post("/settings/policy", url.Values{"invitations_per_day": {"lots"}, "default_expiry_days": {"7"}, "max_expiry_days": {"30"}, "who_can_invite": {"owners"}, "allowed_domains": {"acme.test"}})
	apptest.WantPage(t, page, 400, "Invitations per day must be a whole number.", `value="lots"`, `value="acme.test"`)
	// A redirect to an origin not allowed is refused beside its field; a
	// reminder delay is saved and shown again.
	base := url.Values{"invitations_per_day": {"100"}, "default_expiry_days": {"7"}, "max_expiry_days": {"30"}, "who_can_invite": {"members_write"}}
	bad := url.Values{"redirect_url": {"https://evil.example/after"}, "remind_after_days": {"3"}}
	for k, v := range base {
		bad[k] = v
	}
	page = oc.Post("/settings/policy", bad)
	apptest.WantPage(t, page, 422, `id="f-redirect_url-err"`, `value="https://evil.example/after"`)
	good := url.Values{"remind_after_days": {"3"}}
	for k, v := range base {
		good[k] = v
	}
	apptest.WantRedirect(t, oc.Post("/settings/policy", good), "/settings")
	if pol := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/policy", Token: olivia.Access}); pol["remind_after_days"] != float64(3) {
		t.Fatalf("remind_after_days not saved: %v", pol)
	}
	apptest.WantPage(t, oc.Get("/settings"), 200, `name="remind_after_days"`, `value="3"`)
	page = oc.Post("/settings/delete", url.Values{"confirm_name": {"acme video"}})
	apptest.WantPage(t, page, 400, "Type “Acme Video” exactly", `value="acme video"`)
	page = oc.Post("/settings/transfer", url.Values{"user_id": {"0190c0de-0000-7000-8000-000000000000"}, "confirm_transfer": {"on"}})
	apptest.WantPage(t, page, 404, "Member not found.")
}

// An upload post without a file, or not multipart at all, asks for a file
// beside the input; the profile stays as it was.
func TestProfileUploadWithoutFile(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.SQLite())
	c := signUp(t, s, "Ada", "ada@acme.test")
	apptest.WantPage(t, c.Post("/profile/avatar", url.Values{"avatar": {"not a file"}}), 400, "Choose an image file to upload.", `id="f-avatar-err"`)
	apptest.WantPage(t, c.Post("/profile/name", url.Values{"name": {"Ada\nLovelace"}}), 400, "Name must be one line of text.")
	apptest.WantPage(t, c.Post("/profile/password", url.Values{"current_password": {""}, "password": {"a new long passphrase"}}), 400, "Current password is required.")
	apptest.WantPage(t, c.Get("/profile"), 200, "Ada", "Change password")
}
