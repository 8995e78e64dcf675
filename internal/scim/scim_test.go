package scim_test

// These tests drive /scim/v2 as an identity provider would: raw HTTP and
// JSON literals written the way Entra ID and Okta send them, sharing no code
// with the package under test.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// idp is a SCIM client: a base URL and a bearer token.
type idp struct {
	t     testing.TB
	base  string
	token string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c idp) do(method, path, body string, header ...string) answer {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+"/scim/v2"+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/scim+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
		}
	}
	return a
}

// must fails unless the status is want.
func (c idp) must(want int, method, path, body string) map[string]any {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.raw)
	}
	if want != 204 && !strings.HasPrefix(a.header.Get("Content-Type"), "application/scim+json") {
		c.t.Fatalf("%s %s: content type %q", method, path, a.header.Get("Content-Type"))
	}
	return a.body
}

// scimError fails unless the answer is SCIM's error shape with status and scimType.
func scimError(t testing.TB, a answer, status int, scimType string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	schemas, _ := a.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("not a SCIM error: %s", a.raw)
	}
	if a.body["status"] != fmt.Sprint(status) {
		t.Fatalf("status member %v, want %q: %s", a.body["status"], fmt.Sprint(status), a.raw)
	}
	if got, _ := a.body["scimType"].(string); got != scimType {
		t.Fatalf("scimType %q, want %q: %s", got, scimType, a.raw)
	}
	if d, _ := a.body["detail"].(string); d == "" {
		t.Fatalf("no detail: %s", a.raw)
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/scim+json") {
		t.Fatalf("content type %q", a.header.Get("Content-Type"))
	}
}

// org is an organization with an owner and a SCIM token.
type org struct {
	id    string
	owner *apptest.AuthTokens
	token string
	tokID string
}

func newOrg(t testing.TB, s *apptest.Server, email string) org {
	t.Helper()
	owner := s.SignUpTokens("Owner", email, "")
	id := s.CreateOrg(owner.Access, "Org of "+email)
	out := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations/" + id + "/scim-tokens", Token: owner.Access, Body: map[string]string{"name": "Entra ID"}})
	return org{id: id, owner: owner, token: out["token"].(string), tokID: out["id"].(string)}
}

func total(t testing.TB, list map[string]any) int {
	t.Helper()
	n, ok := list["totalResults"].(float64)
	if !ok {
		t.Fatalf("no totalResults: %v", list)
	}
	return int(n)
}

func resources(list map[string]any) []map[string]any {
	var out []map[string]any
	rs, _ := list["Resources"].([]any)
	for _, r := range rs {
		out = append(out, r.(map[string]any))
	}
	return out
}

const entraUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "%s",
  "active": true,
  "displayName": "Grace Hopper",
  "emails": [{"primary": true, "type": "work", "value": "%s"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
  "title": "Rear Admiral",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Navy"}
}`

func TestSCIMAuthAndScope(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner-a@example.com")
		b := newOrg(t, s, "owner-b@example.com")

		// No token, a wrong one, a session's token, another scheme: 401 in SCIM's shape.
		for name, c := range map[string]idp{
			"none":    {t, s.URL, ""},
			"invalid": {t, s.URL, "gh_scim_notarealtokenatall"},
			"session": {t, s.URL, a.owner.Access},
		} {
			t.Run(name, func(t *testing.T) {
				scimError(t, c.do("GET", "/Users", ""), 401, "")
				scimError(t, c.do("GET", "/ServiceProviderConfig", ""), 401, "")
			})
		}
		basic := idp{t, s.URL, ""}.do("GET", "/Users", "", "Authorization", "Basic "+a.token)
		scimError(t, basic, 401, "")

		ca, cb := idp{t, s.URL, a.token}, idp{t, s.URL, b.token}
		created := ca.must(201, "POST", "/Users", fmt.Sprintf(entraUser, "grace@a.example", "grace@a.example"))
		id := created["id"].(string)
		// Another organization's token: its user is 404, and absent from its lists.
		scimError(t, cb.do("GET", "/Users/"+id, ""), 404, "")
		scimError(t, cb.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 404, "")
		scimError(t, cb.do("DELETE", "/Users/"+id, ""), 404, "")
		scimError(t, cb.do("PUT", "/Users/"+id, fmt.Sprintf(entraUser, "grace@a.example", "grace@a.example")), 404, "")
		if n := total(t, cb.must(200, "GET", `/Users?filter=userName+eq+"grace@a.example"`, "")); n != 0 {
			t.Fatalf("another organization sees %d users", n)
		}
		scimError(t, cb.do("GET", "/Users/not-a-uuid", ""), 404, "")
		// A custom role of A is not a group of B.
		role := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: a.owner.Access, Header: apptest.OrgHeader(a.id),
			Body: map[string]any{"name": "editors", "permissions": []any{}}})
		scimError(t, cb.do("GET", "/Groups/"+role["id"].(string), ""), 404, "")
		ca.must(200, "GET", "/Groups/"+role["id"].(string), "")
		// The user is still active in A.
		if u := ca.must(200, "GET", "/Users/"+id, ""); u["active"] != true {
			t.Fatalf("user after B's attempts: %v", u)
		}

		// Tokens: members write to create; listed without the secret; another
		// organization's token id is 404; a revoked token is 401 at once.
		viewer := s.AddStoreMember(a.id, "Viewer", "viewer@a.example", "7fc5e96d-768a-429f-ac1a-3390953f3c3c", nil)
		apptest.Problem(t, s.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/scim-tokens", Token: viewer.Token}), 403)
		list := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + a.id + "/scim-tokens", Token: a.owner.Access})
		if strings.Contains(fmt.Sprint(list), a.token) || len(list["data"].([]any)) != 1 {
			t.Fatalf("token list: %v", list)
		}
		if got := list["data"].([]any)[0].(map[string]any)["scim_base_url"]; got != "http://gatehouse.test/scim/v2" {
			t.Fatalf("scim_base_url = %v", got)
		}
		apptest.Problem(t, s.Do(apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + a.id + "/scim-tokens/" + b.tokID, Token: a.owner.Access}), 404)
		s.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + a.id + "/scim-tokens/" + a.tokID, Token: a.owner.Access})
		scimError(t, ca.do("GET", "/Users", ""), 401, "")
		cb.must(200, "GET", "/Users", "") // B's still works
		if s.AuditFor(a.id, "scim_token.revoked", a.tokID) == nil || s.AuditFor(a.id, "scim_token.created", a.tokID) == nil {
			t.Fatal("token changes not audited")
		}
	})
}

func TestSCIMBadRequests(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@a.example")
		c := idp{t, s.URL, a.token}
		created := c.must(201, "POST", "/Users", fmt.Sprintf(entraUser, "grace@a.example", "grace@a.example"))
		id := created["id"].(string)
		patch := func(ops string) answer {
			return c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`)
		}

		for _, f := range []string{`userName+eq`, `userName+eq+"x"+and`, `(userName+eq+"x"`, `userName+zz+"x"`,
			`title+eq+"x"`, `userName+sw+"g"`, `name.givenName+eq+"Grace"`} {
			scimError(t, c.do("GET", "/Users?filter="+f, ""), 400, "invalidFilter")
		}
		scimError(t, c.do("GET", `/Groups?filter=title+eq+"x"`, ""), 400, "invalidFilter")
		scimError(t, c.do("GET", "/Users?startIndex=abc", ""), 400, "invalidValue")
		scimError(t, c.do("GET", "/Users?count=1e9", ""), 400, "invalidValue")

		// Duplicates: the same userName in any case, or another user's email as userName.
		scimError(t, c.do("POST", "/Users", fmt.Sprintf(entraUser, "GRACE@a.example", "other@a.example")), 409, "uniqueness")
		scimError(t, c.do("POST", "/Users", fmt.Sprintf(entraUser, "owner@a.example", "owner@a.example")), 409, "uniqueness")
		c.must(201, "POST", "/Users", fmt.Sprintf(entraUser, "ada@a.example", "ada@a.example"))
		scimError(t, c.do("PUT", "/Users/"+id, fmt.Sprintf(entraUser, "ada@a.example", "grace@a.example")), 409, "uniqueness")

		// Bodies that are not users.
		scimError(t, c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`), 400, "invalidValue")
		scimError(t, c.do("POST", "/Users", `{"userName": 42}`), 400, "invalidValue")
		scimError(t, c.do("POST", "/Users", `{"userName": "not an email"}`), 400, "invalidValue")
		scimError(t, c.do("POST", "/Users", `[1,2]`), 400, "invalidSyntax")
		scimError(t, c.do("POST", "/Users", `{"userName": "x@a.example",`), 400, "invalidSyntax")
		scimError(t, c.do("POST", "/Users", `{"userName":"x@a.example","active":"maybe"}`), 400, "invalidValue")
		scimError(t, c.do("POST", "/Users", `{"userName":"x@a.example","favoriteColor":"blue"}`), 400, "invalidPath")
		scimError(t, c.do("POST", "/Users", `{"userName":"`+strings.Repeat("x", 2<<20)+`"}`), 413, "")
		scimError(t, c.do("POST", "/Users", `{"userName":"x@a.example"}`, "Content-Type", "text/plain"), 415, "")

		// Malformed PATCH.
		scimError(t, c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`), 400, "invalidSyntax")
		scimError(t, c.do("PATCH", "/Users/"+id, `{"schemas":["urn:wrong"],"Operations":[{"op":"replace","path":"active","value":false}]}`), 400, "invalidSyntax")
		scimError(t, patch(`[]`), 400, "invalidSyntax")
		scimError(t, patch(`[{"op":"Frobnicate","path":"active","value":false}]`), 400, "invalidSyntax")
		scimError(t, patch(`[{"op":"replace","value":"not an object"}]`), 400, "invalidSyntax")
		scimError(t, patch(`[{"op":"replace","path":"active"}]`), 400, "invalidSyntax")
		scimError(t, patch(`[{"op":"replace","path":"emails[type eq","value":"x"}]`), 400, "invalidPath")
		scimError(t, patch(`[{"op":"replace","path":"favoriteColor","value":"blue"}]`), 400, "invalidPath")
		scimError(t, patch(`[{"op":"replace","path":"members[value eq \"x\"]","value":"x"}]`), 400, "invalidPath")
		scimError(t, patch(`[{"op":"remove"}]`), 400, "noTarget")
		scimError(t, patch(`[{"op":"remove","path":"userName"}]`), 400, "mutability")
		scimError(t, patch(`[{"op":"replace","path":"active","value":"sometimes"}]`), 400, "invalidValue")
		// Nothing of the refused PATCHes stuck.
		if u := c.must(200, "GET", "/Users/"+id, ""); u["active"] != true || u["userName"] != "grace@a.example" {
			t.Fatalf("after refused patches: %v", u)
		}

		// Groups: bad members, unknown users, another organization's user.
		owner := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: a.owner.Access})
		_ = owner
		viewerGroup := "/Groups/7fc5e96d-768a-429f-ac1a-3390953f3c3c"
		gpatch := func(ops string) answer {
			return c.do("PATCH", viewerGroup, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`)
		}
		scimError(t, gpatch(`[{"op":"add","path":"members","value":[{"value":"018f0000-0000-7000-8000-000000000000"}]}]`), 400, "invalidValue")
		scimError(t, gpatch(`[{"op":"add","path":"members","value":"oops"}]`), 400, "invalidValue")
		scimError(t, gpatch(`[{"op":"add","path":"members[value eq \"`+id+`\"]","value":[{"value":"`+id+`"}]}]`), 400, "invalidPath")
		scimError(t, gpatch(`[{"op":"replace","path":"displayName","value":"renamed"}]`), 400, "mutability")
		scimError(t, c.do("POST", "/Groups", `{"displayName":"new"}`), 501, "")
		scimError(t, c.do("DELETE", viewerGroup, ""), 501, "")
		scimError(t, c.do("GET", "/Groups/018f0000-0000-7000-8000-000000000000", ""), 404, "")
		scimError(t, c.do("GET", "/Groups/admin", ""), 404, "") // a name is not an id
		scimError(t, c.do("GET", "/Nope", ""), 404, "")
		scimError(t, c.do("PUT", "/ServiceProviderConfig", "{}"), 404, "")
		// The last owner stays: deactivating them, or taking owner away, is refused.
		ownerID := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: a.owner.Access})["id"].(string)
		scimError(t, c.do("PATCH", "/Users/"+ownerID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 409, "")
		scimError(t, c.do("PATCH", "/Groups/9cd7c08e-7a5f-4d6a-8a86-b28b4a538c70", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members[value eq \"`+ownerID+`\"]"}]}`), 409, "")
	})
}

var setPasswordLink = regexp.MustCompile(`/set-password\?token=([A-Za-z0-9_-]+)`)

// TestSCIMEntraID follows Entra ID's provisioning cycle: match by userName,
// create, find by externalId, update with capitalized ops and string
// booleans, disable, enable, assign to a group, delete.
func TestSCIMEntraID(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@contoso.example")
		c := idp{t, s.URL, a.token}

		// Entra's connection test and discovery.
		if n := total(t, c.must(200, "GET", `/Users?filter=userName+eq+"ec2fe1c6-1b0e-4ba5-a2cd-6c7df1e0f2d3"`, "")); n != 0 {
			t.Fatalf("probe found %d", n)
		}
		spc := c.must(200, "GET", "/ServiceProviderConfig", "")
		if spc["patch"].(map[string]any)["supported"] != true || spc["filter"].(map[string]any)["supported"] != true {
			t.Fatalf("service provider config: %v", spc)
		}
		if n := total(t, c.must(200, "GET", "/ResourceTypes", "")); n != 2 {
			t.Fatalf("resource types: %d", n)
		}
		schemas := c.must(200, "GET", "/Schemas", "")
		if !strings.Contains(fmt.Sprint(schemas), "userName") || total(t, schemas) != 2 {
			t.Fatalf("schemas: %v", schemas)
		}
		c.must(200, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")

		// Create: a new account without a password, a member with no role.
		u := c.must(201, "POST", "/Users", fmt.Sprintf(entraUser, "grace@contoso.example", "grace@contoso.example"))
		id := u["id"].(string)
		if u["active"] != true || u["externalId"] != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" || u["userName"] != "grace@contoso.example" {
			t.Fatalf("created: %v", u)
		}
		if n := u["name"].(map[string]any); n["givenName"] != "Grace" || n["familyName"] != "Hopper" {
			t.Fatalf("name: %v", n)
		}
		member := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + id, Token: a.owner.Access, Header: apptest.OrgHeader(a.id)})
		if member["role"] != nil {
			t.Fatalf("new member's role: %v", member)
		}
		// The welcome mail's link sets a password (the token works once).
		mails := s.MailTo("grace@contoso.example")
		if len(mails) != 1 {
			t.Fatalf("%d mails", len(mails))
		}
		m := setPasswordLink.FindStringSubmatch(mails[0].Text)
		if m == nil {
			t.Fatalf("no set-password link in %q", mails[0].Text)
		}
		s.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/set", Body: map[string]string{"reset_token": m[1], "password": "grace's own passphrase"}})
		apptest.Problem(t, s.Do(apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/set", Body: map[string]string{"reset_token": m[1], "password": "another passphrase x"}}), 400)
		grace := s.SignIn("grace@contoso.example", "grace's own passphrase")

		// Entra finds users by externalId, userName and email.
		for _, f := range []string{`externalId+eq+"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, `userName+eq+"Grace@Contoso.example"`,
			`emails.value+eq+"grace@contoso.example"`, `emails[value+eq+"grace@contoso.example"]`} {
			list := c.must(200, "GET", "/Users?filter="+f, "")
			if total(t, list) != 1 || resources(list)[0]["id"] != id {
				t.Fatalf("filter %s: %v", f, list)
			}
		}

		// Entra's PATCH: capitalized ops, string booleans, no-path value objects, filtered paths.
		upd := c.must(200, "PATCH", "/Users/"+id, `{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [
    {"op": "Replace", "path": "name.familyName", "value": "Murray Hopper"},
    {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "grace@contoso.example"},
    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Computing"},
    {"op": "Replace", "value": {"externalId": "ext-42", "displayName": "Grace M. Hopper", "name.givenName": "Grace B.", "emails[type eq \"work\"].value": "grace@contoso.example"}}
  ]}`)
		if upd["externalId"] != "ext-42" || upd["name"].(map[string]any)["familyName"] != "Murray Hopper" || upd["name"].(map[string]any)["givenName"] != "Grace B." {
			t.Fatalf("patched: %v", upd)
		}

		// A group: the admin role. Entra adds the member, then checks.
		groups := c.must(200, "GET", `/Groups?filter=displayName+eq+"admin"&excludedAttributes=members`, "")
		if total(t, groups) != 1 {
			t.Fatalf("admin group: %v", groups)
		}
		admin := resources(groups)[0]["id"].(string)
		c.must(200, "PATCH", "/Groups/"+admin, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"Add","path":"members","value":[{"value":"`+id+`"}]}]}`)
		check := c.must(200, "GET", `/Groups?filter=id+eq+"`+admin+`"+and+members[value+eq+"`+id+`"]&excludedAttributes=members`, "")
		if total(t, check) != 1 {
			t.Fatalf("membership check: %v", check)
		}
		member = s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + id, Token: a.owner.Access, Header: apptest.OrgHeader(a.id)})
		if r, _ := member["role"].(map[string]any); r == nil || r["name"] != "admin" {
			t.Fatalf("role after group add: %v", member)
		}
		s.Must(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/switch", Token: grace.Access})
		s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: grace.Access})
		key := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: grace.Access, Header: apptest.OrgHeader(a.id),
			Body: `{"name":"ci","permissions":[{"entity_type":"organizations","entity_id":"` + a.id + `","name":"api","action":"read","permission":[]}]}`, ContentType: "application/json"})["secret"].(string)
		s.Must(200, apptest.Req{Method: "GET", Path: "/v1/api-keys", Token: key})

		// Disable: "active": "False" ends the membership, the session acting
		// in the organization and the keys made there.
		off := c.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
		if off["active"] != false {
			t.Fatalf("disabled: %v", off)
		}
		apptest.Problem(t, s.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: grace.Access}), 401)
		apptest.Problem(t, s.Do(apptest.Req{Method: "GET", Path: "/v1/api-keys", Token: key}), 401)
		apptest.Problem(t, s.Do(apptest.Req{Method: "GET", Path: "/v1/members/" + id, Token: a.owner.Access, Header: apptest.OrgHeader(a.id)}), 404)
		if n := total(t, c.must(200, "GET", `/Users?filter=active+eq+false`, "")); n != 1 {
			t.Fatalf("inactive users: %d", n)
		}
		removed := s.AuditFor(a.id, "member.removed", id)
		if removed == nil || removed.ActorKind != "scim_token" || !strings.Contains(string(removed.Summary), `"sessions_ended":1`) {
			t.Fatalf("removal audit: %+v", removed)
		}
		// The group no longer lists them.
		if g := c.must(200, "GET", "/Groups/"+admin, ""); len(g["members"].([]any)) != 0 {
			t.Fatalf("group of a disabled user: %v", g)
		}

		// Enable: back with the admin role (no-path value object, as Entra sends).
		on := c.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"Replace","value":{"active":true}}]}`)
		if on["active"] != true {
			t.Fatalf("enabled: %v", on)
		}
		member = s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + id, Token: a.owner.Access, Header: apptest.OrgHeader(a.id)})
		if r, _ := member["role"].(map[string]any); r == nil || r["name"] != "admin" {
			t.Fatalf("role after reactivation: %v", member)
		}
		if s.AuditFor(a.id, "member.reactivated", id) == nil {
			t.Fatal("reactivation not audited")
		}

		// Delete: 204, then 404; the account stays (it may belong elsewhere).
		if got := c.do("DELETE", "/Users/"+id, ""); got.status != 204 {
			t.Fatalf("delete: %d %s", got.status, got.raw)
		}
		scimError(t, c.do("GET", "/Users/"+id, ""), 404, "")
		scimError(t, c.do("DELETE", "/Users/"+id, ""), 404, "")
		s.SignIn("grace@contoso.example", "grace's own passphrase")
	})
}

// TestSCIMOkta follows Okta's: create with an existing verified account
// (linked, not duplicated), PUT to update and deactivate, group pushes
// with replace and value-filtered removes.
func TestSCIMOkta(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@okta.example")
		c := idp{t, s.URL, a.token}
		existing := s.SignUpTokens("Linus", "linus@okta.example", "")
		linusID := existing.User["id"].(string)

		okta := `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "linus@okta.example",
  "name": {"givenName": "Linus", "familyName": "Torvalds"},
  "emails": [{"primary": true, "value": "linus@okta.example", "type": "work"}],
  "displayName": "Linus Torvalds",
  "locale": "en-US",
  "externalId": "00u1abcdEFGH",
  "groups": [],
  "password": "ignored-by-design",
  "active": %s
}`
		u := c.must(201, "POST", "/Users", fmt.Sprintf(okta, "true"))
		if u["id"] != linusID {
			t.Fatalf("linked id %v, want the existing account %s", u["id"], linusID)
		}
		if len(s.MailTo("linus@okta.example")) != 1 { // the verification code only: no welcome mail
			t.Fatalf("mails to a linked account: %d", len(s.MailTo("linus@okta.example")))
		}
		s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + linusID, Token: existing.Access, Header: apptest.OrgHeader(a.id)})

		// Paging: startIndex and count.
		for i := range 3 {
			c.must(201, "POST", "/Users", fmt.Sprintf(`{"userName":"p%d@okta.example","active":true}`, i))
		}
		seen := map[string]bool{}
		for start := 1; start <= 5; start += 2 {
			page := c.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=2", start), "")
			if total(t, page) != 5 || page["startIndex"] != float64(start) {
				t.Fatalf("page %d: %v", start, page)
			}
			for _, r := range resources(page) {
				seen[r["id"].(string)] = true
			}
		}
		if len(seen) != 5 {
			t.Fatalf("paging saw %d users", len(seen))
		}
		if len(resources(c.must(200, "GET", "/Users?count=0", ""))) != 0 {
			t.Fatal("count=0 returned resources")
		}

		// Group push: replace members, then remove one by value filter.
		viewer := "7fc5e96d-768a-429f-ac1a-3390953f3c3c"
		c.must(200, "PATCH", "/Groups/"+viewer, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"replace","value":{"id":"`+viewer+`","displayName":"viewer"}},
                {"op":"add","path":"members","value":[{"value":"`+linusID+`","display":"linus@okta.example"}]}]}`)
		g := c.must(200, "GET", "/Groups/"+viewer, "")
		if ms := g["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["value"] != linusID {
			t.Fatalf("viewer group: %v", g)
		}
		c.must(200, "PATCH", "/Groups/"+viewer, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"remove","path":"members[value eq \"`+linusID+`\"]"}]}`)
		if g := c.must(200, "GET", "/Groups/"+viewer, ""); len(g["members"].([]any)) != 0 {
			t.Fatalf("after remove: %v", g)
		}
		c.must(200, "PUT", "/Groups/"+viewer, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"viewer","members":[{"value":"`+linusID+`"}]}`)
		if s.AuditFor(a.id, "member.updated", linusID) == nil {
			t.Fatal("role change not audited")
		}

		// PUT updates and, with active false, deactivates.
		put := c.must(200, "PUT", "/Users/"+linusID, strings.Replace(fmt.Sprintf(okta, "true"), "Torvalds", "T.", 1))
		if put["name"].(map[string]any)["familyName"] != "T." {
			t.Fatalf("put: %v", put)
		}
		off := c.must(200, "PUT", "/Users/"+linusID, fmt.Sprintf(okta, "false"))
		if off["active"] != false {
			t.Fatalf("deactivated: %v", off)
		}
		apptest.Problem(t, s.Do(apptest.Req{Method: "GET", Path: "/v1/members/" + linusID, Token: existing.Access, Header: apptest.OrgHeader(a.id)}), 404)
		back := c.must(200, "PUT", "/Users/"+linusID, fmt.Sprintf(okta, "true"))
		if back["active"] != true || len(back["groups"].([]any)) != 1 {
			t.Fatalf("reactivated with the viewer role: %v", back)
		}
		// The webhook events exist like other membership changes (audit = event).
		for _, action := range []string{"member.added", "member.removed", "member.reactivated", "member.updated", "user.provisioned"} {
			if len(s.AuditEvents(a.id, action)) == 0 {
				t.Fatalf("no %s event", action)
			}
		}
	})
}

// TestSCIMDeprovisionAcrossProcesses: a session of a deprovisioned user is
// refused by a second process within a second (PostgreSQL: two processes
// on one database).
func TestSCIMDeprovisionAcrossProcesses(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		if e.Name != "postgres" {
			t.Skip("one process on SQLite")
		}
		dsn := e.NewDSN(t)
		p1 := apptest.New(t, e, apptest.Options{DSN: dsn})
		p2 := apptest.New(t, e, apptest.Options{DSN: dsn})
		a := newOrg(t, p1, "owner@multi.example")
		user := p1.SignUpTokens("Ken", "ken@multi.example", "")
		id := idp{t, p1.URL, a.token}.must(201, "POST", "/Users", `{"userName":"ken@multi.example","active":true}`)["id"].(string)
		p2.Must(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/switch", Token: user.Access})
		// Process 2 has the session cached (it would keep it 30 s without a notice).
		p2.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + id, Token: user.Access})
		p2.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: user.Access})

		idp{t, p1.URL, a.token}.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
		start := timeNow()
		for {
			r := p2.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: user.Access})
			if r.Status == 401 {
				t.Logf("refused on the second process after %v", timeNow().Sub(start))
				break
			}
			if timeNow().Sub(start) > secondLimit {
				t.Fatalf("second process still accepts the session after %v (status %d)", timeNow().Sub(start), r.Status)
			}
			sleep()
		}
	})
}
