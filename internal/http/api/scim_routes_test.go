package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// /scim/v2 is served (in SCIM's own shapes) but is no API route: the
// route-vs-document check leaves it out, and the document names only the
// SCIM token routes.
func TestSCIMOutsideOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	srv := apptest.New(t, storetest.SQLite())
	for _, r := range srv.API.Routes() {
		if strings.Contains(r, "/scim/") {
			t.Fatalf("route %q is an API route", r)
		}
	}
	tokens := 0
	for path := range doc.Paths.Map() {
		if strings.HasPrefix(path, "/scim") {
			t.Fatalf("openapi.yaml documents %s", path)
		}
		if strings.Contains(path, "/scim-tokens") {
			tokens++
		}
	}
	if tokens != 2 {
		t.Fatalf("%d SCIM token paths documented, want 2", tokens)
	}
	resp := srv.Do(apptest.Req{Method: "GET", Path: "/scim/v2/ServiceProviderConfig"})
	if resp.Status != 401 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json") ||
		!strings.Contains(string(resp.Body), "urn:ietf:params:scim:api:messages:2.0:Error") {
		t.Fatalf("SCIM without a token: %d %s %s", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
	}
}
