package api_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var mbMemberFields = []string{"user_id", "name", "email", "role", "permissions", "joined_at", "invited_by", "mfa_enabled"}

func mbCheckMember(t *testing.T, m map[string]any) {
	t.Helper()
	if len(m) != len(mbMemberFields) {
		t.Fatalf("member has members %v, want %v", apptest.Keys(m), mbMemberFields)
	}
	for _, f := range mbMemberFields {
		if _, ok := m[f]; !ok {
			t.Fatalf("member has no %q: %v", f, m)
		}
	}
	apptest.UTCTime(t, m["joined_at"])
}

// mbRoleName returns a member's role name, or "".
func mbRoleName(m map[string]any) string {
	r, _ := m["role"].(map[string]any)
	name, _ := r["name"].(string)
	return name
}

func TestMembersList(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		_, adaID := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		srv.Clock.Advance(time.Second)
		viewer, vicID := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		srv.Clock.Advance(time.Second)
		_, deeID := w.member("Dee Developer", "dee@corp.example", map[string]any{"role": "developer",
			"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read")))}})
		outsider, _ := srv.Signup("Out Sider", "out@example.com")
		all := []string{deeID, vicID, adaID, w.ownerID}

		t.Run("ErrUnauthenticated", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members", "", nil), 401, "")
		})
		t.Run("ErrNoMembersRead", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/"+adaID, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrNotAMemberOfTheOrganization", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members", outsider, nil), 404, "")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/"+w.ownerID, outsider, nil), 404, "")
		})
		t.Run("ErrUnknownMember", func(t *testing.T) {
			outsiderID := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: outsider}))["id"].(string)
			for _, id := range []string{outsiderID, "0191f2a4-0000-7000-8000-000000000000", "not-a-uuid"} {
				apptest.ProblemCode(t, w.do("GET", "/v1/members/"+id, w.owner, nil), 404, "")
			}
		})
		t.Run("ErrBadQuery", func(t *testing.T) {
			apptest.ProblemField(t, apptest.ProblemCode(t, w.do("GET", "/v1/members?q="+strings.Repeat("a", 201), w.owner, nil), 400, "invalid"), "q")
			apptest.ProblemField(t, apptest.ProblemCode(t, w.do("GET", "/v1/members?limit=101", w.owner, nil), 400, "invalid"), "limit")
		})

		t.Run("OK", func(t *testing.T) {
			items, next := apptest.Page(t, w.must(t, 200, "GET", "/v1/members", w.owner, nil))
			if got := apptest.IDs(items, "user_id"); !reflect.DeepEqual(got, all) || next != "" {
				t.Fatalf("members %v, want %v newest first", got, all)
			}
			for _, m := range items {
				mbCheckMember(t, m)
			}
			owner, dee := items[3], items[0]
			if mbRoleName(owner) != "owner" || owner["invited_by"] != nil || owner["email"] != "olivia@example.com" || owner["name"] != ivOwnerName {
				t.Fatalf("owner = %v", owner)
			}
			if mbRoleName(dee) != "developer" || dee["invited_by"] != w.ownerID || len(dee["permissions"].([]any)) != 1 {
				t.Fatalf("developer = %v", dee)
			}
		})
		t.Run("OKSearch", func(t *testing.T) {
			for _, tc := range []struct {
				q    string
				want []string
			}{
				{"ada", []string{adaID}},
				{"VIEWER", []string{vicID}},
				{"corp.example", []string{deeID}},
				{"@example.com", []string{vicID, adaID, w.ownerID}},
				{"%", []string{}},
				{"_", []string{}},
				{"nobody", []string{}},
			} {
				items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members?q="+url.QueryEscape(tc.q), w.owner, nil))
				if got := apptest.IDs(items, "user_id"); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("q=%q: %v, want %v", tc.q, got, tc.want)
				}
			}
		})
		t.Run("OKPages", func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 4 {
					t.Fatal("too many pages")
				}
				path := "/v1/members?limit=3"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				items, next := apptest.Page(t, w.must(t, 200, "GET", path, w.owner, nil))
				got = append(got, apptest.IDs(items, "user_id")...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !reflect.DeepEqual(got, all) {
				t.Fatalf("paged %v, want %v", got, all)
			}
		})
		t.Run("OKGet", func(t *testing.T) {
			m := w.must(t, 200, "GET", "/v1/members/"+deeID, w.owner, nil)
			mbCheckMember(t, m)
			if m["user_id"] != deeID || m["email"] != "dee@corp.example" || mbRoleName(m) != "developer" {
				t.Fatalf("member = %v", m)
			}
			// Anyone may read their own membership.
			self := w.must(t, 200, "GET", "/v1/members/"+vicID, viewer, nil)
			if self["user_id"] != vicID || mbRoleName(self) != "viewer" {
				t.Fatalf("self = %v", self)
			}
		})
	})
}

func TestMembersUpdatePermissions(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, adaID := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, vicID := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		_, deeID := w.member("Dee Developer", "dee@example.com", apptest.Role("developer"))
		_, ozID := w.member("Oz Owner", "oz@example.com", apptest.Role("owner"))
		put := func(token, userID string, body any) *apptest.Response {
			return w.do("PUT", "/v1/members/"+userID+"/permissions", token, body)
		}
		role := func(t *testing.T, userID string) string {
			t.Helper()
			return mbRoleName(w.must(t, 200, "GET", "/v1/members/"+userID, w.owner, nil))
		}

		cases := []struct {
			name   string
			token  string
			user   string
			body   any
			status int
			code   string
			field  string
		}{
			{"ErrUnauthenticated", "", deeID, apptest.Role("viewer"), 401, "", ""},
			{"ErrSelfEditAdmin", admin, adaID, apptest.Role("viewer"), 403, "self_edit", ""},
			{"ErrSelfEditOwner", w.owner, w.ownerID, apptest.Role("admin"), 403, "self_edit", ""},
			{"ErrSelfEditEscalate", viewer, vicID, apptest.Role("owner"), 403, "", ""},
			{"ErrNoMembersWrite", viewer, deeID, apptest.Role("viewer"), 403, "forbidden", ""},
			{"ErrEscalationGrant", admin, deeID, apptest.Permissions(apptest.OrgGrant(w.org, "billing", "read")), 403, "escalation", ""},
			{"ErrEscalationOwnerRole", admin, deeID, apptest.Role("owner"), 403, "escalation", ""},
			{"ErrEscalationDemoteOwner", admin, ozID, apptest.Role("viewer"), 403, "escalation", ""},
			{"ErrForeignProject", w.owner, deeID, apptest.Permissions(apptest.ProjectGrant(w.otherProj, "full-access", "")), 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignFolder", w.owner, deeID, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.otherFolder, "read")))), 400, "invalid", "permissions[0].permission[0].folders[0].folder_id"},
			{"ErrForeignRole", w.owner, deeID, apptest.Role(w.otherRole), 400, "invalid", "role"},
			{"ErrUnknownRole", w.owner, deeID, apptest.Role("boss"), 400, "invalid", "role"},
			{"ErrBadGrammar", w.owner, deeID, apptest.Permissions(apptest.ProjectGrant(w.proj, "partial", "")), 400, "invalid", "permissions[0].name"},
			{"ErrUnknownField", w.owner, deeID, map[string]any{"role": "viewer", "email": "x@example.com"}, 400, "invalid", "email"},
			{"ErrNotAMember", w.owner, "0191f2a4-0000-7000-8000-000000000000", apptest.Role("viewer"), 404, "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var before map[string]any
				if tc.status != 404 {
					before = w.must(t, 200, "GET", "/v1/members/"+tc.user, w.owner, nil)
				}
				p := apptest.ProblemCode(t, put(tc.token, tc.user, tc.body), tc.status, tc.code)
				if tc.field != "" {
					apptest.ProblemField(t, p, tc.field)
				}
				if before != nil {
					after := w.must(t, 200, "GET", "/v1/members/"+tc.user, w.owner, nil)
					if !reflect.DeepEqual(before, after) {
						t.Fatalf("member changed by a refused edit:\n%v\n%v", before, after)
					}
				}
			})
		}
		if len(srv.AuditEvents(w.org, "member.updated")) != 0 {
			t.Fatal("refused edits wrote audit events")
		}

		t.Run("OKTakesEffectOnNextRequest", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/members", viewer, nil), 403, "forbidden") // rights now cached
			got := apptest.Status(t, 200, put(w.owner, vicID, apptest.Role("admin")))
			mbCheckMember(t, got)
			if mbRoleName(got) != "admin" || len(got["permissions"].([]any)) != 0 {
				t.Fatalf("PUT = %v", got)
			}
			w.must(t, 200, "GET", "/v1/members", viewer, nil)
			// And back down: no role, one folder.
			got = apptest.Status(t, 200, put(w.owner, vicID, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read"))))))
			if got["role"] != nil || len(got["permissions"].([]any)) != 1 {
				t.Fatalf("PUT = %v", got)
			}
			apptest.ProblemCode(t, w.do("GET", "/v1/members", viewer, nil), 403, "forbidden")
			ev := srv.AuditFor(w.org, "member.updated", vicID)
			if ev == nil || ev.ActorID != w.ownerID || !strings.Contains(string(ev.Summary), `"before"`) {
				t.Fatalf("audit event = %+v", ev)
			}
		})
		t.Run("OKRoleAndPermissions", func(t *testing.T) {
			got := apptest.Status(t, 200, put(admin, deeID, map[string]any{"role": "uploader", "permissions": []any{apptest.OrgGrant(w.org, "audit", "read")}}))
			if mbRoleName(got) != "uploader" || len(got["permissions"].([]any)) != 1 {
				t.Fatalf("PUT = %v", got)
			}
		})
		t.Run("OKNoAccess", func(t *testing.T) {
			got := apptest.Status(t, 200, put(admin, deeID, map[string]any{}))
			if got["role"] != nil || len(got["permissions"].([]any)) != 0 {
				t.Fatalf("PUT = %v", got)
			}
		})
		t.Run("OKOwnerDemotesAnotherOwner", func(t *testing.T) {
			apptest.Status(t, 200, put(w.owner, ozID, apptest.Role("admin")))
			if r := role(t, ozID); r != "admin" {
				t.Fatalf("role %q", r)
			}
			// Now the only owner: nobody can take it away.
			apptest.ProblemCode(t, put(admin, w.ownerID, apptest.Role("admin")), 403, "escalation")
			if r := role(t, w.ownerID); r != "owner" {
				t.Fatalf("role %q", r)
			}
		})
	})
}

func TestMembersRemove(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, adaID := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, vicID := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		dev, deeID := w.member("Dee Developer", "dee@example.com", apptest.Role("developer"))
		_, billID := w.member("Bill Billing", "bill@example.com", apptest.Role("billing"))
		remove := func(token, userID string) *apptest.Response {
			return w.do("DELETE", "/v1/members/"+userID, token, nil)
		}
		isMember := func(t *testing.T, userID string) bool {
			t.Helper()
			resp := w.do("GET", "/v1/members/"+userID, w.owner, nil)
			if resp.Status == 404 {
				return false
			}
			apptest.Status(t, 200, resp)
			return true
		}

		for _, tc := range []struct {
			name   string
			token  string
			user   string
			status int
			code   string
		}{
			{"ErrUnauthenticated", "", deeID, 401, ""},
			{"ErrNoMembersDelete", viewer, deeID, 403, "forbidden"},
			{"ErrEscalationRemoveOwner", admin, w.ownerID, 403, "escalation"},
			{"ErrEscalationRemoveBilling", admin, billID, 403, "escalation"},
			{"ErrLastOwnerLeaves", w.owner, w.ownerID, 409, "last_owner"},
			{"ErrNotAMember", w.owner, "0191f2a4-0000-7000-8000-000000000000", 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apptest.ProblemCode(t, remove(tc.token, tc.user), tc.status, tc.code)
				if tc.status != 404 && !isMember(t, tc.user) {
					t.Fatal("removed by a refused request")
				}
			})
		}

		t.Run("OKRemovedOnNextRequest", func(t *testing.T) {
			w.must(t, 200, "GET", "/v1/projects", dev, nil) // rights now cached
			w.must(t, 204, "DELETE", "/v1/members/"+deeID, admin, nil)
			apptest.ProblemCode(t, w.do("GET", "/v1/projects", dev, nil), 404, "")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/"+deeID, dev, nil), 404, "")
			if isMember(t, deeID) {
				t.Fatal("still a member")
			}
			if ev := srv.AuditFor(w.org, "member.removed", deeID); ev == nil || ev.ActorID != adaID {
				t.Fatalf("audit event = %+v", ev)
			}
			// Their account stays; only the membership went.
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: dev}))
		})
		t.Run("OKLeave", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/members/"+vicID, viewer, nil)
			apptest.ProblemCode(t, w.do("GET", "/v1/members/"+vicID, viewer, nil), 404, "")
			if ev := srv.AuditFor(w.org, "member.left", vicID); ev == nil {
				t.Fatal("no member.left audit event")
			}
			me := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: viewer}))
			if me["current_organization_id"] == w.org {
				t.Fatalf("current organization still the one left: %v", me)
			}
		})
		t.Run("OKOwnersDownToOne", func(t *testing.T) {
			oz, ozID := w.member("Oz Owner", "oz@example.com", apptest.Role("owner"))
			w.must(t, 204, "DELETE", "/v1/members/"+w.ownerID, oz, nil)
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/"+ozID, oz, nil), 409, "last_owner")
			apptest.ProblemCode(t, w.do("PUT", "/v1/members/"+ozID+"/permissions", oz, apptest.Role("admin")), 403, "self_edit")
			if r := mbRoleName(w.must(t, 200, "GET", "/v1/members/"+ozID, oz, nil)); r != "owner" {
				t.Fatalf("last owner's role %q", r)
			}
			apptest.ProblemCode(t, w.do("GET", "/v1/members", w.owner, nil), 404, "")
		})
	})
}

func TestMembersCheck(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		viewer, vicID := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		folderer, fayID := w.member("Fay Folder", "fay@example.com", apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read+write")))))
		check := func(token string, body any) *apptest.Response {
			return w.do("POST", "/v1/members/permissions/check", token, body)
		}
		one := func(entityType, id, name, action string) map[string]any {
			return map[string]any{"entity_type": entityType, "entity_id": id, "name": name, "action": action}
		}
		many := func(n int) []any {
			out := make([]any, n)
			for i := range out {
				out[i] = one("organizations", w.org, "members", "read")
			}
			return out
		}

		for _, tc := range []struct {
			name   string
			token  string
			body   any
			status int
			code   string
			field  string
		}{
			{"ErrUnauthenticated", "", one("organizations", w.org, "members", "read"), 401, "", ""},
			{"ErrEntityType", w.owner, one("users", w.org, "members", "read"), 400, "invalid", "entity_type"},
			{"ErrMissingEntityID", w.owner, one("projects", "", "folders", "read"), 400, "invalid", "entity_id"},
			{"ErrAction", w.owner, one("organizations", w.org, "members", "admin"), 400, "invalid", "action"},
			{"ErrEmptyAction", w.owner, one("organizations", w.org, "members", ""), 400, "invalid", "action"},
			{"ErrMissingName", w.owner, one("organizations", w.org, "", "read"), 400, "invalid", "name"},
			{"ErrBatchPath", w.owner, map[string]any{"checks": []any{one("organizations", w.org, "members", "read"), one("projects", w.proj, "folders", "own")}}, 400, "invalid", "checks[1].action"},
			{"ErrBatchTooLarge", w.owner, map[string]any{"checks": many(101)}, 400, "invalid", "checks"},
			{"ErrOtherMemberNeedsRead", viewer, map[string]any{"user_id": w.ownerID, "entity_type": "organizations", "entity_id": w.org, "name": "members", "action": "read"}, 403, "forbidden", ""},
			{"ErrOtherMemberInBatch", viewer, map[string]any{"checks": []any{one("projects", w.proj, "folders", "read"),
				map[string]any{"user_id": fayID, "entity_type": "projects", "entity_id": w.proj, "name": "folders", "action": "read"}}}, 403, "forbidden", ""},
			{"ErrNotAMember", w.owner, map[string]any{"user_id": "0191f2a4-0000-7000-8000-000000000000", "entity_type": "organizations", "entity_id": w.org, "name": "members", "action": "read"}, 404, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := apptest.ProblemCode(t, check(tc.token, tc.body), tc.status, tc.code)
				if tc.field != "" {
					apptest.ProblemField(t, p, tc.field)
				}
			})
		}

		t.Run("OKSelf", func(t *testing.T) {
			got := apptest.Status(t, 200, check(viewer, one("projects", w.proj, "folders", "read")))
			if got["allowed"] != true || !strings.HasPrefix(got["granted_by"].(string), "role:viewer") || len(got) != 2 {
				t.Fatalf("check = %v", got)
			}
			got = apptest.Status(t, 200, check(viewer, one("projects", w.proj, "folders", "write")))
			if got["allowed"] != false || got["granted_by"] != nil {
				t.Fatalf("check = %v", got)
			}
			// Naming oneself needs no members read.
			got = apptest.Status(t, 200, check(viewer, map[string]any{"user_id": vicID, "entity_type": "projects", "entity_id": w.proj2, "name": "analytics", "action": "read"}))
			if got["allowed"] != true {
				t.Fatalf("check = %v", got)
			}
		})
		t.Run("OKBatch", func(t *testing.T) {
			checks := []any{
				one("folders", w.sub, "folders", "write"),         // inherited from Trailers
				one("folders", w.folder, "folders", "read+write"), // both
				one("folders", w.folder, "folders", "delete"),     // not granted
				one("folders", w.folder2, "folders", "read"),      // another project
				one("projects", w.proj, "livestreams", "read"),    // another area
				one("projects", w.otherProj, "folders", "read"),   // another organization
				one("organizations", w.org, "members", "read"),
			}
			for i := range checks {
				checks[i].(map[string]any)["user_id"] = fayID
			}
			got := apptest.Status(t, 200, check(w.owner, map[string]any{"checks": checks}))
			results := got["results"].([]any)
			want := []bool{true, true, false, false, false, false, false}
			if len(results) != len(want) {
				t.Fatalf("results = %v", results)
			}
			for i, r := range results {
				r := r.(map[string]any)
				if r["allowed"] != want[i] || (r["granted_by"] != nil) != want[i] {
					t.Fatalf("check %d = %v, want allowed %v", i, r, want[i])
				}
			}
			// The same from Fay herself.
			self := apptest.Status(t, 200, check(folderer, map[string]any{"checks": checks}))
			if !reflect.DeepEqual(self["results"], got["results"]) {
				t.Fatalf("self %v, owner's view %v", self["results"], got["results"])
			}
			full := apptest.Status(t, 200, check(w.owner, map[string]any{"checks": many(100)}))
			if n := len(full["results"].([]any)); n != 100 {
				t.Fatalf("%d results", n)
			}
		})
		t.Run("OKOwnerNotBeyondTheOrganization", func(t *testing.T) {
			for _, c := range []map[string]any{
				one("projects", w.otherProj, "folders", "read"),
				one("projects", "0191f2a4-0000-7000-8000-000000000000", "folders", "read"),
				one("organizations", w.otherOrg, "billing", "read"),
			} {
				if got := apptest.Status(t, 200, check(w.owner, c)); got["allowed"] != false {
					t.Fatalf("%v: %v", c, got)
				}
			}
			if got := apptest.Status(t, 200, check(w.owner, one("organizations", w.org, "billing", "delete"))); got["allowed"] != true {
				t.Fatalf("owner billing: %v", got)
			}
		})
		t.Run("OKFollowsChanges", func(t *testing.T) {
			c := map[string]any{"user_id": fayID, "entity_type": "folders", "entity_id": w.sub, "name": "folders", "action": "delete"}
			if got := apptest.Status(t, 200, check(w.owner, c)); got["allowed"] != false {
				t.Fatalf("before: %v", got)
			}
			w.must(t, 200, "PUT", "/v1/members/"+fayID+"/permissions", w.owner, apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "")))))
			if got := apptest.Status(t, 200, check(w.owner, c)); got["allowed"] != true {
				t.Fatalf("after: %v", got)
			}
			if got := apptest.Status(t, 200, check(folderer, one("folders", w.sub, "folders", "delete"))); got["allowed"] != true {
				t.Fatalf("self after: %v", got)
			}
		})
	})
}
