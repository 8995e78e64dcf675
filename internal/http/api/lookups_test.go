package api_test

import (
	"encoding/csv"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// lkCheck asks the check endpoint (as the owner) about a member.
func lkCheck(t *testing.T, w *ivWorld, userID, typ, id, name, action string) (bool, string) {
	t.Helper()
	out := lkMust(t, w, 200, "POST", "/v1/members/permissions/check", w.owner,
		map[string]any{"user_id": userID, "entity_type": typ, "entity_id": id, "name": name, "action": action})
	by, _ := out["granted_by"].(string)
	return out["allowed"] == true, by
}

func TestLookupsAPI(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		admin, adminID := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
		viewer, viewerID := w.member("Vic Viewer", "vic@example.com", apptest.Role("viewer"))
		folderTok, folderID := w.member("Fay Folder", "=fay@example.com", map[string]any{"permissions": []any{
			apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read+write")), apptest.AreaGrant("livestreams", "read"))}})
		auditor, auditorID := w.member("Aud Itor", "aud@example.com", map[string]any{"permissions": []any{apptest.OrgGrant(w.org, "audit", "read")}})
		members := []string{w.ownerID, adminID, viewerID, folderID, auditorID}
		folders := []string{w.folder, w.sub, w.folder2}
		_ = admin

		t.Run("ErrBadInput", func(t *testing.T) {
			for _, c := range []struct {
				path  string
				body  map[string]any
				field string
			}{
				{"lookup-resources", map[string]any{"entity_type": "videos", "name": "folders", "action": "read"}, "entity_type"},
				{"lookup-resources", map[string]any{"entity_type": "folders", "name": "livestreams", "action": "read"}, "name"},
				{"lookup-resources", map[string]any{"entity_type": "projects", "name": "bogus", "action": "read"}, "name"},
				{"lookup-resources", map[string]any{"entity_type": "projects", "name": "settings", "action": "fly"}, "action"},
				{"lookup-resources", map[string]any{"entity_type": "projects", "name": "settings", "action": ""}, "action"},
				{"lookup-subjects", map[string]any{"entity_type": "", "name": "folders", "action": "read"}, "entity_type"},
				{"lookup-subjects", map[string]any{"entity_type": "folders", "name": "folders", "action": "read"}, "entity_id"},
				{"lookup-subjects", map[string]any{"entity_type": "organizations", "name": "livestreams", "action": "read"}, "name"},
				{"lookup-subjects", map[string]any{"entity_type": "projects", "entity_id": w.proj, "name": "folders", "action": "read+read"}, "action"},
			} {
				apptest.ProblemField(t, apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/"+c.path, w.owner, c.body), 400, "invalid"), c.field)
			}
		})
		t.Run("ErrOthersNeedMembersOrAuditRead", func(t *testing.T) {
			body := map[string]any{"user_id": adminID, "entity_type": "folders", "name": "folders", "action": "read"}
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-resources", viewer, body), 403, "forbidden")
			apptest.ProblemCode(t, lkDo(t, w, "GET", "/v1/members/"+adminID+"/access", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, lkDo(t, w, "GET", "/v1/members/access.csv", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-subjects", viewer,
				map[string]any{"entity_type": "folders", "entity_id": w.folder, "name": "folders", "action": "read"}), 403, "forbidden")
			// About oneself: always.
			body["user_id"] = viewerID
			lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-resources", viewer, body)
			lkMust(t, w, 200, "GET", "/v1/members/"+viewerID+"/access", viewer, nil)
			delete(body, "user_id")
			lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-resources", folderTok, body)
			// Audit read is enough for others.
			body["user_id"] = adminID
			lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-resources", auditor, body)
			lkMust(t, w, 200, "GET", "/v1/members/"+adminID+"/access", auditor, nil)
		})
		t.Run("ErrOtherOrganization", func(t *testing.T) {
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-subjects", w.owner,
				map[string]any{"entity_type": "folders", "entity_id": w.otherFolder, "name": "folders", "action": "read"}), 404, "")
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-subjects", w.owner,
				map[string]any{"entity_type": "projects", "entity_id": w.otherProj, "name": "folders", "action": "read"}), 404, "")
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-subjects", w.owner,
				map[string]any{"entity_type": "organizations", "entity_id": w.otherOrg, "name": "members", "action": "read"}), 404, "")
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-resources", w.owner,
				map[string]any{"entity_type": "folders", "project_id": w.otherProj, "name": "folders", "action": "read"}), 404, "")
			apptest.ProblemCode(t, lkDo(t, w, "GET", "/v1/members/not-a-member/access", w.owner, nil), 404, "")
			apptest.ProblemCode(t, w.do("GET", "/v1/members/"+w.ownerID+"/nothing", w.owner, nil), 404, "")
			if resp := w.do("GET", "/v1/members/"+w.ownerID+"/permissions", w.owner, nil); resp.Status != 405 || resp.Header.Get("Allow") != "PUT" {
				t.Errorf("GET permissions: %d, Allow %q", resp.Status, resp.Header.Get("Allow"))
			}
			for _, op := range []string{"check", "lookup-resources", "lookup-subjects"} {
				if resp := w.do("GET", "/v1/members/permissions/"+op, w.owner, nil); resp.Status != 405 || resp.Header.Get("Allow") != "POST" {
					t.Errorf("GET %s: %d, Allow %q", op, resp.Status, resp.Header.Get("Allow"))
				}
			}
		})

		t.Run("OKResourcesEqualChecks", func(t *testing.T) {
			for _, m := range members {
				for _, action := range []string{"read", "write", "delete", "read+write"} {
					got := map[string]string{}
					body := lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-resources", w.owner,
						map[string]any{"user_id": m, "entity_type": "folders", "name": "folders", "action": action})
					items, _ := apptest.Page(t, body)
					for _, it := range items {
						got[it["entity_id"].(string)] = it["via"].(string)
					}
					want := map[string]string{}
					for _, f := range folders {
						if ok, by := lkCheck(t, w, m, "folders", f, "folders", action); ok {
							want[f] = by
						}
					}
					if !maps.Equal(got, want) {
						t.Errorf("member %s %s: lookup %v, checks %v", m, action, got, want)
					}
				}
			}
		})
		t.Run("OKSubjectsEqualChecks", func(t *testing.T) {
			for _, f := range folders {
				for _, action := range []string{"read", "write", "delete"} {
					body := lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-subjects", auditor,
						map[string]any{"entity_type": "folders", "entity_id": f, "name": "folders", "action": action})
					items, _ := apptest.Page(t, body)
					var got, want []string
					for _, it := range items {
						got = append(got, it["id"].(string))
						_, by := lkCheck(t, w, it["id"].(string), "folders", f, "folders", action)
						found := false
						for _, v := range it["via"].([]any) {
							found = found || v.(map[string]any)["grant"] == by
						}
						if !found {
							t.Errorf("%s: via %v misses %s", it["id"], it["via"], by)
						}
					}
					for _, m := range members {
						if ok, _ := lkCheck(t, w, m, "folders", f, "folders", action); ok {
							want = append(want, m)
						}
					}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("folder %s %s: lookup %v, checks %v", f, action, got, want)
					}
				}
			}
		})
		t.Run("OKSubjectsExplain", func(t *testing.T) {
			// Fay may write in Teasers through her grant on its parent.
			body := lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-subjects", w.owner,
				map[string]any{"entity_type": "folders", "entity_id": w.sub, "name": "folders", "action": "write"})
			items, _ := apptest.Page(t, body)
			var fay, owner map[string]any
			for _, it := range items {
				switch it["id"] {
				case folderID:
					fay = it
				case w.ownerID:
					owner = it
				}
			}
			if fay == nil || owner == nil {
				t.Fatalf("subjects %v lack Fay or the owner", items)
			}
			v := fay["via"].([]any)[0].(map[string]any)
			if v["scope"] != "folder" || v["folder_id"] != w.folder || v["source"] != "direct" || fay["email"] != "=fay@example.com" {
				t.Errorf("Fay: %v", fay)
			}
			if v := owner["via"].([]any)[0].(map[string]any); v["scope"] != "owner" || v["source"] != "role" || v["role"] != "owner" {
				t.Errorf("owner: %v", owner)
			}
			// Paging: one at a time, the same members.
			var paged []string
			cursor := ""
			for range 10 {
				path := "/v1/members/permissions/lookup-subjects?limit=1"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				items, next := apptest.Page(t, lkMust(t, w, 200, "POST", path, w.owner,
					map[string]any{"entity_type": "folders", "entity_id": w.sub, "name": "folders", "action": "write"}))
				for _, it := range items {
					paged = append(paged, it["id"].(string))
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			if len(paged) != len(items) {
				t.Errorf("paged %v, one page %d", paged, len(items))
			}
		})
		t.Run("OKMemberAccess", func(t *testing.T) {
			out := lkMust(t, w, 200, "GET", "/v1/members/"+folderID+"/access", folderTok, nil)
			fs := out["folders"].([]any)
			if len(fs) != 1 {
				t.Fatalf("folders %v", fs)
			}
			f := fs[0].(map[string]any)
			sub := f["subtree"].([]any)
			if f["folder_id"] != w.folder || f["name"] != "Trailers" || len(sub) != 2 || sub[1] != w.sub || len(f["actions"].([]any)) != 2 {
				t.Errorf("folder access %v", f)
			}
			ps := out["projects"].([]any)
			if len(ps) != 1 || ps[0].(map[string]any)["project_id"] != w.proj {
				t.Errorf("projects %v", ps)
			}
			if len(out["organization"].([]any)) != 0 {
				t.Errorf("organization %v", out["organization"])
			}
			owner := lkMust(t, w, 200, "GET", "/v1/members/"+w.ownerID+"/access", w.owner, nil)
			if len(owner["organization"].([]any)) != 6 || len(owner["projects"].([]any)) != 2 || owner["role"] != "owner" {
				t.Errorf("owner access %v", owner)
			}
		})
		t.Run("OKReviewCSV", func(t *testing.T) {
			resp := lkDo(t, w, "GET", "/v1/members/access.csv", auditor, nil)
			if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d, %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != "member_id,member_name,member_email,resource_type,resource_id,resource_name,area,action,source,role,grant,scope,via_folder_id" {
				t.Fatalf("header %v", rows[0])
			}
			seen := map[string]bool{}
			for _, r := range rows[1:] {
				seen[r[0]] = true
				if r[3] == "organization" && (r[4] != w.org || r[5] != "Acme Video") {
					t.Errorf("organization row %v", r)
				}
				if r[0] == folderID && r[3] == "folder" {
					if r[2] != "'=fay@example.com" || r[4] != w.folder || r[5] != "Trailers" || r[11] != "folder" {
						t.Errorf("Fay's folder row %v", r)
					}
				}
			}
			for _, m := range members {
				if !seen[m] {
					t.Errorf("no rows for %s", m)
				}
			}
		})
		t.Run("OKAPIKeyAsksWithinItsGrants", func(t *testing.T) {
			key := lkMust(t, w, 201, "POST", "/v1/api-keys", w.owner, map[string]any{"name": "ci", "permissions": []any{
				apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read")))}})
			secret := key["secret"].(string)
			items, _ := apptest.Page(t, lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-resources", secret,
				map[string]any{"entity_type": "folders", "name": "folders", "action": "read"}))
			var got []string
			for _, it := range items {
				got = append(got, it["entity_id"].(string))
				if it["via"] != "api_key.permissions[0]" {
					t.Errorf("via %v", it["via"])
				}
			}
			want := []string{w.folder, w.sub}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("key's folders %v, want %v", got, want)
			}
			apptest.ProblemCode(t, lkDo(t, w, "POST", "/v1/members/permissions/lookup-resources", secret,
				map[string]any{"user_id": w.ownerID, "entity_type": "folders", "name": "folders", "action": "read"}), 403, "forbidden")
			// The key is a subject too.
			subj, _ := apptest.Page(t, lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-subjects", w.owner,
				map[string]any{"entity_type": "folders", "entity_id": w.sub, "name": "folders", "action": "read"}))
			if subj[0]["kind"] != "api_key" || subj[0]["id"] != key["id"] {
				t.Errorf("first subject %v, want the key", subj[0])
			}
		})
		t.Run("OKSeesChangesAtOnce", func(t *testing.T) {
			body := map[string]any{"entity_type": "folders", "entity_id": w.folder2, "name": "folders", "action": "read"}
			has := func() bool {
				items, _ := apptest.Page(t, lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-subjects", w.owner, body))
				return slices.ContainsFunc(items, func(it map[string]any) bool { return it["id"] == folderID })
			}
			if has() {
				t.Fatal("Fay reads Old before any grant")
			}
			lkMust(t, w, 200, "PUT", "/v1/members/"+folderID+"/permissions", w.owner, map[string]any{"permissions": []any{
				apptest.ProjectGrant(w.proj2, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder2, "read")))}})
			if !has() {
				t.Fatal("Fay's new grant is not seen")
			}
			// A new name shows at once too.
			apptest.Status(t, 200, w.srv.Do(apptest.Req{Method: "PATCH", Path: "/v1/me", Token: folderTok, Body: map[string]any{"name": "Fay Renamed"}}))
			items, _ := apptest.Page(t, lkMust(t, w, 200, "POST", "/v1/members/permissions/lookup-subjects", w.owner, body))
			if !slices.ContainsFunc(items, func(it map[string]any) bool { return it["name"] == "Fay Renamed" }) {
				t.Fatalf("the new name is not shown: %v", items)
			}
		})
	})
}

// lkDo sends a request in the world's organization and validates the
// exchange against openapi.yaml.
func lkDo(t *testing.T, w *ivWorld, method, path, token string, body any) *apptest.Response {
	t.Helper()
	r := w.req(method, path, token, body)
	resp := w.srv.Do(r)
	validateResponse(t, r, resp)
	return resp
}

func lkMust(t *testing.T, w *ivWorld, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	return apptest.Status(t, want, lkDo(t, w, method, path, token, body))
}

// TestLookupsAcrossProcesses: two servers on one PostgreSQL database; the
// look-ups answered by B follow changes made through A (a member's grants,
// a folder move) by notification, as the check does.
func TestLookupsAcrossProcesses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		if e.Name != "postgres" {
			t.Skip("several processes share a database only on PostgreSQL")
		}
		dsn := e.NewDSN(t)
		a := apptest.New(t, e, apptest.Options{DSN: dsn})
		b := apptest.New(t, e, apptest.Options{DSN: dsn})
		wa := opNewWorld(t, a)
		wb := *wa
		wb.srv = b
		subjects := func(folder string) []string {
			resp := wb.do(wa.owner, "POST", "/v1/members/permissions/lookup-subjects",
				map[string]any{"entity_type": "folders", "entity_id": folder, "name": "folders", "action": "delete"})
			items, _ := apptest.Page(t, apptest.Status(t, 200, resp))
			var ids []string
			for _, it := range items {
				ids = append(ids, it["id"].(string))
			}
			return ids
		}
		resources := func(m *apptest.Member) []string {
			resp := wb.do(m, "POST", "/v1/members/permissions/lookup-resources",
				map[string]any{"entity_type": "folders", "project_id": wa.p1, "name": "folders", "action": "read"})
			items, _ := apptest.Page(t, apptest.Status(t, 200, resp))
			var ids []string
			for _, it := range items {
				ids = append(ids, it["entity_id"].(string))
			}
			return ids
		}
		// Prime B: the custom member deletes in A and reads A and A1.
		if !slices.Contains(subjects(wa.fA1), wa.custom.UserID) || !slices.Contains(resources(wa.custom), wa.fA1) {
			t.Fatal("before the changes, B does not see the custom member's folder grant")
		}
		apptest.MustDo(t, a, 200, wa.req(wa.owner, "POST", "/v1/projects/"+wa.p1+"/folders/"+wa.fA1+"/move", map[string]any{"parent_id": nil}))
		opEventually(t, "B's lookup-resources still lists the moved folder", func() bool { return !slices.Contains(resources(wa.custom), wa.fA1) })
		opEventually(t, "B's lookup-subjects still lists the custom member on the moved folder", func() bool {
			return !slices.Contains(subjects(wa.fA1), wa.custom.UserID)
		})
		if !slices.Contains(subjects(wa.fA), wa.custom.UserID) {
			t.Fatal("the custom member lost folder A")
		}
		a.SetStoreRights(wa.org, wa.custom.UserID, "", nil)
		opEventually(t, "B's lookup-subjects still lists a member whose grant was removed", func() bool {
			return !slices.Contains(subjects(wa.fA), wa.custom.UserID)
		})
	})
}
