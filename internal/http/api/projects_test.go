package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/seedtest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestProjectCRUD(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		ctx := context.Background()
		w := opNewWorld(t, srv)
		var alpha string
		t.Run("OK", func(t *testing.T) {
			p := apptest.MustDo(t, srv, 201, w.req(w.owner, "POST", "/v1/projects", map[string]any{
				"name": " Alpha ", "description": "The first.", "settings": map[string]any{"player": map[string]any{"autoplay": true}}}))
			alpha = apptest.ID(t, p)
			if p["name"] != "Alpha" || p["description"] != "The first." || p["organization_id"] != w.org {
				t.Fatalf("created %v", p)
			}
			if s, _ := json.Marshal(p["settings"]); string(s) != `{"player":{"autoplay":true}}` {
				t.Fatalf("settings %s", s)
			}
			apptest.HasAudit(t, srv, w.org, alpha, "project.created")
			bare := apptest.MustDo(t, srv, 201, w.req(w.admin, "POST", "/v1/projects", map[string]any{"name": "Bare"}))
			if s, _ := json.Marshal(bare["settings"]); string(s) != `{}` || bare["description"] != "" {
				t.Fatalf("defaults %v", bare)
			}
			if got := apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", "/v1/projects/"+alpha, nil)); got["name"] != "Alpha" {
				t.Fatalf("get %v", got)
			}

			// Newest first, paged.
			all := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", "/v1/projects", nil)))
			if !slices.Equal(all, []string{apptest.ID(t, bare), alpha, w.p2, w.p1}) {
				t.Fatalf("list %v", all)
			}
			var paged []string
			cursor := ""
			for range 10 {
				page := apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", "/v1/projects?limit=3&cursor="+cursor, nil))
				paged = append(paged, apptest.DataIDs(t, page)...)
				next, _ := page["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(paged, all) {
				t.Fatalf("pages %v, want %v", paged, all)
			}
			// The custom member sees only the project of their folder.
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", "/v1/projects?limit=1", nil))); !slices.Equal(ids, []string{w.p1}) {
				t.Fatalf("custom member's list %v", ids)
			}

			p = apptest.MustDo(t, srv, 200, w.req(w.owner, "PATCH", "/v1/projects/"+alpha, map[string]any{"name": "Alpha 2", "description": ""}))
			if p["name"] != "Alpha 2" || p["description"] != "" {
				t.Fatalf("updated %v", p)
			}
			if s, _ := json.Marshal(p["settings"]); string(s) != `{"player":{"autoplay":true}}` {
				t.Fatalf("an update without settings changed them: %s", s)
			}
			apptest.MustDo(t, srv, 200, w.req(w.owner, "PATCH", "/v1/projects/"+alpha, map[string]any{"name": "Alpha 2"}))
			if got := srv.TargetAuditActions(w.org, alpha); !slices.Equal(got, []string{"project.created", "project.updated"}) {
				t.Fatalf("audit %v (a no-op update writes nothing)", got)
			}

			// Deleting removes its folders.
			f := w.folder(t, alpha, "Inside", "")
			w.folder(t, alpha, "Deeper", f)
			apptest.MustDo(t, srv, 204, w.req(w.admin, "DELETE", "/v1/projects/"+alpha, nil))
			apptest.ProblemCode(t, w.do(w.owner, "GET", "/v1/projects/"+alpha, nil), 404, "not_found")
			apptest.ProblemCode(t, w.do(w.owner, "GET", "/v1/projects/"+alpha+"/folders/"+f, nil), 404, "not_found")
			if fs, err := srv.Store.R().ProjectFolders(ctx, w.org, alpha); err != nil || len(fs) != 0 {
				t.Fatalf("folders left: %v, %v", fs, err)
			}
			if got := srv.TargetAuditActions(w.org, alpha); got[len(got)-1] != "project.deleted" {
				t.Fatalf("audit %v", got)
			}
		})
		t.Run("ErrMissingFields", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"description": "no name"}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": "  "}), "name")
			apptest.BadField(t, w.do(w.owner, "PATCH", "/v1/projects/"+w.p1, map[string]any{"name": ""}), "name")
			// An empty body needs no content type, and still names what is missing.
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", nil), "name")
		})
		t.Run("ErrWrongType", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": 5}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": "X", "description": []string{"a"}}), "description")
			apptest.BadField(t, w.do(w.owner, "PATCH", "/v1/projects/"+w.p1, map[string]any{"name": map[string]any{}}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": "X", "settings": []int{1}}), "settings")
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": "X", "description": strings.Repeat("d", 2001)}), "description")
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", "/v1/projects", map[string]any{"name": "X", "org_id": w.otherOrg}), "org_id")
			apptest.BadField(t, w.do(w.owner, "PATCH", "/v1/projects/"+w.p1, map[string]any{"id": opUnknownID}), "id")
		})
		t.Run("ErrUnknownID", func(t *testing.T) {
			// Unknown, malformed, and another organization's ids alike.
			for _, id := range []string{opUnknownID, "not-a-uuid", "42", w.otherProject} {
				for _, m := range []*apptest.Member{w.owner, w.custom} {
					apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+id, nil), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "PATCH", "/v1/projects/"+id, map[string]any{"name": "X"}), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "DELETE", "/v1/projects/"+id, nil), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+id+"/settings", nil), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "PUT", "/v1/projects/"+id+"/settings", map[string]any{"a": 1}), 404, "not_found")
				}
			}
			// Nothing of the other organization changed.
			p := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects/" + w.otherProject, Token: w.outsider.Token})
			if p["name"] != "Theirs" {
				t.Fatalf("other project %v", p)
			}
		})
	})
}

func TestProjectSettings(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		path := "/v1/projects/" + w.p1 + "/settings"
		raw := func(body, ct string) *apptest.Response {
			r := w.req(w.owner, "PUT", path, body)
			r.ContentType = ct
			return srv.Do(r)
		}
		// object returns a JSON object of exactly n bytes.
		object := func(n int) string {
			return `{"k":"` + strings.Repeat("x", n-len(`{"k":""}`)) + `"}`
		}
		t.Run("OK", func(t *testing.T) {
			if got := srv.Do(w.req(w.viewer, "GET", path, nil)); got.Status != 200 || string(got.Body) != "{}\n" && string(got.Body) != "{}" {
				t.Fatalf("default settings %d %q", got.Status, got.Body)
			}
			put := raw(`{ "player": {"autoplay": false, "volume": 0.5}, "tags": ["a"] }`, "application/json")
			if put.Status != 200 {
				t.Fatalf("put %d %s", put.Status, put.Body)
			}
			want := `{"player":{"autoplay":false,"volume":0.5},"tags":["a"]}`
			if got := strings.TrimSpace(string(put.Body)); got != want {
				t.Fatalf("put answered %s", got)
			}
			if got := strings.TrimSpace(string(srv.Do(w.req(w.admin, "GET", path, nil)).Body)); got != want {
				t.Fatalf("get %s", got)
			}
			apptest.HasAudit(t, srv, w.org, w.p1, "project.updated")
			// The settings are the project's too.
			p := apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", "/v1/projects/"+w.p1, nil))
			if s, _ := json.Marshal(p["settings"]); string(s) != want {
				t.Fatalf("project settings %s", s)
			}
			// Exactly 64 KiB is allowed, by PUT, PATCH and create.
			big := object(64 << 10)
			if resp := raw(big, "application/json; charset=utf-8"); resp.Status != 200 {
				t.Fatalf("64 KiB: %d %s", resp.Status, resp.Body[:min(len(resp.Body), 200)])
			}
			r := w.req(w.owner, "PATCH", "/v1/projects/"+w.p1, `{"settings":`+big+`}`)
			r.ContentType = "application/json"
			apptest.MustDo(t, srv, 200, r)
			apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/projects", Token: w.owner.Token, ContentType: "application/json",
				Header: map[string]string{"X-Organization-Id": w.org}, Body: `{"name":"Big","settings":` + big + `}`})
		})
		t.Run("ErrTooLarge", func(t *testing.T) {
			big := object(64<<10 + 1)
			apptest.ProblemCode(t, raw(big, "application/json"), 413, "too_large")
			r := w.req(w.owner, "PATCH", "/v1/projects/"+w.p1, `{"settings":`+big+`}`)
			r.ContentType = "application/json"
			apptest.ProblemCode(t, srv.Do(r), 413, "too_large")
			r = w.req(w.owner, "POST", "/v1/projects", `{"name":"Huge","settings":`+big+`}`)
			r.ContentType = "application/json"
			apptest.ProblemCode(t, srv.Do(r), 413, "too_large")
			apptest.ProblemCode(t, raw(object(1<<20), "application/json"), 413, "too_large")
		})
		t.Run("ErrNotObject", func(t *testing.T) {
			for _, body := range []string{`[]`, `[{"a":1}]`, `"text"`, `null`, `42`, `true`, `{"a":`, `{"a":1} {"b":2}`, `{"a":1}x`, ``, `   `} {
				apptest.ProblemCode(t, raw(body, "application/json"), 400, "invalid")
			}
			r := w.req(w.owner, "PATCH", "/v1/projects/"+w.p1, map[string]any{"settings": "text"})
			apptest.BadField(t, srv.Do(r), "settings")
			apptest.BadField(t, srv.Do(w.req(w.owner, "PATCH", "/v1/projects/"+w.p1, map[string]any{"settings": nil})), "settings")
		})
		t.Run("ErrContentType", func(t *testing.T) {
			apptest.ProblemCode(t, raw(`{"a":1}`, "text/plain"), 415, "unsupported")
			apptest.ProblemCode(t, raw(`{"a":1}`, ""), 415, "unsupported")
		})
		t.Run("ErrUnchanged", func(t *testing.T) {
			// None of the refused writes changed anything.
			got := apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", path, nil))
			if k, _ := got["k"].(string); len(k) != 64<<10-len(`{"k":""}`) {
				t.Fatalf("settings changed by a refused write: %d bytes of k", len(k))
			}
		})
	})
}

// TestProjectSeedExamples gives members the seed's two example permission
// lists, parsed as printed, and checks through the API that they allow
// what they say and nothing more.
func TestProjectSeedExamples(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		t.Run("OKLiveExample", func(t *testing.T) {
			// Full access on P1, billing (every action), api write+read.
			grants := apptest.ParsePermissions(t, seedtest.WithIDs(seedtest.LiveBody, map[string]string{
				seedtest.LiveOrg: w.org, seedtest.LiveProject: w.p1}))
			if len(grants) != 3 {
				t.Fatalf("parsed %d grants", len(grants))
			}
			m := srv.AddStoreMember(w.org, "Raka Jui", "rakajui@example.com", "", grants)
			// Its project: everything.
			apptest.MustDo(t, srv, 200, w.req(m, "GET", "/v1/projects/"+w.p1, nil))
			apptest.MustDo(t, srv, 200, w.req(m, "PUT", "/v1/projects/"+w.p1+"/settings", map[string]any{"by": "live"}))
			apptest.MustDo(t, srv, 200, w.req(m, "GET", "/v1/projects/"+w.p1+"/settings", nil))
			apptest.MustDo(t, srv, 200, w.req(m, "PATCH", "/v1/projects/"+w.p1, map[string]any{"description": "edited by the live example"}))
			root := apptest.ID(t, apptest.MustDo(t, srv, 201, w.req(m, "POST", "/v1/projects/"+w.p1+"/folders", map[string]any{"name": "Live root"})))
			apptest.MustDo(t, srv, 200, w.req(m, "POST", "/v1/projects/"+w.p1+"/folders/"+w.fA1+"/move", map[string]any{"parent_id": w.fB}))
			apptest.MustDo(t, srv, 200, w.req(m, "POST", "/v1/projects/"+w.p1+"/folders/"+w.fA1+"/move", map[string]any{"parent_id": w.fA}))
			apptest.MustDo(t, srv, 204, w.req(m, "DELETE", "/v1/projects/"+w.p1+"/folders/"+root, nil))
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(m, "GET", "/v1/projects", nil))); !slices.Equal(ids, []string{w.p1}) {
				t.Fatalf("projects %v", ids)
			}
			// api write+read: it may make keys within its own rights.
			apptest.MustDo(t, srv, 201, w.req(m, "POST", "/v1/api-keys", map[string]any{"name": "live",
				"permissions": []gatehouse.Grant{apptest.FullAccessGrant(w.p1)}}))
			apptest.MustDo(t, srv, 200, w.req(m, "GET", "/v1/api-keys", nil))
			// Not: other projects, creating or deleting projects, the
			// organization's settings.
			apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+w.p2, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(m, "POST", "/v1/projects", map[string]any{"name": "Nope"}), 403, "")
			apptest.ProblemCode(t, w.do(m, "DELETE", "/v1/projects/"+w.p1, nil), 403, "")
			apptest.ProblemCode(t, w.do(m, "PATCH", "/v1/organizations/"+w.org, map[string]any{"name": "Nope"}), 403, "forbidden")
			apptest.ProblemCode(t, w.do(m, "DELETE", "/v1/organizations/"+w.org, nil), 403, "forbidden")
			apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", "/v1/projects/"+w.p1, nil))
		})
		t.Run("OKCustomExample", func(t *testing.T) {
			// Custom on P1: folder A write+read+delete, the other areas,
			// settings write+read; billing and api write+read.
			grants := apptest.ParsePermissions(t, seedtest.WithIDs(seedtest.CustomBody, map[string]string{
				seedtest.CustomOrg: w.org, seedtest.CustomProject: w.p1, seedtest.CustomFolder: w.fA}))
			if len(grants) != 3 || len(grants[0].Permission) != 5 {
				t.Fatalf("parsed %+v", grants)
			}
			m := srv.AddStoreMember(w.org, "Custom Seed", "customseed@example.com", "", grants)
			p1 := "/v1/projects/" + w.p1
			apptest.MustDo(t, srv, 200, w.req(m, "GET", p1, nil))
			apptest.MustDo(t, srv, 200, w.req(m, "PATCH", p1, map[string]any{"description": "edited by the custom example"}))
			apptest.MustDo(t, srv, 200, w.req(m, "PUT", p1+"/settings", map[string]any{"by": "custom"}))
			apptest.MustDo(t, srv, 200, w.req(m, "GET", p1+"/settings", nil))
			apptest.MustDo(t, srv, 200, w.req(m, "GET", p1+"/folders/"+w.fA, nil))
			apptest.MustDo(t, srv, 200, w.req(m, "GET", p1+"/folders/"+w.fA1, nil))
			x := apptest.ID(t, apptest.MustDo(t, srv, 201, w.req(m, "POST", p1+"/folders", map[string]any{"name": "Custom made", "parent_id": w.fA})))
			apptest.MustDo(t, srv, 200, w.req(m, "PATCH", p1+"/folders/"+x, map[string]any{"name": "Custom renamed"}))
			apptest.MustDo(t, srv, 200, w.req(m, "POST", p1+"/folders/"+x+"/move", map[string]any{"parent_id": w.fA1}))
			apptest.MustDo(t, srv, 204, w.req(m, "DELETE", p1+"/folders/"+x, nil))
			tree := apptest.MustDo(t, srv, 200, w.req(m, "GET", p1+"/folders/tree", nil))
			if got := opTree(t, tree, map[string]string{"A": w.fA, "A1": w.fA1}); got != "A{A1}" {
				t.Fatalf("tree %s", got)
			}
			apptest.ProblemCode(t, w.do(m, "GET", p1+"/folders/"+w.fB, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(m, "POST", p1+"/folders", map[string]any{"name": "At the root"}), 403, "forbidden")
			apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+w.p2, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(m, "POST", "/v1/projects", map[string]any{"name": "Nope"}), 403, "")
			apptest.ProblemCode(t, w.do(m, "DELETE", p1, nil), 403, "")
			apptest.ProblemCode(t, w.do(m, "PATCH", "/v1/organizations/"+w.org, map[string]any{"name": "Nope"}), 403, "forbidden")
		})
		t.Run("ErrSeedIDsUnknown", func(t *testing.T) {
			// As printed, the examples name ids of another installation;
			// every one of them is unknown here.
			for _, body := range []string{seedtest.LiveBody, seedtest.CustomBody} {
				var in map[string]any
				if err := json.Unmarshal([]byte(body), &in); err != nil {
					t.Fatal(err)
				}
				r := w.req(w.owner, "POST", "/v1/api-keys", map[string]any{"name": "seed", "permissions": in["permissions"]})
				apptest.ProblemCode(t, srv.Do(r), 400, "")
			}
		})
	})
}
