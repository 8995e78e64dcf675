package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestContractUUIDCase: UUIDs are case-insensitive (RFC 9562): an
// upper-case id in a path or in X-Organization-Id finds the object, and
// answers carry lower case.
func TestContractUUIDCase(t *testing.T) {
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
	srv := apptest.New(t, storetest.SQLite())
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	key := createKey(srv, owner, org, map[string]any{"entity_type": "organizations", "entity_id": org, "name": "owner", "action": "", "permission": []any{}})["secret"].(string)

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
