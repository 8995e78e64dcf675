package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestSecureCookiesWithHTTPSBaseURL(t *testing.T) {
	h := New(Config{BaseURL: "https://gatehouse.example/"})
	w := httptest.NewRecorder()
	h.setSession(w, &gatehouse.Tokens{AccessToken: "gh_at_x", RefreshToken: "gh_rt_y"})
	cookies := w.Result().Cookies()
	if len(cookies) != 2 {
		t.Fatalf("%d cookies", len(cookies))
	}
	for _, c := range cookies {
		if c.Name != "__Host-gh_access" && c.Name != "__Host-gh_refresh" {
			t.Fatalf("cookie name %q: want the __Host- prefix with https", c.Name)
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("cookie %+v", c)
		}
	}
	// HSTS only with https.
	rec := httptest.NewRecorder()
	securityHeaders(true, http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS with https")
	}
	plain := New(Config{BaseURL: "http://localhost:8080"})
	w = httptest.NewRecorder()
	plain.setSession(w, &gatehouse.Tokens{AccessToken: "a", RefreshToken: "b"})
	for _, c := range w.Result().Cookies() {
		if c.Secure || c.Name[0] == '_' {
			t.Fatalf("plain http cookie %+v", c)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/members": "/members", "/audit?action=member.": "/audit?action=member.", "": "",
		"https://evil.example/": "", "//evil.example": "", "/\\evil.example": "", "javascript:alert(1)": "",
		"members": "", "/x\r\nSet-Cookie: a=b": "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// The access form reads back what a permission list says, and writes the
// same list again.
func TestAccessFormRoundTrip(t *testing.T) {
	org, p1, p2, f1, f2 := "org-1", "p-1", "p-2", "f-1", "f-2"
	cat := &catalog{orgID: org, projects: []*gatehouse.Project{{ID: p1}, {ID: p2}},
		folders: map[string][]folderRow{p1: {{ID: f1}, {ID: f2, Depth: 1}}}}
	grants := []gatehouse.Grant{
		{EntityType: "organizations", EntityID: org, Name: "billing", Action: "", Permission: []gatehouse.AreaGrant{}},
		{EntityType: "organizations", EntityID: org, Name: "members", Action: "read", Permission: []gatehouse.AreaGrant{}},
		{EntityType: "projects", EntityID: "*", Name: "full-access", Action: "read", Permission: []gatehouse.AreaGrant{}},
		{EntityType: "projects", EntityID: p1, Name: "custom", Permission: []gatehouse.AreaGrant{
			{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{{FolderID: f1, Action: "read+write"}, {FolderID: f2, Action: "read+write+delete"}}},
			{Name: "livestreams", Action: "read"},
		}},
		{EntityType: "projects", EntityID: p2, Name: "full-access", Action: "", Permission: []gatehouse.AreaGrant{}},
	}
	st := stateFromGrants(gatehouse.RoleViewerID, grants)
	// What the form would post for that state.
	v := url.Values{"role": {gatehouse.RoleViewerID}, "project": {"*", p1, p2},
		"mode.*": {"full"}, "fullaction.*": {"read"}, "mode." + p1: {"custom"}, "mode." + p2: {"full"},
		"area." + p1 + ".livestreams": {"read"},
		"folder." + p1 + "." + f1:     {"read", "write"}, "folder." + p1 + "." + f2: {"read", "write", "delete"},
		"org.billing": {"on"}, "org.members": {"on"}, "orgaction.members": {"read"}}
	posted := stateFromForm(v)
	if !reflect.DeepEqual(st, posted) {
		t.Fatalf("state from grants %+v\nstate from form %+v", st, posted)
	}
	out, errs := posted.grants(cat)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(out, grants) {
		t.Fatalf("grants\n got %+v\nwant %+v", out, grants)
	}
	// A ticked project with nothing chosen is an error on that project.
	_, errs = stateFromForm(url.Values{"project": {p1}, "mode." + p1: {"custom"}}).grants(cat)
	if errs["project."+p1] == "" {
		t.Fatal("no error for an empty custom project")
	}
	// Unknown actions in hidden fields are dropped, not passed on.
	if st := stateFromForm(url.Values{"org.api": {"on"}, "orgaction.api": {"sudo"}}); st.Org["api"] != "" {
		t.Fatalf("kept a bad action %q", st.Org["api"])
	}
}
