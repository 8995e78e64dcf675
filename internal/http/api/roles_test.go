package api_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var rlRoleFields = []string{"id", "name", "description", "permissions", "built_in"}

func rlCheckRole(t *testing.T, r map[string]any) {
	t.Helper()
	if len(r) != len(rlRoleFields) {
		t.Fatalf("role has members %v, want %v", apptest.Keys(r), rlRoleFields)
	}
	for _, f := range rlRoleFields {
		if _, ok := r[f]; !ok {
			t.Fatalf("role has no %q: %v", f, r)
		}
	}
}

func TestRolesList(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		editor := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "editor",
			"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read+write"))}})

		t.Run("ErrUnauthenticated", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/roles", "", nil), 401, "")
		})
		t.Run("ErrNoMembersRead", func(t *testing.T) {
			apptest.ProblemCode(t, w.do("GET", "/v1/roles", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("GET", "/v1/roles/"+gatehouse.RoleAdminID, viewer, nil), 403, "forbidden")
		})
		t.Run("ErrNotInOrganization", func(t *testing.T) {
			for _, id := range []string{w.otherRole, "0191f2a4-0000-7000-8000-000000000000", "editorial"} {
				apptest.ProblemCode(t, w.do("GET", "/v1/roles/"+id, w.owner, nil), 404, "")
			}
		})

		t.Run("OK", func(t *testing.T) {
			items, next := apptest.Page(t, w.must(t, 200, "GET", "/v1/roles", w.owner, nil))
			wantIDs := []string{gatehouse.RoleOwnerID, gatehouse.RoleAdminID, gatehouse.RoleUploaderID, gatehouse.RoleViewerID,
				gatehouse.RoleBillingID, gatehouse.RoleDeveloperID, editor["id"].(string)}
			if got := apptest.IDs(items, "id"); !reflect.DeepEqual(got, wantIDs) || next != "" {
				t.Fatalf("roles %v, want %v", got, wantIDs)
			}
			wantNames := []string{"owner", "admin", "uploader", "viewer", "billing", "developer", "editor"}
			for i, r := range items {
				rlCheckRole(t, r)
				if r["name"] != wantNames[i] || r["built_in"] != (i < 6) {
					t.Fatalf("role %d = %v", i, r)
				}
			}
			// Built-ins show their organization grants bound to this organization.
			for _, g := range items[0]["permissions"].([]any) {
				if g.(map[string]any)["entity_id"] != w.org {
					t.Fatalf("owner role grant %v", g)
				}
			}
			got := w.must(t, 200, "GET", "/v1/roles/"+gatehouse.RoleAdminID, w.owner, nil)
			rlCheckRole(t, got)
			if got["name"] != "admin" || got["built_in"] != true || len(got["permissions"].([]any)) != 5 {
				t.Fatalf("admin role = %v", got)
			}
			got = w.must(t, 200, "GET", "/v1/roles/"+editor["id"].(string), w.owner, nil)
			if !reflect.DeepEqual(got, editor) {
				t.Fatalf("GET %v, created %v", got, editor)
			}
		})
	})
}

func TestRolesCreate(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		folders := []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read"))}
		w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "taken", "permissions": folders})

		for _, tc := range []struct {
			name   string
			token  string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"ErrUnauthenticated", "", map[string]any{"name": "r1", "permissions": folders}, 401, "", ""},
			{"ErrNoMembersWrite", viewer, map[string]any{"name": "r2", "permissions": folders}, 403, "forbidden", ""},
			{"ErrEscalationBilling", admin, map[string]any{"name": "r3", "permissions": []any{apptest.OrgGrant(w.org, "billing", "read")}}, 403, "escalation", ""},
			{"ErrEscalationOwner", admin, map[string]any{"name": "r4", "permissions": []any{apptest.OrgGrant(w.org, "owner", "")}}, 403, "escalation", ""},
			{"ErrBuiltinName", w.owner, map[string]any{"name": "admin", "permissions": folders}, 409, "name_taken", ""},
			{"ErrDuplicateName", w.owner, map[string]any{"name": "taken", "permissions": folders}, 409, "name_taken", ""},
			{"ErrUppercaseName", w.owner, map[string]any{"name": "Editors", "permissions": folders}, 400, "invalid", "name"},
			{"ErrNoName", w.owner, map[string]any{"permissions": folders}, 400, "invalid", "name"},
			{"ErrNoPermissions", w.owner, map[string]any{"name": "r5"}, 400, "invalid", "permissions"},
			{"ErrForeignProject", w.owner, map[string]any{"name": "r6", "permissions": []any{apptest.ProjectGrant(w.otherProj, "full-access", "")}}, 400, "invalid", "permissions[0].entity_id"},
			{"ErrForeignOrganization", w.owner, map[string]any{"name": "r7", "permissions": []any{folders[0], apptest.OrgGrant(w.otherOrg, "api", "")}}, 400, "invalid", "permissions[1].entity_id"},
			{"ErrForeignFolder", w.owner, map[string]any{"name": "r8", "permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.otherFolder, "read")))}}, 400, "invalid", "permissions[0].permission[0].folders[0].folder_id"},
			{"ErrUnknownField", w.owner, map[string]any{"name": "r9", "permissions": folders, "built_in": true}, 400, "invalid", "built_in"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := apptest.ProblemCode(t, w.do("POST", "/v1/roles", tc.token, tc.body), tc.status, tc.code)
				if tc.field != "" {
					apptest.ProblemField(t, p, tc.field)
				}
			})
		}
		t.Run("ErrNothingStored", func(t *testing.T) {
			items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/roles", w.owner, nil))
			if len(items) != 7 {
				t.Fatalf("%d roles after refusals, want 6 built-in and 1 custom", len(items))
			}
		})

		t.Run("OK", func(t *testing.T) {
			body := map[string]any{"name": "producer", "description": "Makes shows.",
				"permissions": []any{apptest.ProjectGrant("*", "custom", "", apptest.AreaGrant("livestreams", "read+write")), apptest.OrgGrant(w.org, "api", "read")}}
			got := w.must(t, 201, "POST", "/v1/roles", admin, body)
			rlCheckRole(t, got)
			if got["name"] != "producer" || got["description"] != "Makes shows." || got["built_in"] != false ||
				!reflect.DeepEqual(apptest.Grants(t, got["permissions"]), apptest.Grants(t, body["permissions"])) {
				t.Fatalf("role = %v", got)
			}
			if ev := srv.AuditFor(w.org, "role.created", got["id"].(string)); ev == nil {
				t.Fatal("no role.created audit event")
			}
			// Usable by name in an invitation, as the role.
			inv, _ := w.inviteAs(t, admin, "prod@example.com", apptest.Role("producer"))
			if inv["role"].(map[string]any)["id"] != got["id"] {
				t.Fatalf("invitation role %v", inv["role"])
			}
			// Each organization has its own names.
			srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
				Body: map[string]any{"name": "producer", "permissions": []any{}}})
		})
	})
}

func TestRolesUpdate(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		editor := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "editor",
			"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read+write"))}})
		editorID := editor["id"].(string)
		accountant := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "accountant",
			"permissions": []any{apptest.OrgGrant(w.org, "billing", "read")}})
		ed1, _ := w.member("Ed One", "ed1@example.com", apptest.Role("editor"))
		ed2, _ := w.member("Ed Two", "ed2@example.com", apptest.Role("editor"))
		put := func(token, id string, body any) *apptest.Response { return w.do("PUT", "/v1/roles/"+id, token, body) }
		canDelete := func(t *testing.T, token string) bool {
			t.Helper()
			got := w.must(t, 200, "POST", "/v1/members/permissions/check", token, map[string]any{"entity_type": "projects",
				"entity_id": w.proj, "name": "folders", "action": "delete"})
			return got["allowed"] == true
		}

		for _, tc := range []struct {
			name   string
			token  string
			id     string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"ErrBuiltin", w.owner, gatehouse.RoleAdminID, map[string]any{"name": "admin", "permissions": []any{}}, 403, "builtin_role", ""},
			{"ErrBuiltinOwner", w.owner, gatehouse.RoleOwnerID, map[string]any{"name": "owner", "permissions": []any{}}, 403, "builtin_role", ""},
			{"ErrNoMembersWrite", ed1, editorID, map[string]any{"name": "editor", "permissions": []any{}}, 403, "forbidden", ""},
			{"ErrEscalationNew", admin, editorID, map[string]any{"name": "editor", "permissions": []any{apptest.OrgGrant(w.org, "billing", "")}}, 403, "escalation", ""},
			{"ErrEscalationCurrent", admin, accountant["id"].(string), map[string]any{"name": "accountant", "permissions": []any{}}, 403, "escalation", ""},
			{"ErrRenameToBuiltin", w.owner, editorID, map[string]any{"name": "viewer", "permissions": []any{}}, 409, "name_taken", ""},
			{"ErrRenameToTaken", w.owner, editorID, map[string]any{"name": "accountant", "permissions": []any{}}, 409, "name_taken", ""},
			{"ErrForeignProject", w.owner, editorID, map[string]any{"name": "editor", "permissions": []any{apptest.ProjectGrant(w.otherProj, "full-access", "")}}, 400, "invalid", "permissions[0].entity_id"},
			{"ErrNoPermissions", w.owner, editorID, map[string]any{"name": "editor"}, 400, "invalid", "permissions"},
			{"ErrOtherOrganization", w.owner, w.otherRole, map[string]any{"name": "outsider", "permissions": []any{}}, 404, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := apptest.ProblemCode(t, put(tc.token, tc.id, tc.body), tc.status, tc.code)
				if tc.field != "" {
					apptest.ProblemField(t, p, tc.field)
				}
			})
		}
		t.Run("ErrUnchanged", func(t *testing.T) {
			if got := w.must(t, 200, "GET", "/v1/roles/"+editorID, w.owner, nil); !reflect.DeepEqual(got, editor) {
				t.Fatalf("role changed by refusals: %v", got)
			}
			if len(srv.AuditEvents(w.org, "role.updated")) != 0 {
				t.Fatal("refusals wrote role.updated")
			}
		})

		t.Run("OKEveryHolderAtOnce", func(t *testing.T) {
			if canDelete(t, ed1) || canDelete(t, ed2) { // rights now cached
				t.Fatal("editors may delete before the change")
			}
			got := apptest.Status(t, 200, put(admin, editorID, map[string]any{"name": "editor", "description": "Edits Launch.",
				"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", ""))}}))
			rlCheckRole(t, got)
			if got["description"] != "Edits Launch." || got["id"] != editorID {
				t.Fatalf("PUT = %v", got)
			}
			if !canDelete(t, ed1) || !canDelete(t, ed2) {
				t.Fatal("editors may not delete after the change")
			}
			ev := srv.AuditFor(w.org, "role.updated", editorID)
			if ev == nil || !strings.Contains(string(ev.Summary), `"before"`) {
				t.Fatalf("audit event = %+v", ev)
			}
			// And back: taken away at once too.
			apptest.Status(t, 200, put(w.owner, editorID, map[string]any{"name": "editor", "permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read"))}}))
			if canDelete(t, ed1) || canDelete(t, ed2) {
				t.Fatal("editors still delete")
			}
		})
		t.Run("OKRename", func(t *testing.T) {
			got := apptest.Status(t, 200, put(w.owner, editorID, map[string]any{"name": "writer", "permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read"))}}))
			if got["name"] != "writer" {
				t.Fatalf("PUT = %v", got)
			}
			items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members?q=ed1", w.owner, nil))
			if len(items) != 1 || mbRoleName(items[0]) != "writer" {
				t.Fatalf("holder %v", items)
			}
		})
	})
}

func TestRolesDelete(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, _ := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		mk := func(name string) string {
			return w.srv.Must(201, w.req("POST", "/v1/roles", w.owner, map[string]any{"name": name,
				"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("analytics", "read"))}}))["id"].(string)
		}
		held, invited, unused := mk("held"), mk("invited"), mk("unused")
		_, heldBy := w.member("Hal Holder", "hal@example.com", apptest.Role("held"))
		inv, _ := w.invite(t, "ivy@example.com", apptest.Role("invited"))

		for _, tc := range []struct {
			name   string
			token  string
			id     string
			status int
			code   string
		}{
			{"ErrBuiltin", w.owner, gatehouse.RoleViewerID, 403, "builtin_role"},
			{"ErrBuiltinOwner", w.owner, gatehouse.RoleOwnerID, 403, "builtin_role"},
			{"ErrNoMembersDelete", viewer, unused, 403, "forbidden"},
			{"ErrHeldByMember", w.owner, held, 409, "role_in_use"},
			{"ErrHeldByPendingInvitation", w.owner, invited, 409, "role_in_use"},
			{"ErrOtherOrganization", w.owner, w.otherRole, 404, ""},
			{"ErrUnknown", w.owner, "0191f2a4-0000-7000-8000-000000000000", 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				apptest.ProblemCode(t, w.do("DELETE", "/v1/roles/"+tc.id, tc.token, nil), tc.status, tc.code)
			})
		}
		t.Run("ErrNothingDeleted", func(t *testing.T) {
			for _, id := range []string{held, invited, unused} {
				w.must(t, 200, "GET", "/v1/roles/"+id, w.owner, nil)
			}
			w.must(t, 200, "GET", "/v1/roles/"+gatehouse.RoleViewerID, w.owner, nil)
		})

		t.Run("OK", func(t *testing.T) {
			w.must(t, 204, "DELETE", "/v1/roles/"+unused, admin, nil)
			apptest.ProblemCode(t, w.do("GET", "/v1/roles/"+unused, w.owner, nil), 404, "")
			if srv.AuditFor(w.org, "role.deleted", unused) == nil {
				t.Fatal("no role.deleted audit event")
			}
		})
		t.Run("OKOnceFreed", func(t *testing.T) {
			w.must(t, 200, "PUT", "/v1/members/"+heldBy+"/permissions", w.owner, apptest.Role("viewer"))
			w.must(t, 204, "DELETE", "/v1/roles/"+held, w.owner, nil)
			w.must(t, 204, "DELETE", "/v1/members/invitations/"+inv["id"].(string), w.owner, nil)
			w.must(t, 204, "DELETE", "/v1/roles/"+invited, w.owner, nil)
		})
	})
}
