package compat_test

// Snyk's REST org invites (seed 003, reference/snyk-invites-openapi.json):
// every response the tests see, success or error, is validated against the
// OpenAPI document with kin-openapi, and so is every request meant to be
// valid; requests a table marks as invalid must fail the document too.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

const (
	jsonAPIType = "application/vnd.api+json"
	snykVersion = "2024-06-21"
)

var (
	registerJSONAPI sync.Once
	uuidRe          = regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC9562)
	// snykVersionRe is the seed's pattern of the version parameter.
	snykVersionRe = regexp.MustCompile(`^(wip|work-in-progress|experimental|beta|((([0-9]{4})-([0-1][0-9]))-((3[01])|(0[1-9])|([12][0-9]))(~(wip|work-in-progress|experimental|beta))?))$`)
)

// snykClient talks to one test server's Snyk dialect and validates what it
// sends and receives against the OpenAPI document.
type snykClient struct {
	f      *fixture
	router routers.Router
}

func newSnykClient(t *testing.T, f *fixture) *snykClient {
	t.Helper()
	p := sharedFile(t, "reference/snyk-invites-openapi.json")
	if p == "" {
		t.Skip("../shared/reference/snyk-invites-openapi.json (beside the repository) is absent: Snyk responses cannot be validated")
	}
	registerJSONAPI.Do(func() { openapi3filter.RegisterBodyDecoder(jsonAPIType, openapi3filter.JSONBodyDecoder) })
	doc, err := openapi3.NewLoader().LoadFromFile(p)
	if err != nil {
		t.Fatalf("load %s: %v", p, err)
	}
	// The document's server is https://api.snyk.io/rest: here, the test server.
	doc.Servers = openapi3.Servers{{URL: f.srv.URL + "/rest"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &snykClient{f: f, router: router}
}

func snykOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    snykAuthentication,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
		},
	}
}

// snykAuthentication checks the document's two schemes: APIToken
// ("token <key>", any case) and BearerAuth.
func snykAuthentication(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, cred, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	switch {
	case cred == "":
	case in.SecuritySchemeName == "APIToken" && strings.EqualFold(scheme, "token"):
		return nil
	case in.SecuritySchemeName == "BearerAuth" && strings.EqualFold(scheme, "bearer"):
		return nil
	}
	return errors.New("no " + in.SecuritySchemeName + " credential")
}

// snykReq is one request; Path is under the server root (/rest/...).
type snykReq struct {
	Method, Path string
	Auth         string // the whole Authorization header, "" for none
	Body         string
	ContentType  string // application/vnd.api+json when there is a body
}

func (r snykReq) build(t *testing.T, base string) func() *http.Request {
	return func() *http.Request {
		var body io.Reader
		if r.Body != "" {
			body = strings.NewReader(r.Body)
		}
		req, err := http.NewRequest(r.Method, base+r.Path, body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Auth != "" {
			req.Header.Set("Authorization", r.Auth)
		}
		if ct := r.ContentType; ct != "" || r.Body != "" {
			if ct == "" {
				ct = jsonAPIType
			}
			req.Header.Set("Content-Type", ct)
		}
		return req
	}
}

// roundTrip validates a request (returning the verdict), sends an identical
// one, and fails the test unless the response validates against the
// document and carries what every Snyk response carries.
func (c *snykClient) roundTrip(t *testing.T, build func() *http.Request) (*apptest.Response, error) {
	t.Helper()
	ctx := context.Background()
	vreq := build()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s is not an operation of the document: %v", vreq.Method, vreq.URL, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: snykOptions()}
	reqErr := openapi3filter.ValidateRequest(ctx, in)

	req := build()
	resp := send(t, c.f.srv, req)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.Status, Header: resp.Header, Options: snykOptions()}
	out.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s → %d does not validate against the document: %v\nheaders: %v\nbody: %s", req.Method, req.URL, resp.Status, err, resp.Header, resp.Body)
	}
	if id := resp.Header.Get("snyk-request-id"); !uuidRe.MatchString(id) {
		t.Errorf("%s %s: snyk-request-id %q", req.Method, req.URL, id)
	}
	// The requested version is echoed when it is one, and only then.
	if v, got := req.URL.Query().Get("version"), resp.Header.Get("snyk-version-requested"); snykVersionRe.MatchString(v) && got != v || !snykVersionRe.MatchString(v) && got != "" {
		t.Errorf("version %q: snyk-version-requested %q", v, got)
	}
	if len(resp.Body) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != jsonAPIType {
			t.Errorf("%s %s: Content-Type %q", req.Method, req.URL, ct)
		}
	}
	if resp.Status >= 400 {
		doc := resp.JSON(t)
		for _, e := range doc["errors"].([]any) {
			if st := e.(map[string]any)["status"]; st != strconv.Itoa(resp.Status) {
				t.Errorf("error status %v in a %d response", st, resp.Status)
			}
		}
	}
	return resp, reqErr
}

func (c *snykClient) doChecked(t *testing.T, r snykReq) (*apptest.Response, error) {
	t.Helper()
	return c.roundTrip(t, r.build(t, c.f.srv.URL))
}

// do sends r, which is valid by the document, and validates the response.
func (c *snykClient) do(t *testing.T, r snykReq) *apptest.Response {
	t.Helper()
	resp, reqErr := c.doChecked(t, r)
	if reqErr != nil {
		t.Errorf("request %s %s is invalid by the document: %v", r.Method, r.Path, reqErr)
	}
	return resp
}

// expectError sends r and checks an error document with status.
func (c *snykClient) expectError(t *testing.T, r snykReq, status int) map[string]any {
	t.Helper()
	resp, _ := c.doChecked(t, r)
	if resp.Status != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.Path, resp.Status, status, resp.Body)
	}
	doc := resp.JSON(t)
	if doc["jsonapi"].(map[string]any)["version"] != "1.0" || len(doc["errors"].([]any)) == 0 {
		t.Fatalf("error document %s", resp.Body)
	}
	for _, e := range doc["errors"].([]any) {
		if d, _ := e.(map[string]any)["detail"].(string); d == "" {
			t.Fatalf("error without detail: %s", resp.Body)
		}
	}
	return doc
}

func (c *snykClient) listPath(query string) string {
	p := "/rest/orgs/" + c.f.org + "/invites?version=" + snykVersion
	if query != "" {
		p += "&" + query
	}
	return p
}

func (c *snykClient) invitePath(id string) string {
	return "/rest/orgs/" + c.f.org + "/invites/" + id + "?version=" + snykVersion
}

func snykBody(email, role string) string {
	return fmt.Sprintf(`{"data":{"type":"org_invitation","attributes":{"email":%q,"role":%q}}}`, email, role)
}

// create invites email with a role id and checks the 201 document.
func (c *snykClient) create(t *testing.T, key, email, roleID string) string {
	t.Helper()
	resp := c.do(t, snykReq{Method: "POST", Path: c.listPath(""), Auth: "token " + key, Body: snykBody(email, roleID)})
	if resp.Status != 201 {
		t.Fatalf("create %s: %d %s", email, resp.Status, resp.Body)
	}
	doc := resp.JSON(t)
	data := doc["data"].(map[string]any)
	attrs := data["attributes"].(map[string]any)
	id, _ := data["id"].(string)
	if data["type"] != "org_invitation" || attrs["email"] != email || attrs["role"] != roleID || attrs["is_active"] != true || !uuidRe.MatchString(id) {
		t.Fatalf("created %s", resp.Body)
	}
	self := "/rest/orgs/" + c.f.org + "/invites/" + id
	if resp.Header.Get("Location") != self || doc["links"].(map[string]any)["self"] != self {
		t.Errorf("Location %q, links %v, want %s", resp.Header.Get("Location"), doc["links"], self)
	}
	org := data["relationships"].(map[string]any)["org"].(map[string]any)["data"].(map[string]any)
	if org["id"] != c.f.org || org["type"] != "org" {
		t.Errorf("relationships %v", data["relationships"])
	}
	return id
}

// list lists with query and returns the document's data.
func (c *snykClient) list(t *testing.T, key, query string) []map[string]any {
	t.Helper()
	data, _ := c.listPage(t, key, c.listPath(query))
	return data
}

func (c *snykClient) listPage(t *testing.T, key, path string) ([]map[string]any, map[string]any) {
	t.Helper()
	resp := c.do(t, snykReq{Method: "GET", Path: path, Auth: "token " + key})
	if resp.Status != 200 {
		t.Fatalf("list: %d %s", resp.Status, resp.Body)
	}
	doc := resp.JSON(t)
	var out []map[string]any
	for _, it := range doc["data"].([]any) {
		m := it.(map[string]any)
		if m["type"] != "org_invitation" || m["attributes"].(map[string]any)["is_active"] != true {
			t.Fatalf("listed %v", m)
		}
		out = append(out, m)
	}
	return out, doc["links"].(map[string]any)
}

func (c *snykClient) mustDelete(t *testing.T, key, id string) {
	t.Helper()
	resp := c.do(t, snykReq{Method: "DELETE", Path: c.invitePath(id), Auth: "token " + key})
	if resp.Status != 204 || len(resp.Body) != 0 {
		t.Fatalf("delete %s: %d %s", id, resp.Status, resp.Body)
	}
}

func snykIDs(l []map[string]any) []string {
	out := []string{}
	for _, it := range l {
		out = append(out, it["id"].(string))
	}
	return out
}

func snykRoles(l []map[string]any) map[string]string {
	out := map[string]string{}
	for _, it := range l {
		out[it["id"].(string)] = it["attributes"].(map[string]any)["role"].(string)
	}
	return out
}

// Requests in the form of Snyk's REST documentation ("Authorization: token
// API_TOKEN", JSON:API bodies); the tests swap host, key and ids.
const (
	snykCurlCreate = `curl -X POST \
  'https://api.snyk.io/rest/orgs/ORG_ID/invites?version=2024-06-21' \
  -H 'Authorization: token API_TOKEN' \
  -H 'Content-Type: application/vnd.api+json' \
  -d '{"data":{"type":"org_invitation","attributes":{"email":"new.user@example.com","role":"ROLE_ID"}}}'`
	snykCurlList = `curl -X GET \
  'https://api.snyk.io/rest/orgs/ORG_ID/invites?version=2024-06-21&limit=10' \
  -H 'Authorization: token API_TOKEN'`
	snykCurlDelete = `curl -X DELETE \
  'https://api.snyk.io/rest/orgs/ORG_ID/invites/INVITE_ID?version=2024-06-21' \
  -H 'Authorization: Bearer API_TOKEN'`
)

func TestSnykCurlExamples(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		// A client finds the role's id among the roles.
		roles := f.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/roles", Token: f.key})
		roleID := ""
		for _, r := range roles["data"].([]any) {
			if r.(map[string]any)["name"] == "developer" {
				roleID = r.(map[string]any)["id"].(string)
			}
		}
		if roleID != gatehouse.RoleDeveloperID {
			t.Fatalf("GET /v1/roles: developer is %q, want the stable %s", roleID, gatehouse.RoleDeveloperID)
		}
		swap := []string{"https://api.snyk.io", f.srv.URL, "API_TOKEN", f.key, "ORG_ID", f.org, "ROLE_ID", roleID}
		curl := func(cmd string, more ...string) func() *http.Request {
			return func() *http.Request { return curlRequest(t, cmd, append(swap, more...)...) }
		}
		var id string
		t.Run("OK/Create", func(t *testing.T) {
			resp, reqErr := c.roundTrip(t, curl(snykCurlCreate))
			if reqErr != nil || resp.Status != 201 {
				t.Fatalf("%v %d %s", reqErr, resp.Status, resp.Body)
			}
			if resp.Header.Get("snyk-version-served") != "2024-06-21" || resp.Header.Get("snyk-version-lifecycle-stage") != "ga" {
				t.Errorf("version headers %v", resp.Header)
			}
			data := resp.JSON(t)["data"].(map[string]any)
			id = data["id"].(string)
			if data["attributes"].(map[string]any)["role"] != roleID {
				t.Errorf("role %v", data)
			}
		})
		t.Run("OK/List", func(t *testing.T) {
			resp, reqErr := c.roundTrip(t, curl(snykCurlList))
			if reqErr != nil || resp.Status != 200 {
				t.Fatalf("%v %d %s", reqErr, resp.Status, resp.Body)
			}
			if resp.Header.Get("snyk-version-served") != "2022-11-14" {
				t.Errorf("served %q", resp.Header.Get("snyk-version-served"))
			}
			doc := resp.JSON(t)
			data := doc["data"].([]any)
			if len(data) != 1 {
				t.Fatalf("data %v", data)
			}
			it := data[0].(map[string]any)
			attrs := it["attributes"].(map[string]any)
			if it["id"] != id || attrs["role"] != "developer" || attrs["email"] != "new.user@example.com" || attrs["is_active"] != true {
				t.Errorf("listed %v", it)
			}
			links := doc["links"].(map[string]any)
			if _, ok := links["self"]; !ok || links["next"] != nil || links["prev"] != nil {
				t.Errorf("links %v", links)
			}
		})
		t.Run("OK/Delete", func(t *testing.T) {
			resp, reqErr := c.roundTrip(t, curl(snykCurlDelete, "INVITE_ID", id))
			if reqErr != nil || resp.Status != 204 || len(resp.Body) != 0 {
				t.Fatalf("%v %d %s", reqErr, resp.Status, resp.Body)
			}
			if st := f.native(t, id)["status"]; st != "revoked" {
				t.Errorf("status %v", st)
			}
		})
		t.Run("ErrDeleteAgain", func(t *testing.T) {
			resp, _ := c.roundTrip(t, curl(snykCurlDelete, "INVITE_ID", id))
			if resp.Status != 404 {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	})
}

func TestSnykCreate(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		custom := f.srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: f.owner, Header: apptest.OrgHeader(f.org),
			Body: map[string]any{"name": "reviewer", "description": "Reads analytics.", "permissions": []map[string]any{{
				"entity_type": "projects", "entity_id": "*", "name": "custom", "action": "",
				"permission": []map[string]any{{"name": "analytics", "action": "read"}}}}}})["id"].(string)

		t.Run("OK/Roles", func(t *testing.T) {
			want := map[string]string{}
			for i, r := range []struct{ id, name string }{
				{gatehouse.RoleViewerID, "viewer"}, {gatehouse.RoleUploaderID, "uploader"}, {gatehouse.RoleAdminID, "admin"},
				{gatehouse.RoleOwnerID, "owner"}, {gatehouse.RoleBillingID, "billing"}, {gatehouse.RoleDeveloperID, "developer"},
				{custom, "reviewer"},
			} {
				id := c.create(t, f.key, fmt.Sprintf("r%d@example.com", i), r.id)
				want[id] = r.name
				if n := f.native(t, id); n["role"].(map[string]any)["id"] != r.id || n["status"] != "pending" {
					t.Errorf("%s: native %v", r.name, n)
				}
			}
			if got := snykRoles(c.list(t, f.key, "limit=100")); !sameMap(got, want) {
				t.Errorf("list roles %v, want %v", got, want)
			}
		})
		t.Run("OK/AuthSchemes", func(t *testing.T) {
			for i, auth := range []string{"token " + f.key, "Token " + f.key, "TOKEN " + f.key, "Bearer " + f.key, "bearer " + f.key, "Bearer " + f.owner} {
				resp := c.do(t, snykReq{Method: "POST", Path: c.listPath(""), Auth: auth, Body: snykBody(fmt.Sprintf("s%d@example.com", i), gatehouse.RoleViewerID)})
				if resp.Status != 201 {
					t.Errorf("%s…: %d %s", auth[:6], resp.Status, resp.Body)
				}
			}
		})
		t.Run("OK/PlainJSON", func(t *testing.T) {
			resp, _ := c.doChecked(t, snykReq{Method: "POST", Path: c.listPath(""), Auth: "token " + f.key, ContentType: "application/json",
				Body: snykBody("plain@example.com", gatehouse.RoleViewerID)})
			if resp.Status != 201 {
				t.Errorf("%d %s", resp.Status, resp.Body)
			}
		})

		c.create(t, f.key, "dup@example.com", gatehouse.RoleViewerID)
		readKey := f.newKey(t, orgGrant(f.org, gatehouse.OrgMembers, "read"))
		adminKey := f.newKey(t, adminGrants(f.org)...)
		otherOrgRole := "0190a6f2-0000-7000-8000-000000000001"
		for _, tc := range []struct {
			name        string
			path        string // "" for the list path
			auth        string
			body        string
			contentType string
			status      int
			pointer     string // source.pointer or source.parameter named
			specInvalid bool   // the document itself rejects the request
		}{
			{name: "ErrNoVersion", path: "/rest/orgs/" + f.org + "/invites", status: 400, pointer: "version", specInvalid: true},
			{name: "ErrBadVersion", path: "/rest/orgs/" + f.org + "/invites?version=2024-6-21", status: 400, pointer: "version", specInvalid: true},
			{name: "ErrVersionWord", path: "/rest/orgs/" + f.org + "/invites?version=latest", status: 400, pointer: "version", specInvalid: true},
			{name: "ErrOrgNotUUID", path: "/rest/orgs/acme/invites?version=" + snykVersion, status: 400, pointer: "org_id", specInvalid: true},
			{name: "ErrNoBody", body: "-", status: 400, pointer: "/data"},
			{name: "ErrMalformed", body: `{"data":`, status: 400},
			{name: "ErrNotJSON", body: snykBody("x@example.com", gatehouse.RoleViewerID), contentType: "text/plain", status: 400, specInvalid: true},
			{name: "ErrType", body: `{"data":{"type":"invite","attributes":{"email":"x@example.com","role":"` + gatehouse.RoleViewerID + `"}}}`, status: 400, pointer: "/data/type", specInvalid: true},
			{name: "ErrNoAttributes", body: `{"data":{"type":"org_invitation"}}`, status: 400, pointer: "/data/attributes", specInvalid: true},
			{name: "ErrNoEmail", body: `{"data":{"type":"org_invitation","attributes":{"role":"` + gatehouse.RoleViewerID + `"}}}`, status: 400, pointer: "/data/attributes/email", specInvalid: true},
			{name: "ErrNoRole", body: `{"data":{"type":"org_invitation","attributes":{"email":"x@example.com"}}}`, status: 400, pointer: "/data/attributes/role", specInvalid: true},
			{name: "ErrBadEmail", body: snykBody("not-an-email", gatehouse.RoleViewerID), status: 400, pointer: "/data/attributes/email"},
			{name: "ErrRoleName", body: snykBody("x@example.com", "viewer"), status: 400, pointer: "/data/attributes/role", specInvalid: true},
			{name: "ErrUnknownRole", body: snykBody("x@example.com", otherOrgRole), status: 400, pointer: "/data/attributes/role"},
			{name: "ErrID", body: `{"data":{"type":"org_invitation","id":"` + otherOrgRole + `","attributes":{"email":"x@example.com","role":"` + gatehouse.RoleViewerID + `"}}}`, status: 400, specInvalid: true},
			{name: "ErrExtraTopLevel", body: `{"data":{"type":"org_invitation","attributes":{"email":"x@example.com","role":"` + gatehouse.RoleViewerID + `"}},"meta":{}}`, status: 400, specInvalid: true},
			{name: "ErrPending", body: snykBody("dup@example.com", gatehouse.RoleViewerID), status: 400},
			{name: "ErrAlreadyMember", body: snykBody("olive@example.com", gatehouse.RoleViewerID), status: 400},
			{name: "ErrNoAuth", auth: "-", status: 401, specInvalid: true},
			{name: "ErrBasicAuth", auth: "Basic " + f.key, status: 401, specInvalid: true},
			{name: "ErrBadKey", auth: "token gh_key_nope", status: 401},
			{name: "ErrReadOnlyKey", auth: "token " + readKey, status: 403},
			{name: "ErrEscalation", auth: "token " + adminKey, body: snykBody("x@example.com", gatehouse.RoleOwnerID), status: 403},
			{name: "ErrUnknownOrg", path: "/rest/orgs/0190a6f2-0000-7000-8000-000000000002/invites?version=" + snykVersion, status: 404},
			{name: "ErrVersionTooOld", path: "/rest/orgs/" + f.org + "/invites?version=2021-06-04", status: 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := snykReq{Method: "POST", Path: tc.path, Auth: tc.auth, Body: tc.body, ContentType: tc.contentType}
				if r.Path == "" {
					r.Path = c.listPath("")
				}
				switch r.Auth {
				case "":
					r.Auth = "token " + f.key
				case "-":
					r.Auth = ""
				}
				switch r.Body {
				case "":
					r.Body = snykBody("x@example.com", gatehouse.RoleViewerID)
				case "-":
					r.Body = ""
				}
				resp, reqErr := c.doChecked(t, r)
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
				}
				if tc.specInvalid && reqErr == nil {
					t.Errorf("the document accepts this request")
				}
				if tc.pointer != "" && !snykNames(resp.JSON(t), tc.pointer) {
					t.Errorf("no error names %s: %s", tc.pointer, resp.Body)
				}
			})
		}
		t.Run("ErrPendingNamesExisting", func(t *testing.T) {
			doc := c.expectError(t, snykReq{Method: "POST", Path: c.listPath(""), Auth: "token " + f.key, Body: snykBody("dup@example.com", gatehouse.RoleViewerID)}, 400)
			meta, _ := doc["errors"].([]any)[0].(map[string]any)["meta"].(map[string]any)
			if id, _ := meta["existing_id"].(string); !uuidRe.MatchString(id) {
				t.Errorf("meta %v", meta)
			}
		})
		t.Run("OK/NothingCreatedByErrors", func(t *testing.T) {
			if ids := f.nativeIDs(t, ""); len(ids) != 7+6+1+1 {
				t.Errorf("%d invitations, want 15", len(ids))
			}
		})
	})
}

// snykNames reports whether an error's source names p (a pointer or a
// query parameter).
func snykNames(doc map[string]any, p string) bool {
	for _, e := range doc["errors"].([]any) {
		src, _ := e.(map[string]any)["source"].(map[string]any)
		if src["pointer"] == p || src["parameter"] == p {
			return true
		}
	}
	return false
}

func TestSnykVersion(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		id := c.create(t, f.key, "v@example.com", gatehouse.RoleViewerID)
		for _, tc := range []struct {
			name, method, version string
			status                int
			served                string
		}{
			{"OK/ListExact", "GET", "2022-11-14", 200, "2022-11-14"},
			{"OK/ListLater", "GET", "2025-11-05", 200, "2022-11-14"},
			{"OK/ListBeta", "GET", "2024-01-01~beta", 200, "2022-11-14"},
			{"OK/ListStageWord", "GET", "experimental", 200, "2022-11-14"},
			{"OK/CreateFirst", "POST", "2022-06-01", 201, "2022-06-01"},
			{"OK/CreateMiddle", "POST", "2024-06-20", 201, "2023-04-28"},
			{"OK/CreateNewest", "POST", "2026-01-01~wip", 201, "2024-06-21"},
			{"ErrListTooOld", "GET", "2022-11-13", 404, ""},
			{"ErrCreateTooOld", "POST", "2022-05-31", 404, ""},
			{"ErrDeleteTooOld", "DELETE", "2021-06-04", 404, ""},
			{"ErrMonth", "GET", "2024-1-01", 400, ""},
			{"ErrDay", "GET", "2024-01-32", 400, ""},
			{"ErrSuffix", "GET", "2024-01-01~ga", 400, ""},
			{"ErrEmpty", "GET", "", 400, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := "/rest/orgs/" + f.org + "/invites"
				body := ""
				switch tc.method {
				case "DELETE":
					path += "/" + id
				case "POST":
					body = snykBody(strings.ReplaceAll(tc.name, "/", "")+"@example.com", gatehouse.RoleViewerID)
				}
				resp, reqErr := c.doChecked(t, snykReq{Method: tc.method, Path: path + "?version=" + url.QueryEscape(tc.version), Auth: "token " + f.key, Body: body})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
				}
				if got := resp.Header.Get("snyk-version-served"); got != tc.served {
					t.Errorf("served %q, want %q", got, tc.served)
				}
				if tc.status == 400 {
					if reqErr == nil {
						t.Errorf("the document accepts version %q", tc.version)
					}
					if !snykNames(resp.JSON(t), "version") {
						t.Errorf("error does not name version: %s", resp.Body)
					}
				} else if got := resp.Header.Get("snyk-version-requested"); got != tc.version {
					t.Errorf("requested %q, want %q", got, tc.version)
				}
			})
		}
	})
}
