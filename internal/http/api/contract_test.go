package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestContractUUIDCase: UUIDs are case-insensitive (RFC 9562): an
// upper-case id in a path or in X-Organization-Id finds the object, and
// answers carry lower case.
func TestContractUUIDCase(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		proj := srv.CreateProject(owner, org, "Launch")
		got := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/projects/" + strings.ToUpper(proj), Token: owner,
			Header: apptest.OrgHeader(strings.ToUpper(org))})
		if got["id"] != proj {
			t.Fatalf("project answered as %v, want %s", got["id"], proj)
		}
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + strings.ToUpper(org), Token: owner})
	})
}

// TestContractPersonName: the document refuses the names the server
// refuses (empty, blank, several lines).
func TestContractPersonName(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	s := doc.Components.Schemas["PersonName"].Value
	for _, bad := range []string{"", "   ", "Ada\nLovelace", strings.Repeat("a", 101)} {
		if err := s.VisitJSON(bad); err == nil {
			t.Errorf("PersonName accepts %q", bad)
		}
	}
	for _, good := range []string{"Ada", " Ada Lovelace ", "李"} {
		if err := s.VisitJSON(good); err != nil {
			t.Errorf("PersonName refuses %q: %v", good, err)
		}
	}
}

// TestContractAuditNameAfterRename: after a rename, the next event names
// the actor by the new name (the cached session is invalidated).
func TestContractAuditNameAfterRename(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Old Name", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme") // the session is cached from here
		srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: owner, Body: map[string]any{"name": "New Name"}})
		proj := srv.CreateProject(owner, org, "Launch")
		ev := srv.AuditFor(org, "project.created", proj)
		if ev == nil || ev.ActorName != "New Name" {
			t.Fatalf("event after the rename: %+v", ev)
		}
	})
}

// TestContractDialect404s: empty ids answer in each dialect's own shape, and
// a dot-dot static path gets the dashboard's 404 page.
func TestContractDialect404s(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t, storetest.SQLite())
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	key := srv.CreateKey(owner, org, map[string]any{"entity_type": "organizations", "entity_id": org, "name": "owner", "action": "", "permission": []any{}})["secret"].(string)

	for _, path := range []string{"/v2/invites/", "/v2/invites/a/b"} {
		resp := srv.Do(apptest.Req{Method: "DELETE", Path: path, Token: key})
		var env map[string]any
		if resp.Status != 404 || json.Unmarshal(resp.Body, &env) != nil || env["success"] != false || env["errors"] == nil {
			t.Fatalf("Vidbeo %s: %d %s", path, resp.Status, resp.Body)
		}
	}
	resp := srv.Do(apptest.Req{Method: "DELETE", Path: "/rest/orgs/" + org + "/invites/?version=2024-06-21", Header: map[string]string{"Authorization": "token " + key}})
	var doc map[string]any
	if resp.Status != 404 || json.Unmarshal(resp.Body, &doc) != nil || doc["errors"] == nil || strings.Contains(resp.Header.Get("Content-Type"), "problem") {
		t.Fatalf("Snyk empty invite id: %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	for _, path := range []string{"/static/%2e%2e", "/static/%2e%2e/secret.key", "/static/nope.css"} {
		resp := srv.Do(apptest.Req{Method: "GET", Path: path, Header: map[string]string{"Accept": "text/html"}})
		if resp.Status != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(resp.Body), "Page not found") {
			t.Fatalf("%s: %d %v %s", path, resp.Status, resp.Header, resp.Body)
		}
	}
}

// TestContractOneMediaType: each documented answer has one media type
// (images aside), which generated clients need to decode it.
func TestContractOneMediaType(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				var types []string
				for mt := range resp.Value.Content {
					if !strings.HasPrefix(mt, "image/") {
						types = append(types, mt)
					}
				}
				if len(types) > 1 {
					t.Errorf("%s %s %s answers %v", method, path, status, types)
				}
			}
		}
	}
}

// TestContractGrantRules: the permission grammar is in the schemas, so a
// validating client refuses what the server refuses, and accepts what it
// accepts; each case is also sent to the server.
func TestContractGrantRules(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schema := doc.Components.Schemas["GrantInput"].Value
	srv := apptest.New(t, storetest.SQLite())
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	proj := srv.CreateProject(owner, org, "Launch")
	folder := srv.CreateFolder(owner, org, proj, "Trailers", "")
	area := func(name, action string, folders ...string) map[string]any {
		a := map[string]any{"name": name, "action": action}
		if len(folders) > 0 {
			fs := []any{}
			for _, f := range folders {
				fs = append(fs, map[string]any{"folder_id": f, "action": "read"})
			}
			a["folders"] = fs
		}
		return a
	}
	grant := func(typ, id, name, action string, areas ...map[string]any) map[string]any {
		ps := []any{}
		for _, a := range areas {
			ps = append(ps, a)
		}
		return map[string]any{"entity_type": typ, "entity_id": id, "name": name, "action": action, "permission": ps}
	}
	for _, tc := range []struct {
		name  string
		grant map[string]any
		ok    bool
	}{
		{"OKOrgArea", grant("organizations", org, "billing", "read"), true},
		{"OKOwner", grant("organizations", org, "owner", ""), true},
		{"OKFullAccess", grant("projects", "*", "full-access", "read+write"), true},
		{"OKCustomArea", grant("projects", proj, "custom", "", area("livestreams", "read")), true},
		{"OKCustomFolders", grant("projects", proj, "custom", "", area("folders", "custom", folder)), true},
		{"ErrOrgNameOnProject", grant("projects", proj, "billing", "read"), false},
		{"ErrProjectNameOnOrg", grant("organizations", org, "full-access", ""), false},
		{"ErrOrgWithAreas", grant("organizations", org, "members", "read", area("settings", "read")), false},
		{"ErrOwnerPartial", grant("organizations", org, "owner", "read"), false},
		{"ErrCustomWithoutAreas", grant("projects", proj, "custom", ""), false},
		{"ErrFullAccessWithAreas", grant("projects", proj, "full-access", "", area("settings", "read")), false},
		{"ErrCustomOnNonFolderArea", grant("projects", proj, "custom", "", area("livestreams", "custom", folder)), false},
		{"ErrCustomFoldersEmpty", grant("projects", proj, "custom", "", area("folders", "custom")), false},
		{"ErrFoldersWithoutCustom", grant("projects", proj, "custom", "", area("folders", "read", folder)), false},
		{"ErrProjectIDNotUUID", grant("projects", "launch", "full-access", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.grant)
			var v any
			_ = json.Unmarshal(raw, &v)
			// As a JSON Schema 2020-12 validator (OpenAPI 3.1) reads it.
			docErr := schema.VisitJSON(v, openapi3.EnableJSONSchema2020())
			if (docErr == nil) != tc.ok {
				t.Errorf("document: ok=%v (%v), want %v", docErr == nil, docErr, tc.ok)
			}
			resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/roles", Token: owner, Header: apptest.OrgHeader(org),
				Body: map[string]any{"name": "r-" + strings.ToLower(tc.name), "permissions": []any{tc.grant}}})
			if (resp.Status == 201) != tc.ok {
				t.Errorf("server: %d %s, want ok=%v", resp.Status, resp.Body, tc.ok)
			}
		})
	}
}
