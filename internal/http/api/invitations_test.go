package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/seedtest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// ---------------------------------------------------------------------------
// Shared fixture for the invitation, member and role tests.

// ivWorld is an organization ("Acme Video") with its owner, two projects
// and a small folder tree, plus a second organization of the same owner
// whose ids are foreign to the first.
type ivWorld struct {
	srv         *apptest.Server
	owner       string // the owner's access token
	ownerID     string
	org         string
	proj        string // "Launch": Trailers > Teasers
	proj2       string // "Archive": Old
	folder      string // Trailers
	sub         string // Teasers, a child of Trailers
	folder2     string // Old, in Archive
	otherOrg    string
	otherProj   string
	otherFolder string
	otherRole   string // a custom role of otherOrg
}

const ivOwnerName = "Olivia Owner"

func ivSetup(t *testing.T, e storetest.Engine) *ivWorld {
	t.Helper()
	srv := apptest.New(t, e)
	tok, u := srv.Signup(ivOwnerName, "olivia@example.com")
	w := &ivWorld{srv: srv, owner: tok, ownerID: u["id"].(string)}
	w.org = srv.CreateOrg(tok, "Acme Video")
	srv.AddSSOConnection(tok, w.org, "example.com") // for authentication: sso invitations
	w.proj = srv.CreateProject(tok, w.org, "Launch")
	w.proj2 = srv.CreateProject(tok, w.org, "Archive")
	w.folder = srv.CreateFolder(tok, w.org, w.proj, "Trailers", "")
	w.sub = srv.CreateFolder(tok, w.org, w.proj, "Teasers", w.folder)
	w.folder2 = srv.CreateFolder(tok, w.org, w.proj2, "Old", "")
	w.otherOrg = srv.CreateOrg(tok, "Other Co")
	w.otherProj = srv.CreateProject(tok, w.otherOrg, "Elsewhere")
	w.otherFolder = srv.CreateFolder(tok, w.otherOrg, w.otherProj, "Far", "")
	role := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: apptest.OrgHeader(w.otherOrg),
		Body: map[string]any{"name": "outsider", "permissions": []any{ivProj("*", "custom", "", ivArea("analytics", "read"))}}})
	w.otherRole = role["id"].(string)
	return w
}

// req is a request acting in the world's organization; a string body is
// sent as raw JSON.
func (w *ivWorld) req(method, path, token string, body any) apptest.Req {
	r := apptest.Req{Method: method, Path: path, Token: token, Header: apptest.OrgHeader(w.org), Body: body}
	if _, raw := body.(string); raw {
		r.ContentType = "application/json"
	}
	return r
}

// signIn signs email in again (access tokens last 15 minutes of the test
// clock) and returns the new access token.
func (w *ivWorld) signIn(t *testing.T, email string) string {
	t.Helper()
	out := ivStatus(t, 200, w.srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login",
		Body: map[string]string{"email": email, "password": apptest.TestPassword}}))
	return out["access_token"].(string)
}

// advance moves the clock and signs the owner in again.
func (w *ivWorld) advance(t *testing.T, d time.Duration) {
	t.Helper()
	w.srv.Clock.Advance(d)
	w.owner = w.signIn(t, "olivia@example.com")
}

// ivAccountExists looks an account up in the store.
func ivAccountExists(t *testing.T, srv *apptest.Server, email string) bool {
	t.Helper()
	_, err := srv.Store.R().UserByEmail(context.Background(), email)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

func (w *ivWorld) do(method, path, token string, body any) *apptest.Response {
	return w.srv.Do(w.req(method, path, token, body))
}

// must sends a request in the organization and fails t unless the status is want.
func (w *ivWorld) must(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	return ivStatus(t, want, w.do(method, path, token, body))
}

// member signs up name <email> and makes them a member with access (role
// and/or permissions), invited by the owner. It returns their token and id.
func (w *ivWorld) member(name, email string, access map[string]any) (token, id string) {
	token, u := w.srv.InviteAndAccept(w.owner, w.org, name, email, access)
	return token, u["id"].(string)
}

// invite has the owner invite email with access; it returns the invitation
// and its link's token.
func (w *ivWorld) invite(t *testing.T, email string, access map[string]any) (inv map[string]any, token string) {
	t.Helper()
	return w.inviteAs(t, w.owner, email, access)
}

func (w *ivWorld) inviteAs(t *testing.T, inviter, email string, access map[string]any) (inv map[string]any, token string) {
	t.Helper()
	body := map[string]any{"email": email}
	for k, v := range access {
		body[k] = v
	}
	inv = w.must(t, 201, "POST", "/v1/members/invitations", inviter, body)
	return inv, w.srv.LastInvitationToken(email)
}

// status reads an invitation's status through the management API.
func (w *ivWorld) status(t *testing.T, id string) string {
	t.Helper()
	return w.must(t, 200, "GET", "/v1/members/invitations/"+id, w.owner, nil)["status"].(string)
}

// Grant builders.
func ivOrgGrant(orgID, name, action string) map[string]any {
	return map[string]any{"entity_type": "organizations", "entity_id": orgID, "name": name, "action": action, "permission": []any{}}
}

func ivProj(projectID, name, action string, areas ...map[string]any) map[string]any {
	perm := []any{}
	for _, a := range areas {
		perm = append(perm, a)
	}
	return map[string]any{"entity_type": "projects", "entity_id": projectID, "name": name, "action": action, "permission": perm}
}

func ivArea(name, action string) map[string]any {
	return map[string]any{"name": name, "action": action}
}

func ivFolders(folders ...map[string]any) map[string]any {
	fs := []any{}
	for _, f := range folders {
		fs = append(fs, f)
	}
	return map[string]any{"name": "folders", "action": "custom", "folders": fs}
}

func ivFolder(id, action string) map[string]any {
	return map[string]any{"folder_id": id, "action": action}
}

func ivPerms(grants ...map[string]any) map[string]any {
	gs := []any{}
	for _, g := range grants {
		gs = append(gs, g)
	}
	return map[string]any{"permissions": gs}
}

func ivRole(role string) map[string]any { return map[string]any{"role": role} }

// ivStatus fails t unless resp has status want; it returns the JSON object
// body, if any.
func ivStatus(t *testing.T, want int, resp *apptest.Response) map[string]any {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status %d, want %d: %s", resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(t)
}

// ivProblem checks a problem document with status and (unless "") code.
func ivProblem(t *testing.T, resp *apptest.Response, status int, code string) map[string]any {
	t.Helper()
	p := apptest.Problem(t, resp, status)
	if code != "" && p["code"] != code {
		t.Fatalf("code %v, want %q: %s", p["code"], code, resp.Body)
	}
	if detail, _ := p["detail"].(string); detail == "" {
		t.Fatalf("problem without detail: %s", resp.Body)
	}
	return p
}

// ivField checks that a 400 problem names field among its errors.
func ivField(t *testing.T, p map[string]any, field string) {
	t.Helper()
	errs, _ := p["errors"].([]any)
	var got []string
	for _, e := range errs {
		f, _ := e.(map[string]any)["field"].(string)
		if f == field {
			return
		}
		got = append(got, f)
	}
	t.Fatalf("no error for field %q; fields %v", field, got)
}

// ivData returns a list body's data and next cursor.
func ivData(t *testing.T, body map[string]any) ([]map[string]any, string) {
	t.Helper()
	raw, ok := body["data"].([]any)
	if !ok {
		t.Fatalf("no data array: %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	next, _ := body["next_cursor"].(string)
	if _, present := body["next_cursor"]; !present {
		t.Fatalf("no next_cursor member: %v", body)
	}
	return out, next
}

func ivIDs(items []map[string]any, key string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it[key].(string)
	}
	return out
}

// ivTime parses an RFC 3339 UTC time field.
func ivTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("time %q is not RFC 3339 UTC: %v", s, err)
	}
	return tm
}

// ivGrants decodes a permission list, from a request or a response, for
// comparison.
func ivGrants(t *testing.T, v any) []gatehouse.Grant {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var gs []gatehouse.Grant
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatalf("not a permission list: %s", b)
	}
	for i := range gs {
		if gs[i].Permission == nil {
			gs[i].Permission = []gatehouse.AreaGrant{}
		}
	}
	return gs
}

// ivRaw sends a request without the harness (safe from any goroutine).
func ivRaw(srv *apptest.Server, method, path, token string, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.HTTP.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ---------------------------------------------------------------------------
// Sending.

// ivSeedBodies gives the two bodies of the "Send invitation" page: the live
// one and the commented custom one (sent with customEmail), ids replaced by
// real ones.
func ivSeedBodies(w *ivWorld, customEmail string) (live, custom string) {
	live = seedtest.WithIDs(seedtest.LiveBody, map[string]string{seedtest.LiveProject: w.proj2, seedtest.LiveOrg: w.org})
	custom = seedtest.WithIDs(seedtest.CustomBody, map[string]string{seedtest.Email: customEmail,
		seedtest.CustomProject: w.proj, seedtest.CustomFolder: w.folder, seedtest.CustomOrg: w.org})
	return live, custom
}

var ivInvitationFields = []string{"id", "organization_id", "email", "name", "role", "permissions", "authentication", "status",
	"created_by", "created_time", "updated_by", "updated_time", "expires_at", "email_status"}

// ivCheckInvitation checks an invitation object's shape.
func ivCheckInvitation(t *testing.T, inv map[string]any) {
	t.Helper()
	for _, f := range ivInvitationFields {
		if _, ok := inv[f]; !ok {
			t.Fatalf("invitation has no %q: %v", f, inv)
		}
	}
	for k := range inv {
		found := false
		for _, f := range ivInvitationFields {
			found = found || f == k
		}
		if !found {
			t.Fatalf("invitation has unexpected member %q: %v", k, inv)
		}
	}
	ivTime(t, inv["created_time"])
	ivTime(t, inv["updated_time"])
	ivTime(t, inv["expires_at"])
}

func TestInvitationsSeedBody(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		live, custom := ivSeedBodies(w, "rakajui.custom@gmail.com")
		now := srv.Clock.Now()

		t.Run("ErrNeedsMembersWrite", func(t *testing.T) {
			// The page's body from someone without org members write.
			v, _ := srv.Signup("Val Viewer", "val@example.com")
			w.invite(t, "val@example.com", ivRole("viewer"))
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("val@example.com") + "/accept", Token: v}))
			ivProblem(t, w.do("POST", "/v1/members/invitations", v, live), 403, "forbidden")
			ivProblem(t, w.do("POST", "/v1/account/users/invitations", v, custom), 403, "forbidden")
			if n := len(srv.InvitationTokens("rakajui@gmail.com")); n != 0 {
				t.Fatalf("%d invitation mails after a refusal", n)
			}
		})

		t.Run("OK", func(t *testing.T) {
			inv := w.must(t, 201, "POST", "/v1/members/invitations", w.owner, live)
			ivCheckInvitation(t, inv)
			if inv["email"] != "rakajui@gmail.com" || inv["status"] != "pending" || inv["authentication"] != "password" ||
				inv["organization_id"] != w.org || inv["created_by"] != w.ownerID || inv["updated_by"] != w.ownerID ||
				inv["role"] != nil || inv["name"] != "" {
				t.Fatalf("invitation = %v", inv)
			}
			if got := ivTime(t, inv["expires_at"]); !got.Equal(now.Add(7 * 24 * time.Hour)) {
				t.Fatalf("expires_at %v, want 7 days after %v", got, now)
			}
			if st, _ := inv["email_status"].(string); st == "" {
				t.Fatalf("email_status = %v", inv["email_status"])
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(live), &sent); err != nil {
				t.Fatal(err)
			}
			if got, want := ivGrants(t, inv["permissions"]), ivGrants(t, sent["permissions"]); !reflect.DeepEqual(got, want) {
				t.Fatalf("permissions\n got %+v\nwant %+v", got, want)
			}

			// The email: who, where, what access, the link, the expiry.
			mails := srv.MailTo("rakajui@gmail.com")
			if len(mails) != 1 || mails[0].Kind != "invitation" || mails[0].RefID != inv["id"] {
				t.Fatalf("mails = %+v", mails)
			}
			m := mails[0]
			token := srv.LastInvitationToken("rakajui@gmail.com")
			for _, want := range []string{ivOwnerName, "Acme Video", "Full access to project Archive", "Organization billing: the billing permission",
				"Organization API access", "http://gatehouse.test/invitations/" + token, "8 November 2026"} {
				if !strings.Contains(m.Text, want) {
					t.Fatalf("invitation mail lacks %q:\n%s", want, m.Text)
				}
			}
			// Billing is one permission, as the guide's check-box says.
			if strings.Contains(m.Text, "billing: read") {
				t.Fatalf("billing described as actions:\n%s", m.Text)
			}
			if !strings.Contains(m.Subject, ivOwnerName) || !strings.Contains(m.Subject, "Acme Video") {
				t.Fatalf("subject = %q", m.Subject)
			}
			if srv.AuditFor(w.org, "invitation.created", inv["id"].(string)) == nil {
				t.Fatal("no invitation.created audit event")
			}
			// The same invitation at the seed's path.
			got := w.must(t, 200, "GET", "/v1/account/users/invitations/"+inv["id"].(string), w.owner, nil)
			if got["id"] != inv["id"] || got["status"] != "pending" {
				t.Fatalf("GET at the seed's path = %v", got)
			}
		})

		t.Run("OKCommentedCustomExample", func(t *testing.T) {
			inv := w.must(t, 201, "POST", "/v1/account/users/invitations", w.owner, custom)
			ivCheckInvitation(t, inv)
			var sent map[string]any
			if err := json.Unmarshal([]byte(custom), &sent); err != nil {
				t.Fatal(err)
			}
			if got, want := ivGrants(t, inv["permissions"]), ivGrants(t, sent["permissions"]); !reflect.DeepEqual(got, want) {
				t.Fatalf("permissions\n got %+v\nwant %+v", got, want)
			}
			text := srv.MailTo("rakajui.custom@gmail.com")[0].Text
			for _, want := range []string{"folder Trailers in project Launch (and its subfolders)", "Livestreams of project Launch",
				"Settings of project Launch", "Organization billing", "Organization API access"} {
				if !strings.Contains(text, want) {
					t.Fatalf("invitation mail lacks %q:\n%s", want, text)
				}
			}
			// The invitee may hold what the custom example grants.
			tok, _ := srv.Signup("Raka Jui", "rakajui.custom@gmail.com")
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("rakajui.custom@gmail.com") + "/accept", Token: tok}))
			res := w.must(t, 200, "POST", "/v1/members/permissions/check", tok, map[string]any{"checks": []any{
				map[string]any{"entity_type": "folders", "entity_id": w.sub, "name": "folders", "action": "delete"},
				map[string]any{"entity_type": "folders", "entity_id": w.folder2, "name": "folders", "action": "read"},
				map[string]any{"entity_type": "organizations", "entity_id": w.org, "name": "billing", "action": "write"},
				map[string]any{"entity_type": "organizations", "entity_id": w.org, "name": "billing", "action": "delete"},
			}})
			results := res["results"].([]any)
			want := []bool{true, false, true, false}
			for i, r := range results {
				if r.(map[string]any)["allowed"] != want[i] {
					t.Fatalf("check %d = %v, want %v", i, r, want[i])
				}
			}
		})
	})
}

func TestInvitationsCreateRefused(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, _ := w.member("Ada Admin", "ada@example.com", ivRole("admin"))
		viewer, _ := w.member("Vic Viewer", "vic@example.com", ivRole("viewer"))
		// A recruiter: members, all of Archive, and Trailers read+write.
		recruiter, _ := w.member("Rae Recruiter", "rae@example.com", ivPerms(ivOrgGrant(w.org, "members", ""),
			ivProj(w.proj2, "full-access", ""), ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.folder, "read+write")))))

		cases := []struct {
			name   string
			token  string
			body   any
			status int
			code   string
			field  string
		}{
			{"ErrUnauthenticated", "", ivRole("viewer"), 401, "", ""},
			{"ErrNoMembersWrite", viewer, ivRole("viewer"), 403, "forbidden", ""},
			{"ErrEscalationOrgBilling", admin, ivPerms(ivOrgGrant(w.org, "billing", "")), 403, "escalation", ""},
			{"ErrEscalationOrgOwner", admin, ivPerms(ivOrgGrant(w.org, "owner", "")), 403, "escalation", ""},
			{"ErrEscalationOwnerRole", admin, ivRole("owner"), 403, "escalation", ""},
			{"ErrEscalationBillingRoleByID", admin, ivRole(gatehouse.RoleBillingID), 403, "escalation", ""},
			{"ErrEscalationRoleAndPermissions", admin, map[string]any{"role": "viewer", "permissions": []any{ivOrgGrant(w.org, "billing", "read")}}, 403, "escalation", ""},
			{"ErrEscalationOtherProject", recruiter, ivPerms(ivProj(w.proj, "full-access", "")), 403, "escalation", ""},
			{"ErrEscalationEveryProject", recruiter, ivPerms(ivProj("*", "custom", "", ivArea("folders", "read"))), 403, "escalation", ""},
			{"ErrEscalationFolderAction", recruiter, ivPerms(ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.folder, "delete")))), 403, "escalation", ""},
			{"ErrEscalationViewerRole", recruiter, ivRole("viewer"), 403, "escalation", ""},
			{"ErrForeignProject", w.owner, ivPerms(ivOrgGrant(w.org, "billing", ""), ivProj(w.otherProj, "full-access", "")), 400, "invalid", "permissions[1].entity_id"},
			{"ErrForeignOrganization", w.owner, ivPerms(ivOrgGrant(w.otherOrg, "billing", "")), 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignFolder", w.owner, ivPerms(ivProj(w.proj, "custom", "", ivArea("analytics", "read"), ivFolders(ivFolder(w.otherFolder, "read")))), 400, "invalid", "permissions[0].permission[1].folders[0].folder_id"},
			{"ErrFolderOfAnotherProject", w.owner, ivPerms(ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.folder2, "read")))), 400, "invalid", "permissions[0].permission[0].folders[0].folder_id"},
			{"ErrUnknownProject", w.owner, ivPerms(ivProj("0191f2a4-0000-7000-8000-000000000000", "full-access", "")), 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignRole", w.owner, ivRole(w.otherRole), 400, "invalid", "role"},
			{"ErrUnknownRoleName", w.owner, ivRole("superuser"), 400, "invalid", "role"},
			{"ErrBadAction", w.owner, ivPerms(ivOrgGrant(w.org, "billing", "write+write")), 400, "invalid", "permissions[0].action"},
			{"ErrUnknownArea", w.owner, ivPerms(ivProj(w.proj, "custom", "", ivArea("videos", "read"))), 400, "invalid", "permissions[0].permission[0].name"},
			{"ErrUnknownEntityType", w.owner, ivPerms(map[string]any{"entity_type": "users", "entity_id": w.org, "name": "x", "action": "", "permission": []any{}}), 400, "invalid", "permissions[0].entity_type"},
			{"ErrNoRoleNorPermissions", w.owner, map[string]any{}, 400, "invalid", "permissions"},
			{"ErrEmptyPermissions", w.owner, map[string]any{"permissions": []any{}}, 400, "invalid", "permissions"},
			{"ErrBadAuthentication", w.owner, map[string]any{"role": "viewer", "authentication": "ldap"}, 400, "invalid", "authentication"},
			{"ErrExpiresTooSoon", w.owner, map[string]any{"role": "viewer", "expires_in_days": 0}, 400, "invalid", "expires_in_days"},
			{"ErrExpiresTooLate", w.owner, map[string]any{"role": "viewer", "expires_in_days": 31}, 400, "invalid", "expires_in_days"},
			{"ErrUnknownField", w.owner, map[string]any{"role": "viewer", "admin": true}, 400, "invalid", "admin"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				email := "refused" + strings.Repeat("x", i) + "@example.com"
				body := map[string]any{"email": email}
				for k, v := range tc.body.(map[string]any) {
					body[k] = v
				}
				p := ivProblem(t, w.do("POST", "/v1/members/invitations", tc.token, body), tc.status, tc.code)
				if tc.field != "" {
					ivField(t, p, tc.field)
				}
				if n := len(srv.MailTo(email)); n != 0 {
					t.Fatalf("%d mails to %s after a refusal", n, email)
				}
				list := w.must(t, 200, "GET", "/v1/members/invitations?email="+url.QueryEscape(email), w.owner, nil)
				if items, _ := ivData(t, list); len(items) != 0 {
					t.Fatalf("refused invitation was stored: %v", items)
				}
			})
		}
		t.Run("ErrEmail", func(t *testing.T) {
			for _, body := range []map[string]any{{"role": "viewer"}, {"email": "", "role": "viewer"}, {"email": "not-an-email", "role": "viewer"}} {
				ivField(t, ivProblem(t, w.do("POST", "/v1/members/invitations", w.owner, body), 400, "invalid"), "email")
			}
		})

		t.Run("OK", func(t *testing.T) {
			now := srv.Clock.Now()
			for _, tc := range []struct {
				name   string
				token  string
				body   map[string]any
				role   string
				auth   string
				days   int
				grants int
			}{
				{"RoleByName", w.owner, ivRole("Viewer"), gatehouse.RoleViewerID, "password", 7, 0},
				{"RoleByID", admin, ivRole(gatehouse.RoleUploaderID), gatehouse.RoleUploaderID, "password", 7, 0},
				{"RoleAndPermissions", admin, map[string]any{"role": "viewer", "permissions": []any{ivOrgGrant(w.org, "members", "read")}}, gatehouse.RoleViewerID, "password", 7, 1},
				{"SSOAndThirtyDays", w.owner, map[string]any{"role": "admin", "authentication": "sso", "expires_in_days": 30, "name": "Sam"}, gatehouse.RoleAdminID, "sso", 30, 0},
				{"AdminGrantsProject", admin, ivPerms(ivProj(w.proj, "full-access", "read")), "", "password", 7, 1},
				{"RecruiterGrantsSubfolder", recruiter, ivPerms(ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.sub, "write")))), "", "password", 7, 1},
				{"RecruiterGrantsArchive", recruiter, ivPerms(ivProj(w.proj2, "custom", "", ivArea("analytics", "read+delete"))), "", "password", 7, 1},
			} {
				email := strings.ToLower(tc.name) + "@example.com"
				body := map[string]any{"email": email}
				for k, v := range tc.body {
					body[k] = v
				}
				inv := w.must(t, 201, "POST", "/v1/members/invitations", tc.token, body)
				ivCheckInvitation(t, inv)
				role, _ := inv["role"].(map[string]any)
				if tc.role == "" && inv["role"] != nil || tc.role != "" && (role == nil || role["id"] != tc.role) {
					t.Fatalf("%s: role = %v, want %q", tc.name, inv["role"], tc.role)
				}
				if inv["authentication"] != tc.auth || len(inv["permissions"].([]any)) != tc.grants {
					t.Fatalf("%s: invitation = %v", tc.name, inv)
				}
				if got := ivTime(t, inv["expires_at"]); !got.Equal(now.Add(time.Duration(tc.days) * 24 * time.Hour)) {
					t.Fatalf("%s: expires_at %v, want %d days on", tc.name, got, tc.days)
				}
				if len(srv.InvitationTokens(email)) != 1 {
					t.Fatalf("%s: no invitation mail", tc.name)
				}
			}
		})
	})
}

func TestInvitationsDuplicates(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		_, _ = w.member("Mia Member", "mia@example.com", ivRole("viewer"))
		first, _ := w.invite(t, "dup@example.com", ivRole("viewer"))

		for _, tc := range []struct {
			name, email, code string
			existing          bool
		}{
			{"ErrPending", "dup@example.com", "invitation_pending", true},
			{"ErrPendingOtherCase", "  DUP@Example.COM ", "invitation_pending", true},
			{"ErrAlreadyMember", "MIA@example.com", "already_member", false},
			{"ErrInviterThemself", "olivia@example.com", "already_member", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := ivProblem(t, w.do("POST", "/v1/members/invitations", w.owner, map[string]any{"email": tc.email, "role": "uploader"}), 409, tc.code)
				if tc.existing && p["existing_id"] != first["id"] {
					t.Fatalf("existing_id = %v, want %v", p["existing_id"], first["id"])
				}
			})
		}
		t.Run("ErrPendingUntouched", func(t *testing.T) {
			if n := len(srv.InvitationTokens("dup@example.com")); n != 1 {
				t.Fatalf("%d invitation mails, want 1", n)
			}
			got := w.must(t, 200, "GET", "/v1/members/invitations/"+first["id"].(string), w.owner, nil)
			if got["status"] != "pending" || got["role"].(map[string]any)["name"] != "viewer" {
				t.Fatalf("first invitation changed: %v", got)
			}
		})
		t.Run("OKOtherOrganization", func(t *testing.T) {
			srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
				Body: map[string]any{"email": "dup@example.com", "role": "viewer"}})
		})
		t.Run("OKAfterRevoke", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/account/users/invitations/"+first["id"].(string), w.owner, nil) // the seed's path
			again, _ := w.invite(t, "dup@example.com", ivRole("uploader"))
			if again["id"] == first["id"] || w.status(t, first["id"].(string)) != "revoked" {
				t.Fatalf("re-invite after revoke: %v", again)
			}
		})
		t.Run("OKAfterExpiry", func(t *testing.T) {
			old, _ := w.invite(t, "lapse@example.com", map[string]any{"role": "viewer", "expires_in_days": 1})
			w.advance(t, 24*time.Hour)
			again, _ := w.invite(t, "lapse@example.com", ivRole("viewer"))
			if again["id"] == old["id"] || w.status(t, old["id"].(string)) != "expired" {
				t.Fatalf("re-invite after expiry: %v", again)
			}
			if srv.AuditFor(w.org, "invitation.expired", old["id"].(string)) == nil {
				t.Fatal("no invitation.expired audit event")
			}
		})
	})
}

func TestInvitationsDailyLimit(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		send := func(org, email string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(org),
				Body: map[string]any{"email": email, "role": "viewer"}})
		}
		t.Run("ErrOverSetting", func(t *testing.T) {
			srv.SetOrgSetting(w.org, "invitations_per_day", 3)
			for i := range 3 {
				ivStatus(t, 201, send(w.org, "day"+strings.Repeat("x", i)+"@example.com"))
				w.advance(t, time.Hour)
			}
			resp := send(w.org, "fourth@example.com")
			ivProblem(t, resp, 429, "")
			ra := resp.Header.Get("Retry-After")
			if secs, err := time.ParseDuration(ra + "s"); err != nil || secs <= 0 || secs > 24*time.Hour {
				t.Fatalf("Retry-After %q", ra)
			}
			if len(srv.MailTo("fourth@example.com")) != 0 {
				t.Fatal("mail sent past the limit")
			}
			// The oldest of the day leaves the window: one more fits.
			w.advance(t, 21*time.Hour+time.Second)
			ivStatus(t, 201, send(w.org, "fourth@example.com"))
			ivProblem(t, send(w.org, "fifth@example.com"), 429, "")
		})
		t.Run("ErrOverDefault", func(t *testing.T) {
			org := srv.CreateOrg(w.owner, "Busy Co")
			for i := range 100 {
				ivStatus(t, 201, send(org, "bulk"+strings.Repeat("y", i%10)+string(rune('a'+i/10))+"@example.com"))
			}
			ivProblem(t, send(org, "one-too-many@example.com"), 429, "")
			// Other organizations keep their own budget.
			ivStatus(t, 201, send(w.otherOrg, "one-too-many@example.com"))
		})
	})
}

// ---------------------------------------------------------------------------
// Managing.

func TestInvitationsListAndGet(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", ivRole("viewer"))
		vics, _ := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations?email=vic%40example.com", w.owner, nil))
		if len(vics) != 1 {
			t.Fatalf("viewer's invitations: %v", vics)
		}
		vic := vics[0]["id"].(string)
		srv.Clock.Advance(time.Second)
		a, _ := w.invite(t, "a@example.com", ivRole("viewer"))
		srv.Clock.Advance(time.Second)
		b, _ := w.invite(t, "b@example.com", ivRole("uploader"))
		srv.Clock.Advance(time.Second)
		c, _ := w.invite(t, "c@example.com", ivPerms(ivProj(w.proj, "full-access", "")))
		w.must(t, 204, "DELETE", "/v1/members/invitations/"+b["id"].(string), w.owner, nil)
		foreign := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "a@example.com", "role": "viewer"}})

		t.Run("ErrNoMembersRead", func(t *testing.T) {
			ivProblem(t, w.do("GET", "/v1/members/invitations", viewer, nil), 403, "forbidden")
			ivProblem(t, w.do("GET", "/v1/members/invitations/"+a["id"].(string), viewer, nil), 403, "forbidden")
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			ivProblem(t, w.do("GET", "/v1/members/invitations", "", nil), 401, "")
		})
		t.Run("ErrBadFilters", func(t *testing.T) {
			ivField(t, ivProblem(t, w.do("GET", "/v1/members/invitations?status=lost", w.owner, nil), 400, "invalid"), "status")
			ivField(t, ivProblem(t, w.do("GET", "/v1/members/invitations?limit=0", w.owner, nil), 400, "invalid"), "limit")
			ivProblem(t, w.do("GET", "/v1/members/invitations?cursor=garbage", w.owner, nil), 400, "")
		})
		t.Run("ErrNotInOrganization", func(t *testing.T) {
			for _, id := range []string{foreign["id"].(string), "0191f2a4-0000-7000-8000-000000000000", "not-a-uuid"} {
				ivProblem(t, w.do("GET", "/v1/members/invitations/"+id, w.owner, nil), 404, "")
			}
		})

		t.Run("OK", func(t *testing.T) {
			items, next := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations", w.owner, nil))
			if got, want := ivIDs(items, "id"), []string{c["id"].(string), b["id"].(string), a["id"].(string), vic}; !reflect.DeepEqual(got, want) || next != "" {
				t.Fatalf("list = %v (next %q), want %v newest first", got, next, want)
			}
			for _, it := range items {
				ivCheckInvitation(t, it)
			}
			for _, tc := range []struct {
				query string
				want  []string
			}{
				{"?status=pending", []string{c["id"].(string), a["id"].(string)}},
				{"?status=revoked", []string{b["id"].(string)}},
				{"?status=accepted", []string{vic}},
				{"?email=A%40EXAMPLE.COM", []string{a["id"].(string)}},
				{"?status=revoked&email=a%40example.com", []string{}},
			} {
				items, _ := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations"+tc.query, w.owner, nil))
				if got := ivIDs(items, "id"); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: %v, want %v", tc.query, got, tc.want)
				}
			}
			// Cursor pages, here at the seed's path.
			var all []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 3 {
					t.Fatal("too many pages")
				}
				path := "/v1/account/users/invitations?limit=2"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				items, next := ivData(t, w.must(t, 200, "GET", path, w.owner, nil))
				if len(items) > 2 {
					t.Fatalf("page of %d", len(items))
				}
				all = append(all, ivIDs(items, "id")...)
				if next == "" {
					break
				}
				cursor = next
			}
			if want := []string{c["id"].(string), b["id"].(string), a["id"].(string), vic}; !reflect.DeepEqual(all, want) {
				t.Fatalf("paged %v, want %v", all, want)
			}
			got := w.must(t, 200, "GET", "/v1/members/invitations/"+b["id"].(string), w.owner, nil)
			ivCheckInvitation(t, got)
			if got["status"] != "revoked" || got["email"] != "b@example.com" || got["role"].(map[string]any)["name"] != "uploader" ||
				got["created_by"] != w.ownerID || got["updated_by"] != w.ownerID {
				t.Fatalf("GET = %v", got)
			}
		})
	})
}

func TestInvitationsRevoke(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", ivRole("viewer"))
		inv, token := w.invite(t, "rev@example.com", ivRole("viewer"))
		id := inv["id"].(string)
		foreign := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "rev@example.com", "role": "viewer"}})

		t.Run("ErrNoMembersWrite", func(t *testing.T) {
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+id, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrNotInOrganization", func(t *testing.T) {
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+foreign["id"].(string), w.owner, nil), 404, "")
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/0191f2a4-0000-7000-8000-000000000000", w.owner, nil), 404, "")
		})
		t.Run("ErrStillPending", func(t *testing.T) {
			if st := w.status(t, id); st != "pending" {
				t.Fatalf("status %s after refused revocations", st)
			}
		})

		t.Run("OK", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/members/invitations/"+id, w.owner, nil)
			got := w.must(t, 200, "GET", "/v1/members/invitations/"+id, w.owner, nil)
			if got["status"] != "revoked" || got["updated_by"] != w.ownerID {
				t.Fatalf("after revoke: %v", got)
			}
			if srv.AuditFor(w.org, "invitation.revoked", id) == nil {
				t.Fatal("no invitation.revoked audit event")
			}
		})
		t.Run("ErrLinkDead", func(t *testing.T) {
			// Shown, accepted (signed in or not) or rejected: 410 with the state.
			invitee, _ := srv.Signup("Rev Invitee", "rev@example.com")
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/invitations/" + token},
				{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Token: invitee},
				{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Body: map[string]any{"name": "X", "password": apptest.TestPassword}},
				{Method: "POST", Path: "/v1/invitations/" + token + "/reject"},
			} {
				p := ivProblem(t, srv.Do(r), 410, "invitation_revoked")
				if p["invitation_status"] != "revoked" {
					t.Fatalf("%s %s: invitation_status %v", r.Method, r.Path, p["invitation_status"])
				}
			}
			if got := w.must(t, 200, "GET", "/v1/members/"+w.ownerID, w.owner, nil); got == nil {
				t.Fatal("owner lost")
			}
			ivProblem(t, w.do("GET", "/v1/members", invitee, nil), 404, "")
		})
		t.Run("ErrAlreadyRevoked", func(t *testing.T) {
			p := ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})
		t.Run("ErrAccepted", func(t *testing.T) {
			_, uid := w.member("Acc Epted", "acc@example.com", ivRole("viewer"))
			items, _ := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations?email=acc%40example.com", w.owner, nil))
			if len(items) != 1 || items[0]["status"] != "accepted" {
				t.Fatalf("accepted invitation: %v", items)
			}
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+items[0]["id"].(string), w.owner, nil), 409, "invitation_not_pending")
			w.must(t, 200, "GET", "/v1/members/"+uid, w.owner, nil)
		})
	})
}

func TestInvitationsResend(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", ivRole("viewer"))
		inv, oldToken := w.invite(t, "again@example.com", map[string]any{"role": "viewer", "expires_in_days": 3})
		id := inv["id"].(string)
		resend := "/v1/members/invitations/" + id + "/resend"

		t.Run("ErrTooSoon", func(t *testing.T) {
			srv.Clock.Advance(4*time.Minute + 59*time.Second)
			resp := w.do("POST", resend, w.owner, nil)
			ivProblem(t, resp, 429, "")
			if ra := resp.Header.Get("Retry-After"); ra != "1" {
				t.Fatalf("Retry-After %q, want 1", ra)
			}
			if n := len(srv.InvitationTokens("again@example.com")); n != 1 {
				t.Fatalf("%d mails after a refused resend", n)
			}
		})
		t.Run("ErrNoMembersWrite", func(t *testing.T) {
			ivProblem(t, w.do("POST", resend, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrUnknown", func(t *testing.T) {
			ivProblem(t, w.do("POST", "/v1/members/invitations/0191f2a4-0000-7000-8000-000000000000/resend", w.owner, nil), 404, "")
		})

		t.Run("OK", func(t *testing.T) {
			srv.Clock.Advance(time.Second)
			now := srv.Clock.Now()
			got := w.must(t, 200, "POST", resend, w.owner, nil)
			ivCheckInvitation(t, got)
			if got["id"] != id || got["status"] != "pending" || !ivTime(t, got["expires_at"]).Equal(now.Add(3*24*time.Hour)) ||
				!ivTime(t, got["updated_time"]).Equal(now) {
				t.Fatalf("resent = %v", got)
			}
			tokens := srv.InvitationTokens("again@example.com")
			if len(tokens) != 2 || tokens[1] != oldToken || tokens[0] == oldToken {
				t.Fatalf("tokens after resend: %d", len(tokens))
			}
			newToken := tokens[0]
			// The old link is dead at once, and says a newer one was sent; the new one works.
			ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + oldToken}), 410, "invitation_superseded")
			ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + oldToken + "/accept",
				Body: map[string]any{"name": "Old Link", "password": apptest.TestPassword}}), 410, "invitation_superseded")
			show := ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + newToken}))
			if show["status"] != "pending" || !ivTime(t, show["expires_at"]).Equal(now.Add(3*24*time.Hour)) {
				t.Fatalf("show = %v", show)
			}
			if srv.AuditFor(w.org, "invitation.resent", id) == nil {
				t.Fatal("no invitation.resent audit event")
			}
			// The restarted expiry holds: past the first one, still pending.
			w.advance(t, 3*24*time.Hour-time.Second)
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + newToken}))
		})
		t.Run("ErrTooSoonAgain", func(t *testing.T) {
			// 3 days passed: allowed again; then at once refused.
			w.must(t, 200, "POST", resend, w.owner, nil)
			ivProblem(t, w.do("POST", resend, w.owner, nil), 429, "")
		})
		t.Run("ErrNotPending", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/members/invitations/"+id, w.owner, nil)
			w.advance(t, 10*time.Minute)
			p := ivProblem(t, w.do("POST", resend, w.owner, nil), 409, "invitation_not_pending")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})
	})
}

func TestInvitationsExpiry(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		short, shortToken := w.invite(t, "short@example.com", map[string]any{"role": "viewer", "expires_in_days": 1})
		long, longToken := w.invite(t, "long@example.com", ivRole("viewer"))
		invitee, _ := srv.Signup("Shorty", "short@example.com")
		show := func(token string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token})
		}

		t.Run("ErrExpired", func(t *testing.T) {
			w.advance(t, 24*time.Hour-time.Second)
			ivStatus(t, 200, show(shortToken))
			w.advance(t, time.Second)
			invitee = w.signIn(t, "short@example.com")
			id := short["id"].(string)
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/invitations/" + shortToken},
				{Method: "POST", Path: "/v1/invitations/" + shortToken + "/accept", Token: invitee},
				{Method: "POST", Path: "/v1/invitations/" + shortToken + "/reject"},
			} {
				p := ivProblem(t, srv.Do(r), 410, "invitation_expired")
				if p["invitation_status"] != "expired" {
					t.Fatalf("%s %s: %v", r.Method, r.Path, p)
				}
			}
			ivProblem(t, w.do("POST", "/v1/members/invitations/"+id+"/resend", w.owner, nil), 409, "invitation_not_pending")
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			if st := w.status(t, id); st != "expired" {
				t.Fatalf("status %s", st)
			}
			pending, _ := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations?status=pending", w.owner, nil))
			expired, _ := ivData(t, w.must(t, 200, "GET", "/v1/members/invitations?status=expired", w.owner, nil))
			if !reflect.DeepEqual(ivIDs(pending, "id"), []string{long["id"].(string)}) || !reflect.DeepEqual(ivIDs(expired, "id"), []string{id}) {
				t.Fatalf("pending %v, expired %v", ivIDs(pending, "id"), ivIDs(expired, "id"))
			}
			ivProblem(t, w.do("GET", "/v1/members", invitee, nil), 404, "")
			mine, _ := ivData(t, ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations", Token: invitee})))
			if len(mine) != 0 {
				t.Fatalf("expired invitation listed as mine: %v", mine)
			}
		})
		t.Run("ErrDefaultSevenDays", func(t *testing.T) {
			w.advance(t, 6*24*time.Hour-time.Second)
			ivStatus(t, 200, show(longToken))
			w.advance(t, time.Second)
			invitee = w.signIn(t, "short@example.com")
			ivProblem(t, show(longToken), 410, "invitation_expired")
		})
		t.Run("OKReinvite", func(t *testing.T) {
			_, token := w.invite(t, "short@example.com", ivRole("viewer"))
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Token: invitee}))
			if st := w.status(t, short["id"].(string)); st != "expired" {
				t.Fatalf("old invitation %s", st)
			}
		})
	})
}

// TestInvitationsInviterLosesRights: an invitation whose inviter no longer
// holds what it grants is revoked, with an audit event.
func TestInvitationsInviterLosesRights(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		checkRevoked := func(t *testing.T, id, token string) {
			t.Helper()
			if st := w.status(t, id); st != "revoked" {
				t.Fatalf("invitation %s, want revoked", st)
			}
			ev := srv.AuditFor(w.org, "invitation.revoked", id)
			if ev == nil || !strings.Contains(string(ev.Summary), "inviter_lost_rights") {
				t.Fatalf("audit event = %+v", ev)
			}
			p := ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		}
		grant := ivPerms(ivProj(w.proj, "full-access", ""))

		t.Run("ErrRightsReduced", func(t *testing.T) {
			admin, adminID := w.member("Ada Admin", "ada@example.com", ivRole("admin"))
			inv, token := w.inviteAs(t, admin, "x1@example.com", grant)
			keep, _ := w.inviteAs(t, admin, "x1b@example.com", ivRole("viewer"))
			// Still members write and every project's read: the viewer one stays.
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, map[string]any{"role": "viewer",
				"permissions": []any{ivOrgGrant(w.org, "members", "read+write")}})
			checkRevoked(t, inv["id"].(string), token)
			if st := w.status(t, keep["id"].(string)); st != "pending" {
				t.Fatalf("covered invitation %s, want pending", st)
			}
		})
		t.Run("ErrMembersWriteLost", func(t *testing.T) {
			admin, adminID := w.member("Abe Admin", "abe@example.com", ivRole("admin"))
			inv, token := w.inviteAs(t, admin, "x2@example.com", ivRole("viewer"))
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, ivRole("viewer"))
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrRemoved", func(t *testing.T) {
			admin, adminID := w.member("Ari Admin", "ari@example.com", ivRole("admin"))
			inv, token := w.inviteAs(t, admin, "x3@example.com", grant)
			w.must(t, 204, "DELETE", "/v1/members/"+adminID, w.owner, nil)
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrLeft", func(t *testing.T) {
			admin, adminID := w.member("Amy Admin", "amy@example.com", ivRole("admin"))
			inv, token := w.inviteAs(t, admin, "x4@example.com", grant)
			w.must(t, 204, "DELETE", "/v1/members/"+adminID, admin, nil)
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrRoleReduced", func(t *testing.T) {
			role := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "recruiter",
				"permissions": []any{ivOrgGrant(w.org, "members", ""), ivProj("*", "full-access", "")}})
			rec, _ := w.member("Rex Recruiter", "rex@example.com", ivRole("recruiter"))
			inv, token := w.inviteAs(t, rec, "x5@example.com", grant)
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "recruiter",
				"permissions": []any{ivOrgGrant(w.org, "members", "")}})
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrGrantedRoleExpanded", func(t *testing.T) {
			// An invitation to a role that grows past what its inviter holds.
			role := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "clipper",
				"permissions": []any{ivProj(w.proj, "custom", "", ivArea("folders", "read"))}})
			admin, _ := w.member("Axel Admin", "axel@example.com", ivRole("admin"))
			inv, token := w.inviteAs(t, admin, "x8@example.com", ivRole("clipper"))
			// Growing within the admin's rights keeps it.
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "clipper",
				"permissions": []any{ivProj("*", "full-access", "")}})
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s, want pending", st)
			}
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "clipper",
				"permissions": []any{ivProj("*", "full-access", ""), ivOrgGrant(w.org, "billing", "read")}})
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrFolderMovedNoAccountMade", func(t *testing.T) {
			// The inviter's folder grant covered the subfolder until it moved
			// out: the move revokes, and accepting makes no account.
			tr, _ := w.member("Tia Trailers", "tia@example.com", ivPerms(ivOrgGrant(w.org, "members", ""),
				ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.folder, "")))))
			leaf := srv.CreateFolder(w.owner, w.org, w.proj, "Leaf", w.folder)
			leaf2 := srv.CreateFolder(w.owner, w.org, w.proj, "Leaf Two", w.folder)
			inv, token := w.inviteAs(t, tr, "x6@example.com", ivPerms(ivProj(w.proj, "custom", "", ivFolders(ivFolder(leaf, "read")))))
			inv2, token2 := w.inviteAs(t, tr, "x6b@example.com", ivPerms(ivProj(w.proj, "custom", "", ivFolders(ivFolder(leaf2, "read")))))
			for _, f := range []string{leaf, leaf2} {
				w.must(t, 200, "POST", "/v1/projects/"+w.proj+"/folders/"+f+"/move", w.owner, map[string]any{"parent_id": nil})
			}
			// The move itself revoked both, before anyone looks at a link.
			for _, id := range []string{inv["id"].(string), inv2["id"].(string)} {
				if st := w.status(t, id); st != "revoked" {
					t.Fatalf("after the move, status %s, want revoked", st)
				}
				if ev := srv.AuditFor(w.org, "invitation.revoked", id); ev == nil || !strings.Contains(string(ev.Summary), "inviter_lost_rights") {
					t.Fatalf("no invitation.revoked event for %s: %v", id, ev)
				}
			}
			// Looking at the link says so.
			p2 := ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token2}), 410, "invitation_revoked")
			if p2["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p2)
			}
			checkRevoked(t, inv2["id"].(string), token2)
			// Accepting at once, without looking, too; and makes no account.
			p := ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept",
				Body: map[string]any{"name": "Xavier", "password": apptest.TestPassword}}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
			checkRevoked(t, inv["id"].(string), token)
			if ivAccountExists(t, srv, "x6@example.com") {
				t.Fatal("an account was made by a refused accept")
			}
		})
		t.Run("OKStillCovered", func(t *testing.T) {
			admin, adminID := w.member("Ali Admin", "ali@example.com", ivRole("admin"))
			inv, _ := w.inviteAs(t, admin, "x7@example.com", grant)
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, ivPerms(ivOrgGrant(w.org, "members", "read+write"),
				ivProj(w.proj, "full-access", "")))
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s, want pending", st)
			}
			tok, _ := srv.Signup("Xena", "x7@example.com")
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("x7@example.com") + "/accept", Token: tok}))
		})
	})
}

// ---------------------------------------------------------------------------
// Receiving.

func TestInvitationsShow(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		inv, token := w.invite(t, "shown@example.com", map[string]any{"role": "uploader", "name": "Shawn",
			"permissions": []any{ivProj(w.proj, "custom", "", ivFolders(ivFolder(w.folder, "read")))}})

		t.Run("ErrUnknown", func(t *testing.T) {
			for _, tok := range []string{strings.Repeat("A", 43), "short", strings.Repeat("b", 101)} {
				ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tok}), 404, "")
				ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tok + "/accept"}), 404, "")
				ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tok + "/reject"}), 404, "")
			}
		})
		t.Run("OK", func(t *testing.T) {
			got := ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}))
			if got["organization_name"] != "Acme Video" || got["inviter_name"] != ivOwnerName || got["email"] != "shown@example.com" ||
				got["status"] != "pending" || got["id"] != inv["id"] || got["name"] != "Shawn" {
				t.Fatalf("show = %v", got)
			}
			if !ivTime(t, got["expires_at"]).Equal(ivTime(t, inv["expires_at"])) {
				t.Fatalf("expires_at %v, want %v", got["expires_at"], inv["expires_at"])
			}
			words, _ := got["access"].([]any)
			text := ""
			for _, w := range words {
				text += w.(string) + "\n"
			}
			if !strings.Contains(text, "Role uploader") || !strings.Contains(text, "folder Trailers in project Launch") {
				t.Fatalf("access in words = %q", text)
			}
			if !reflect.DeepEqual(ivGrants(t, got["permissions"]), ivGrants(t, inv["permissions"])) {
				t.Fatalf("grants %v, want %v", got["permissions"], inv["permissions"])
			}
			// Looking does not change anything.
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s", st)
			}
		})
	})
}

func TestInvitationsShowRateLimit(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		show := func() *apptest.Response {
			return srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + strings.Repeat("z", 43)})
		}
		t.Run("ErrTooMany", func(t *testing.T) {
			limited := 0
			for range 40 {
				resp := show()
				if resp.Status == 429 {
					limited++
					ivProblem(t, resp, 429, "")
					if resp.Header.Get("Retry-After") == "" {
						t.Fatal("429 without Retry-After")
					}
				} else {
					ivProblem(t, resp, 404, "")
				}
			}
			if limited == 0 || limited == 40 {
				t.Fatalf("%d of 40 look-ups limited", limited)
			}
			ivProblem(t, show(), 429, "")
		})
		t.Run("OKRefills", func(t *testing.T) {
			srv.Clock.Advance(time.Minute)
			ivProblem(t, show(), 404, "")
		})
	})
}

func TestInvitationsAccept(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		accept := func(token, bearer string, body any) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Token: bearer, Body: body})
		}
		newAccount := map[string]any{"name": "New Person", "password": apptest.TestPassword}
		stillPending := func(t *testing.T, id string) {
			t.Helper()
			if st := w.status(t, id); st != "pending" {
				t.Fatalf("invitation %s, want pending", st)
			}
		}

		t.Run("ErrEmailMismatch", func(t *testing.T) {
			inv, token := w.invite(t, "ann@example.com", ivRole("viewer"))
			bob, _ := srv.Signup("Bob", "bob@example.com")
			ivProblem(t, accept(token, bob, nil), 403, "email_mismatch")
			stillPending(t, inv["id"].(string))
			ivProblem(t, w.do("GET", "/v1/members", bob, nil), 404, "")
		})
		t.Run("ErrLoginRequired", func(t *testing.T) {
			inv, token := w.invite(t, "carl@example.com", ivRole("viewer"))
			srv.Signup("Carl", "carl@example.com")
			ivProblem(t, accept(token, "", newAccount), 401, "login_required")
			ivProblem(t, accept(token, "", nil), 401, "login_required")
			stillPending(t, inv["id"].(string))
		})
		t.Run("ErrNewAccountInput", func(t *testing.T) {
			inv, token := w.invite(t, "dora@example.com", ivRole("viewer"))
			for _, tc := range []struct {
				body  any
				field string
			}{
				{nil, "password"},
				{map[string]any{"name": "Dora"}, "password"},
				{map[string]any{"name": "Dora", "password": "short"}, "password"},
				{map[string]any{"password": apptest.TestPassword}, "name"},
			} {
				ivField(t, ivProblem(t, accept(token, "", tc.body), 400, "invalid"), tc.field)
			}
			ivProblem(t, accept(token, "", map[string]any{"name": "Dora", "password": apptest.TestPassword, "role": "owner"}), 400, "invalid")
			stillPending(t, inv["id"].(string))
			if ivAccountExists(t, srv, "dora@example.com") {
				t.Fatal("an account was made by a refused accept")
			}
		})
		t.Run("ErrBadBearer", func(t *testing.T) {
			inv, token := w.invite(t, "eve@example.com", ivRole("viewer"))
			ivProblem(t, accept(token, "not-a-real-token", newAccount), 401, "")
			stillPending(t, inv["id"].(string))
		})
		t.Run("ErrAlreadyMember", func(t *testing.T) {
			inv, token := w.invite(t, "erin@example.com", ivRole("viewer"))
			erin, u := srv.Signup("Erin", "erin@example.com")
			srv.StoreMembership(w.org, u["id"].(string), gatehouse.RoleUploaderID, nil)
			ivProblem(t, accept(token, erin, nil), 409, "already_member")
			stillPending(t, inv["id"].(string))
			m := w.must(t, 200, "GET", "/v1/members/"+u["id"].(string), w.owner, nil)
			if m["role"].(map[string]any)["name"] != "uploader" {
				t.Fatalf("membership changed: %v", m)
			}
		})
		t.Run("ErrUsed", func(t *testing.T) {
			_, token := w.invite(t, "used@example.com", ivRole("viewer"))
			used, _ := srv.Signup("Used", "used@example.com")
			ivStatus(t, 200, accept(token, used, nil))
			for _, bearer := range []string{used, "", w.owner} {
				p := ivProblem(t, accept(token, bearer, newAccount), 410, "invitation_accepted")
				if p["invitation_status"] != "accepted" {
					t.Fatalf("problem = %v", p)
				}
			}
			p := ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}), 410, "invitation_accepted")
			if p["invitation_status"] != "accepted" {
				t.Fatalf("problem = %v", p)
			}
		})

		t.Run("OKSignedIn", func(t *testing.T) {
			inv, token := w.invite(t, "Fay@Example.COM", map[string]any{"role": "uploader",
				"permissions": []any{ivOrgGrant(w.org, "audit", "read")}})
			fay, u := srv.Signup("Fay", "fay@example.com")
			before := srv.Clock.Now()
			got := ivStatus(t, 200, accept(token, fay, nil))
			m, _ := got["membership"].(map[string]any)
			if m == nil || m["organization_id"] != w.org || m["user_id"] != u["id"] || m["role"].(map[string]any)["id"] != gatehouse.RoleUploaderID ||
				len(m["permissions"].([]any)) != 1 || !ivTime(t, m["joined_at"]).Equal(before) {
				t.Fatalf("accept = %v", got)
			}
			if got["user"].(map[string]any)["id"] != u["id"] || got["session"] != nil {
				t.Fatalf("accept = %v", got)
			}
			inv2 := w.must(t, 200, "GET", "/v1/members/invitations/"+inv["id"].(string), w.owner, nil)
			if inv2["status"] != "accepted" || inv2["updated_by"] != u["id"] {
				t.Fatalf("invitation after accept = %v", inv2)
			}
			member := w.must(t, 200, "GET", "/v1/members/"+u["id"].(string), w.owner, nil)
			if member["invited_by"] != w.ownerID || member["email"] != "fay@example.com" {
				t.Fatalf("member = %v", member)
			}
			// Their rights work on their next request.
			w.must(t, 200, "GET", "/v1/audits", fay, nil)
			for _, action := range []string{"invitation.accepted", "member.added"} {
				target := inv["id"].(string)
				if action == "member.added" {
					target = u["id"].(string)
				}
				if ev := srv.AuditFor(w.org, action, target); ev == nil || ev.ActorID != u["id"] {
					t.Fatalf("%s audit event = %+v", action, ev)
				}
			}
		})
		t.Run("OKNewAccount", func(t *testing.T) {
			inv, token := w.invite(t, "gus@example.com", ivRole("viewer"))
			got := ivStatus(t, 201, accept(token, "", map[string]any{"name": "Gus", "password": apptest.TestPassword}))
			session, _ := got["session"].(map[string]any)
			access, _ := session["access_token"].(string)
			if access == "" || session["refresh_token"] == "" || got["membership"].(map[string]any)["organization_id"] != w.org {
				t.Fatalf("accept = %v", got)
			}
			me := ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: access}))
			if me["email"] != "gus@example.com" || me["email_verified"] != true || me["name"] != "Gus" {
				t.Fatalf("me = %v", me)
			}
			// A member of the organization (their current one) at once.
			ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members/" + me["id"].(string), Token: access}))
			srv.SignIn("gus@example.com", apptest.TestPassword)
			if st := w.status(t, inv["id"].(string)); st != "accepted" {
				t.Fatalf("status %s", st)
			}
		})
	})
}

func TestInvitationsAcceptRace(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		race := func(t *testing.T, token, bearer, body string) map[int]int {
			t.Helper()
			const n = 20
			statuses := make([]int, n)
			errs := make([]error, n)
			var start, done sync.WaitGroup
			start.Add(1)
			for i := range n {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					statuses[i], _, errs[i] = ivRaw(srv, "POST", "/v1/invitations/"+token+"/accept", bearer, body)
				}()
			}
			start.Done()
			done.Wait()
			counts := map[int]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				counts[statuses[i]]++
			}
			t.Logf("statuses: %v", counts)
			return counts
		}
		members := func(t *testing.T, email string) int {
			t.Helper()
			items, _ := ivData(t, w.must(t, 200, "GET", "/v1/members?q="+url.QueryEscape(email), w.owner, nil))
			return len(items)
		}

		t.Run("OKSignedIn", func(t *testing.T) {
			_, token := w.invite(t, "racer@example.com", ivRole("viewer"))
			racer, _ := srv.Signup("Racer", "racer@example.com")
			counts := race(t, token, racer, "")
			if counts[200] != 1 || counts[200]+counts[410]+counts[409] != 20 {
				t.Fatalf("statuses %v: want one 200, the rest 409 or 410", counts)
			}
			if n := members(t, "racer@example.com"); n != 1 {
				t.Fatalf("%d memberships", n)
			}
			if n := len(srv.AuditEvents(w.org, "member.added")); n != 1 {
				t.Fatalf("%d member.added events", n)
			}
		})
		t.Run("OKNewAccount", func(t *testing.T) {
			_, token := w.invite(t, "sprinter@example.com", ivRole("viewer"))
			counts := race(t, token, "", `{"name": "Sprinter", "password": "`+apptest.TestPassword+`"}`)
			if counts[201] != 1 || counts[201]+counts[401]+counts[409]+counts[410] != 20 {
				t.Fatalf("statuses %v: want one 201, the rest 401, 409 or 410", counts)
			}
			if n := members(t, "sprinter@example.com"); n != 1 {
				t.Fatalf("%d memberships", n)
			}
		})
	})
}

func TestInvitationsReject(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		inv, token := w.invite(t, "nope@example.com", ivRole("viewer"))
		id := inv["id"].(string)
		reject := func(bearer string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/reject", Token: bearer})
		}
		t.Run("ErrBadBearer", func(t *testing.T) {
			ivProblem(t, reject("not-a-real-token"), 401, "")
			if st := w.status(t, id); st != "pending" {
				t.Fatalf("status %s", st)
			}
		})
		t.Run("OK", func(t *testing.T) {
			got := ivStatus(t, 200, reject(""))
			if got["status"] != "rejected" || w.status(t, id) != "rejected" {
				t.Fatalf("reject = %v", got)
			}
			if srv.AuditFor(w.org, "invitation.rejected", id) == nil {
				t.Fatal("no invitation.rejected audit event")
			}
		})
		t.Run("ErrAfterReject", func(t *testing.T) {
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/invitations/" + token},
				{Method: "POST", Path: "/v1/invitations/" + token + "/reject"},
				{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Body: map[string]any{"name": "N", "password": apptest.TestPassword}},
			} {
				p := ivProblem(t, srv.Do(r), 410, "invitation_rejected")
				if p["invitation_status"] != "rejected" {
					t.Fatalf("problem = %v", p)
				}
			}
			ivProblem(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			ivProblem(t, w.do("POST", "/v1/members/invitations/"+id+"/resend", w.owner, nil), 409, "invitation_not_pending")
		})
	})
}

func TestInvitationsMine(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		me, meUser := srv.Signup("Moe", "moe@example.com")
		other, _ := srv.Signup("Otto", "otto@example.com")
		second, _ := srv.Signup("Sue Second", "sue@example.com")
		org2 := srv.CreateOrg(second, "Second Studio")
		a, _ := w.invite(t, "MOE@example.com", ivRole("viewer"))
		srv.Clock.Advance(time.Second)
		b := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: second, Header: apptest.OrgHeader(org2),
			Body: map[string]any{"email": "moe@example.com", "role": "uploader"}})
		srv.Clock.Advance(time.Second)
		revoked := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "moe@example.com", "role": "viewer"}})
		srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/invitations/" + revoked["id"].(string), Token: w.owner, Header: apptest.OrgHeader(w.otherOrg)})
		mine := func(t *testing.T, token, query string) ([]map[string]any, string) {
			t.Helper()
			return ivData(t, ivStatus(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations" + query, Token: token})))
		}

		t.Run("ErrUnauthenticated", func(t *testing.T) {
			ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations"}), 401, "")
		})
		t.Run("ErrNotMine", func(t *testing.T) {
			for _, id := range []string{a["id"].(string), "0191f2a4-0000-7000-8000-000000000000", "nope"} {
				ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + id + "/accept", Token: other}), 404, "")
				ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + id + "/reject", Token: other}), 404, "")
			}
			if items, _ := mine(t, other, ""); len(items) != 0 {
				t.Fatalf("someone else's invitations listed: %v", items)
			}
		})
		t.Run("ErrRevoked", func(t *testing.T) {
			p := ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + revoked["id"].(string) + "/accept", Token: me}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})

		t.Run("OK", func(t *testing.T) {
			items, next := mine(t, me, "")
			if got, want := ivIDs(items, "id"), []string{b["id"].(string), a["id"].(string)}; !reflect.DeepEqual(got, want) || next != "" {
				t.Fatalf("mine = %v, want %v", got, want)
			}
			if items[0]["organization_name"] != "Second Studio" || items[0]["inviter_name"] != "Sue Second" || items[1]["organization_name"] != "Acme Video" {
				t.Fatalf("mine = %v", items)
			}
			page1, next := mine(t, me, "?limit=1")
			if len(page1) != 1 || next == "" {
				t.Fatalf("first page %v, next %q", page1, next)
			}
			page2, next2 := mine(t, me, "?limit=1&cursor="+url.QueryEscape(next))
			if len(page2) != 1 || next2 != "" || page2[0]["id"] != a["id"] {
				t.Fatalf("second page %v, next %q", page2, next2)
			}
			got := ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + a["id"].(string) + "/accept", Token: me}))
			if got["membership"].(map[string]any)["organization_id"] != w.org {
				t.Fatalf("accept = %v", got)
			}
			rej := ivStatus(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + b["id"].(string) + "/reject", Token: me}))
			if rej["status"] != "rejected" {
				t.Fatalf("reject = %v", rej)
			}
			if items, _ := mine(t, me, ""); len(items) != 0 {
				t.Fatalf("still listed: %v", items)
			}
			w.must(t, 200, "GET", "/v1/members/"+meUser["id"].(string), w.owner, nil)
			ivProblem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: me, Header: apptest.OrgHeader(org2)}), 404, "")
			ivProblem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + a["id"].(string) + "/accept", Token: me}), 410, "invitation_accepted")
		})
	})
}

// TestInvitationsTokenSecrecy: the link's token appears in the email and
// nowhere else — no response body, log line, audit event or stored value.
func TestInvitationsTokenSecrecy(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		var bodies []string
		do := func(r apptest.Req) *apptest.Response {
			resp := srv.Do(r)
			bodies = append(bodies, string(resp.Body))
			return resp
		}
		in := func(method, path, token string, body any) *apptest.Response {
			return do(w.req(method, path, token, body))
		}

		// A whole life: create, list, get, resend, show, my list, accept,
		// reject, revoke, audits and members.
		acc := ivStatus(t, 201, in("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "keep@example.com", "role": "viewer"}))
		ivStatus(t, 201, in("POST", "/v1/account/users/invitations", w.owner, map[string]any{"email": "drop@example.com", "role": "viewer"}))
		rev := ivStatus(t, 201, in("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "gone@example.com", "role": "viewer"}))
		in("GET", "/v1/members/invitations", w.owner, nil)
		in("GET", "/v1/account/users/invitations?status=pending", w.owner, nil)
		in("GET", "/v1/members/invitations/"+acc["id"].(string), w.owner, nil)
		srv.Clock.Advance(5 * time.Minute)
		ivStatus(t, 200, in("POST", "/v1/members/invitations/"+acc["id"].(string)+"/resend", w.owner, nil))
		keep, _ := srv.Signup("Keeper", "keep@example.com")
		tokenAcc := srv.LastInvitationToken("keep@example.com")
		ivStatus(t, 200, do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tokenAcc}))
		ivStatus(t, 200, do(apptest.Req{Method: "GET", Path: "/v1/me/invitations", Token: keep}))
		ivStatus(t, 200, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenAcc + "/accept", Token: keep}))
		ivProblem(t, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenAcc + "/accept", Token: keep}), 410, "")
		tokenRej := srv.LastInvitationToken("drop@example.com")
		ivStatus(t, 200, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenRej + "/reject"}))
		ivProblem(t, do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tokenRej}), 410, "")
		ivStatus(t, 204, in("DELETE", "/v1/members/invitations/"+rev["id"].(string), w.owner, nil))
		tokenRev := srv.LastInvitationToken("gone@example.com")
		ivProblem(t, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenRev + "/accept", Body: map[string]any{"name": "G", "password": apptest.TestPassword}}), 410, "")
		ivStatus(t, 200, in("GET", "/v1/audits?limit=100", w.owner, nil))
		ivStatus(t, 200, in("GET", "/v1/members", w.owner, nil))
		ivStatus(t, 200, in("GET", "/v1/members/invitations", w.owner, nil))

		var tokens []string
		for _, addr := range []string{"keep@example.com", "drop@example.com", "gone@example.com"} {
			tokens = append(tokens, srv.InvitationTokens(addr)...)
		}
		if len(tokens) != 4 {
			t.Fatalf("%d tokens, want 4 (one resent)", len(tokens))
		}
		logs := srv.Logs.String()
		values := srv.DBValues()
		raw := srv.RawDBFiles()
		hashes := map[string]bool{}
		for _, v := range values {
			if v.Table == "invitations" && v.Column == "token_hash" {
				hashes[string(v.Value)] = true
			}
		}
		t.Run("OKTokenShape", func(t *testing.T) {
			for _, tok := range tokens {
				b, err := base64.RawURLEncoding.DecodeString(tok)
				if err != nil || len(b) != 32 {
					t.Fatalf("token %q is not 32 URL-safe base64 bytes", tok)
				}
			}
		})
		t.Run("OKStoredAsSHA256", func(t *testing.T) {
			for _, tok := range []string{tokens[0], tokens[2], tokens[3]} { // the live one of each
				sum := sha256.Sum256([]byte(tok))
				if !hashes[hex.EncodeToString(sum[:])] {
					t.Fatal("token's SHA-256 not stored")
				}
			}
			sum := sha256.Sum256([]byte(tokens[1])) // replaced by the resend
			if hashes[hex.EncodeToString(sum[:])] {
				t.Fatal("the resent invitation still keeps its old token's hash")
			}
		})
		t.Run("OKAbsentEverywhere", func(t *testing.T) {
			for i, tok := range tokens {
				for _, b := range bodies {
					if strings.Contains(b, tok) {
						t.Fatalf("token %d in a response body: %s", i, b)
					}
				}
				if strings.Contains(logs, tok) {
					t.Fatalf("token %d in the logs", i)
				}
				for _, v := range values {
					if strings.Contains(string(v.Value), tok) {
						t.Fatalf("token %d stored in %s.%s", i, v.Table, v.Column)
					}
				}
				for name, b := range raw {
					if strings.Contains(string(b), tok) {
						t.Fatalf("token %d in database file %s", i, name)
					}
				}
			}
			if !strings.Contains(logs, "/v1/invitations/{token}") {
				t.Fatal("link requests not logged by their route pattern")
			}
		})
	})
}
