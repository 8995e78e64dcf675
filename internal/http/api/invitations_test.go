package api_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestInvitationsSeedBody(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		live, custom := ivSeedBodies(w, "rakajui.custom@gmail.com")
		now := srv.Clock.Now()

		t.Run("ErrNeedsMembersWrite", func(t *testing.T) {
			// The page's body from someone without org members write.
			v, _ := srv.Signup("Val Viewer", "val@example.com")
			w.invite(t, "val@example.com", apptest.Role("viewer"))
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("val@example.com") + "/accept", Token: v}))
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", v, live), 403, "forbidden")
			apptest.ProblemCode(t, w.do("POST", "/v1/account/users/invitations", v, custom), 403, "forbidden")
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
			if got := apptest.UTCTime(t, inv["expires_at"]); !got.Equal(now.Add(7 * 24 * time.Hour)) {
				t.Fatalf("expires_at %v, want 7 days after %v", got, now)
			}
			if st, _ := inv["email_status"].(string); st == "" {
				t.Fatalf("email_status = %v", inv["email_status"])
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(live), &sent); err != nil {
				t.Fatal(err)
			}
			if got, want := apptest.Grants(t, inv["permissions"]), apptest.Grants(t, sent["permissions"]); !reflect.DeepEqual(got, want) {
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
			if got, want := apptest.Grants(t, inv["permissions"]), apptest.Grants(t, sent["permissions"]); !reflect.DeepEqual(got, want) {
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
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("rakajui.custom@gmail.com") + "/accept", Token: tok}))
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
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		// A recruiter: members, all of Archive, and Trailers read+write.
		recruiter, _ := w.member("Rae Recruiter", "rae@example.com", apptest.Permissions(apptest.OrgGrant(w.org, "members", ""),
			apptest.ProjectGrant(w.proj2, "full-access", ""), apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read+write")))))

		cases := []struct {
			name   string
			token  string
			body   any
			status int
			code   string
			field  string
		}{
			{"ErrUnauthenticated", "", apptest.Role("viewer"), 401, "", ""},
			{"ErrNoMembersWrite", viewer, apptest.Role("viewer"), 403, "forbidden", ""},
			{"ErrEscalationOrgBilling", admin, apptest.Permissions(apptest.OrgGrant(w.org, "billing", "")), 403, "escalation", ""},
			{"ErrEscalationOrgOwner", admin, apptest.Permissions(apptest.OrgGrant(w.org, "owner", "")), 403, "escalation", ""},
			{"ErrEscalationOwnerRole", admin, apptest.Role("owner"), 403, "escalation", ""},
			{"ErrEscalationBillingRoleByID", admin, apptest.Role(gatehouse.RoleBillingID), 403, "escalation", ""},
			{"ErrEscalationRoleAndPermissions", admin, map[string]any{"role": "viewer", "permissions": []any{apptest.OrgGrant(w.org, "billing", "read")}}, 403, "escalation", ""},
			{"ErrEscalationOtherProject", recruiter, apptest.Permissions(apptest.ProjectGrant(w.proj, "full-access", "")), 403, "escalation", ""},
			{"ErrEscalationEveryProject", recruiter, apptest.Permissions(apptest.ProjectGrant("*", "custom", "", apptest.AreaGrant("folders", "read"))), 403, "escalation", ""},
			{"ErrEscalationFolderAction", recruiter, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "delete")))), 403, "escalation", ""},
			{"ErrEscalationViewerRole", recruiter, apptest.Role("viewer"), 403, "escalation", ""},
			{"ErrForeignProject", w.owner, apptest.Permissions(apptest.OrgGrant(w.org, "billing", ""), apptest.ProjectGrant(w.otherProj, "full-access", "")), 400, "invalid", "permissions[1].entity_id"},
			{"ErrForeignOrganization", w.owner, apptest.Permissions(apptest.OrgGrant(w.otherOrg, "billing", "")), 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignFolder", w.owner, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("analytics", "read"), apptest.FoldersArea(apptest.FolderGrant(w.otherFolder, "read")))), 400, "invalid", "permissions[0].permission[1].folders[0].folder_id"},
			{"ErrFolderOfAnotherProject", w.owner, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder2, "read")))), 400, "invalid", "permissions[0].permission[0].folders[0].folder_id"},
			{"ErrUnknownProject", w.owner, apptest.Permissions(apptest.ProjectGrant("0191f2a4-0000-7000-8000-000000000000", "full-access", "")), 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignRole", w.owner, apptest.Role(w.otherRole), 400, "invalid", "role"},
			{"ErrUnknownRoleName", w.owner, apptest.Role("superuser"), 400, "invalid", "role"},
			{"ErrBadAction", w.owner, apptest.Permissions(apptest.OrgGrant(w.org, "billing", "write+write")), 400, "invalid", "permissions[0].action"},
			{"ErrUnknownArea", w.owner, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("videos", "read"))), 400, "invalid", "permissions[0].permission[0].name"},
			{"ErrUnknownEntityType", w.owner, apptest.Permissions(map[string]any{"entity_type": "users", "entity_id": w.org, "name": "x", "action": "", "permission": []any{}}), 400, "invalid", "permissions[0].entity_type"},
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
				p := apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", tc.token, body), tc.status, tc.code)
				if tc.field != "" {
					apptest.ProblemField(t, p, tc.field)
				}
				if n := len(srv.MailTo(email)); n != 0 {
					t.Fatalf("%d mails to %s after a refusal", n, email)
				}
				list := w.must(t, 200, "GET", "/v1/members/invitations?email="+url.QueryEscape(email), w.owner, nil)
				if items, _ := apptest.Page(t, list); len(items) != 0 {
					t.Fatalf("refused invitation was stored: %v", items)
				}
			})
		}
		t.Run("ErrEmail", func(t *testing.T) {
			for _, body := range []map[string]any{{"role": "viewer"}, {"email": "", "role": "viewer"}, {"email": "not-an-email", "role": "viewer"}} {
				apptest.ProblemField(t, apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", w.owner, body), 400, "invalid"), "email")
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
				{"RoleByName", w.owner, apptest.Role("Viewer"), gatehouse.RoleViewerID, "password", 7, 0},
				{"RoleByID", admin, apptest.Role(gatehouse.RoleUploaderID), gatehouse.RoleUploaderID, "password", 7, 0},
				{"RoleAndPermissions", admin, map[string]any{"role": "viewer", "permissions": []any{apptest.OrgGrant(w.org, "members", "read")}}, gatehouse.RoleViewerID, "password", 7, 1},
				{"SSOAndThirtyDays", w.owner, map[string]any{"role": "admin", "authentication": "sso", "expires_in_days": 30, "name": "Sam"}, gatehouse.RoleAdminID, "sso", 30, 0},
				{"AdminGrantsProject", admin, apptest.Permissions(apptest.ProjectGrant(w.proj, "full-access", "read")), "", "password", 7, 1},
				{"RecruiterGrantsSubfolder", recruiter, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.sub, "write")))), "", "password", 7, 1},
				{"RecruiterGrantsArchive", recruiter, apptest.Permissions(apptest.ProjectGrant(w.proj2, "custom", "", apptest.AreaGrant("analytics", "read+delete"))), "", "password", 7, 1},
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
				if got := apptest.UTCTime(t, inv["expires_at"]); !got.Equal(now.Add(time.Duration(tc.days) * 24 * time.Hour)) {
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
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		_, _ = w.member("Mia Member", "mia@example.com", apptest.Role("viewer"))
		first, _ := w.invite(t, "dup@example.com", apptest.Role("viewer"))

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
				p := apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", w.owner, map[string]any{"email": tc.email, "role": "uploader"}), 409, tc.code)
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
			again, _ := w.invite(t, "dup@example.com", apptest.Role("uploader"))
			if again["id"] == first["id"] || w.status(t, first["id"].(string)) != "revoked" {
				t.Fatalf("re-invite after revoke: %v", again)
			}
		})
		t.Run("OKAfterExpiry", func(t *testing.T) {
			old, _ := w.invite(t, "lapse@example.com", map[string]any{"role": "viewer", "expires_in_days": 1})
			w.advance(t, 24*time.Hour)
			again, _ := w.invite(t, "lapse@example.com", apptest.Role("viewer"))
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
	t.Parallel()
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
				apptest.Status(t, 201, send(w.org, "day"+strings.Repeat("x", i)+"@example.com"))
				w.advance(t, time.Hour)
			}
			resp := send(w.org, "fourth@example.com")
			apptest.ProblemCode(t, resp, 429, "")
			ra := resp.Header.Get("Retry-After")
			if secs, err := time.ParseDuration(ra + "s"); err != nil || secs <= 0 || secs > 24*time.Hour {
				t.Fatalf("Retry-After %q", ra)
			}
			if len(srv.MailTo("fourth@example.com")) != 0 {
				t.Fatal("mail sent past the limit")
			}
			// The oldest of the day leaves the window: one more fits.
			w.advance(t, 21*time.Hour+time.Second)
			apptest.Status(t, 201, send(w.org, "fourth@example.com"))
			apptest.ProblemCode(t, send(w.org, "fifth@example.com"), 429, "")
		})
		t.Run("ErrOverDefault", func(t *testing.T) {
			org := srv.CreateOrg(w.owner, "Busy Co")
			for i := range 100 {
				apptest.Status(t, 201, send(org, "bulk"+strings.Repeat("y", i%10)+string(rune('a'+i/10))+"@example.com"))
			}
			apptest.ProblemCode(t, send(org, "one-too-many@example.com"), 429, "")
			// Other organizations keep their own budget.
			apptest.Status(t, 201, send(w.otherOrg, "one-too-many@example.com"))
		})
	})
}

// ---------------------------------------------------------------------------
// Managing.

func TestInvitationsListAndGet(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		vics, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations?email=vic%40example.com", w.owner, nil))
		if len(vics) != 1 {
			t.Fatalf("viewer's invitations: %v", vics)
		}
		vic := vics[0]["id"].(string)
		srv.Clock.Advance(time.Second)
		a, _ := w.invite(t, "a@example.com", apptest.Role("viewer"))
		srv.Clock.Advance(time.Second)
		b, _ := w.invite(t, "b@example.com", apptest.Role("uploader"))
		srv.Clock.Advance(time.Second)
		c, _ := w.invite(t, "c@example.com", apptest.Permissions(apptest.ProjectGrant(w.proj, "full-access", "")))
		w.must(t, 204, "DELETE", "/v1/members/invitations/"+b["id"].(string), w.owner, nil)
		foreign := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "a@example.com", "role": "viewer"}})

		t.Run("ErrNoMembersRead", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations/"+a["id"].(string), viewer, nil), 403, "forbidden")
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations", "", nil), 401, "")
		})
		t.Run("ErrBadFilters", func(t *testing.T) {
			apptest.ProblemField(t, apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations?status=lost", w.owner, nil), 400, "invalid"), "status")
			apptest.ProblemField(t, apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations?limit=0", w.owner, nil), 400, "invalid"), "limit")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations?cursor=garbage", w.owner, nil), 400, "")
		})
		t.Run("ErrNotInOrganization", func(t *testing.T) {
			for _, id := range []string{foreign["id"].(string), "0191f2a4-0000-7000-8000-000000000000", "not-a-uuid"} {
				apptest.ProblemCode(t, w.do("GET", "/v1/members/invitations/"+id, w.owner, nil), 404, "")
			}
		})

		t.Run("OK", func(t *testing.T) {
			items, next := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations", w.owner, nil))
			if got, want := apptest.IDs(items, "id"), []string{c["id"].(string), b["id"].(string), a["id"].(string), vic}; !reflect.DeepEqual(got, want) || next != "" {
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
				items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations"+tc.query, w.owner, nil))
				if got := apptest.IDs(items, "id"); !reflect.DeepEqual(got, tc.want) {
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
				items, next := apptest.Page(t, w.must(t, 200, "GET", path, w.owner, nil))
				if len(items) > 2 {
					t.Fatalf("page of %d", len(items))
				}
				all = append(all, apptest.IDs(items, "id")...)
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
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		inv, token := w.invite(t, "rev@example.com", apptest.Role("viewer"))
		id := inv["id"].(string)
		foreign := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "rev@example.com", "role": "viewer"}})

		t.Run("ErrNoMembersWrite", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+id, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrNotInOrganization", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+foreign["id"].(string), w.owner, nil), 404, "")
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/0191f2a4-0000-7000-8000-000000000000", w.owner, nil), 404, "")
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
				p := apptest.ProblemCode(t, srv.Do(r), 410, "invitation_revoked")
				if p["invitation_status"] != "revoked" {
					t.Fatalf("%s %s: invitation_status %v", r.Method, r.Path, p["invitation_status"])
				}
			}
			if got := w.must(t, 200, "GET", "/v1/members/"+w.ownerID, w.owner, nil); got == nil {
				t.Fatal("owner lost")
			}
			apptest.ProblemCode(t, w.do("GET", "/v1/members", invitee, nil), 404, "")
		})
		t.Run("ErrAlreadyRevoked", func(t *testing.T) {
			p := apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})
		t.Run("ErrAccepted", func(t *testing.T) {
			_, uid := w.member("Acc Epted", "acc@example.com", apptest.Role("viewer"))
			items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations?email=acc%40example.com", w.owner, nil))
			if len(items) != 1 || items[0]["status"] != "accepted" {
				t.Fatalf("accepted invitation: %v", items)
			}
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+items[0]["id"].(string), w.owner, nil), 409, "invitation_not_pending")
			w.must(t, 200, "GET", "/v1/members/"+uid, w.owner, nil)
		})
	})
}

func TestInvitationsResend(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		inv, oldToken := w.invite(t, "again@example.com", map[string]any{"role": "viewer", "expires_in_days": 3})
		id := inv["id"].(string)
		resend := "/v1/members/invitations/" + id + "/resend"

		t.Run("ErrTooSoon", func(t *testing.T) {
			srv.Clock.Advance(4*time.Minute + 59*time.Second)
			resp := w.do("POST", resend, w.owner, nil)
			apptest.ProblemCode(t, resp, 429, "")
			if ra := resp.Header.Get("Retry-After"); ra != "1" {
				t.Fatalf("Retry-After %q, want 1", ra)
			}
			if n := len(srv.InvitationTokens("again@example.com")); n != 1 {
				t.Fatalf("%d mails after a refused resend", n)
			}
		})
		t.Run("ErrNoMembersWrite", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("POST", resend, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrUnknown", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations/0191f2a4-0000-7000-8000-000000000000/resend", w.owner, nil), 404, "")
		})

		t.Run("OK", func(t *testing.T) {
			srv.Clock.Advance(time.Second)
			now := srv.Clock.Now()
			got := w.must(t, 200, "POST", resend, w.owner, nil)
			ivCheckInvitation(t, got)
			if got["id"] != id || got["status"] != "pending" || !apptest.UTCTime(t, got["expires_at"]).Equal(now.Add(3*24*time.Hour)) ||
				!apptest.UTCTime(t, got["updated_time"]).Equal(now) {
				t.Fatalf("resent = %v", got)
			}
			tokens := srv.InvitationTokens("again@example.com")
			if len(tokens) != 2 || tokens[1] != oldToken || tokens[0] == oldToken {
				t.Fatalf("tokens after resend: %d", len(tokens))
			}
			newToken := tokens[0]
			// The old link is dead at once, and says a newer one was sent; the new one works.
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + oldToken}), 410, "invitation_superseded")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + oldToken + "/accept",
				Body: map[string]any{"name": "Old Link", "password": apptest.TestPassword}}), 410, "invitation_superseded")
			show := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + newToken}))
			if show["status"] != "pending" || !apptest.UTCTime(t, show["expires_at"]).Equal(now.Add(3*24*time.Hour)) {
				t.Fatalf("show = %v", show)
			}
			if srv.AuditFor(w.org, "invitation.resent", id) == nil {
				t.Fatal("no invitation.resent audit event")
			}
			// The restarted expiry holds: past the first one, still pending.
			w.advance(t, 3*24*time.Hour-time.Second)
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + newToken}))
		})
		t.Run("ErrTooSoonAgain", func(t *testing.T) {
			// 3 days passed: allowed again; then at once refused.
			w.must(t, 200, "POST", resend, w.owner, nil)
			apptest.ProblemCode(t, w.do("POST", resend, w.owner, nil), 429, "")
		})
		t.Run("ErrNotPending", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/members/invitations/"+id, w.owner, nil)
			w.advance(t, 10*time.Minute)
			p := apptest.ProblemCode(t, w.do("POST", resend, w.owner, nil), 409, "invitation_not_pending")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})
	})
}
