package compat_test

// Helpers shared by the Vidbeo and Snyk dialect tests (an organization with
// an owner and API keys, a small curl runner for the pages' examples, the
// native view of an invitation) and the tests that hold both dialects and
// the native API to one set of invitations.

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// fixture is a running Gatehouse with one organization, its owner and an
// owner-level API key.
type fixture struct {
	srv     *apptest.Server
	owner   string // the owner's access token
	ownerID string
	org     string
	key     string // an API key holding organizations owner
}

func newFixture(t *testing.T, e storetest.Engine) *fixture {
	t.Helper()
	srv := apptest.New(t, e)
	token, user := srv.Signup("Olive Owner", "olive@example.com")
	org := srv.CreateOrg(token, "Acme Video")
	srv.AddSSOConnection(token, org, "example.com") // for authentication: sso invitations
	f := &fixture{srv: srv, owner: token, ownerID: user["id"].(string), org: org}
	f.key = f.newKey(t, orgGrant(org, gatehouse.OrgOwner, ""))
	return f
}

// newKey creates an API key of the organization holding grants and returns
// its secret.
func (f *fixture) newKey(t *testing.T, grants ...map[string]any) string {
	t.Helper()
	out := f.srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: f.owner, Header: apptest.OrgHeader(f.org),
		Body: map[string]any{"name": "ci", "permissions": grants}})
	s, _ := out["secret"].(string)
	if s == "" {
		t.Fatalf("no secret in %v", out)
	}
	return s
}

func orgGrant(org, name, action string) map[string]any {
	return map[string]any{"entity_type": "organizations", "entity_id": org, "name": name, "action": action}
}

// adminGrants are the built-in admin role's rights as a key's grants: all
// but owner.
func adminGrants(org string) []map[string]any {
	return []map[string]any{
		orgGrant(org, gatehouse.OrgMembers, ""), orgGrant(org, gatehouse.OrgSettings, ""),
		orgGrant(org, gatehouse.OrgAPI, ""), orgGrant(org, gatehouse.OrgAudit, ""),
		{"entity_type": "projects", "entity_id": "*", "name": "full-access", "action": ""},
	}
}

// native returns an invitation as the native API shows it.
func (f *fixture) native(t *testing.T, id string) map[string]any {
	t.Helper()
	return f.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/invitations/" + id, Token: f.owner, Header: apptest.OrgHeader(f.org)})
}

// nativeIDs lists the ids of the organization's invitations with a status
// ("" for all) through the native API.
func (f *fixture) nativeIDs(t *testing.T, status string) map[string]bool {
	t.Helper()
	path := "/v1/members/invitations?limit=100"
	if status != "" {
		path += "&status=" + status
	}
	out := f.srv.Must(200, apptest.Req{Method: "GET", Path: path, Token: f.owner, Header: apptest.OrgHeader(f.org)})
	ids := map[string]bool{}
	for _, it := range out["data"].([]any) {
		ids[it.(map[string]any)["id"].(string)] = true
	}
	return ids
}

// accept accepts the newest invitation mailed to email as a new account
// through the native flow and returns the new user's id.
func (f *fixture) accept(t *testing.T, email, name string) string {
	t.Helper()
	out := f.srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + f.srv.LastInvitationToken(email) + "/accept",
		Body: map[string]string{"name": name, "password": apptest.TestPassword}})
	return out["user"].(map[string]any)["id"].(string)
}

// send sends a prepared request to the test server and reads the answer.
func send(t *testing.T, srv *apptest.Server, req *http.Request) *apptest.Response {
	t.Helper()
	resp, err := srv.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// curlRequest turns a documented curl command into a request, after
// replacing each key of swap (the vendor's host, the key placeholder, ...)
// in the command's text.
func curlRequest(t *testing.T, cmd string, swap ...string) *http.Request {
	t.Helper()
	words, err := shellWords(strings.NewReplacer(swap...).Replace(cmd))
	if err != nil {
		t.Fatalf("%v in %s", err, cmd)
	}
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("not a curl command: %s", cmd)
	}
	var (
		method, target string
		header         = http.Header{}
		data           *string
	)
	for i := 1; i < len(words); i++ {
		w := words[i]
		arg := func() string {
			if i+1 >= len(words) {
				t.Fatalf("%s needs a value in %s", w, cmd)
			}
			i++
			return words[i]
		}
		switch w {
		case "-H", "--header":
			k, v, ok := strings.Cut(arg(), ":")
			if !ok {
				t.Fatalf("bad header in %s", cmd)
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-X", "--request":
			method = arg()
		case "-d", "--data", "--data-raw":
			d := arg()
			data = &d
		case "-g", "--globoff", "-s", "--silent":
		default:
			if strings.HasPrefix(w, "-") || target != "" {
				t.Fatalf("unsupported curl argument %q in %s", w, cmd)
			}
			target = w
		}
	}
	var body io.Reader
	if data != nil {
		body = strings.NewReader(*data)
		if method == "" {
			method = http.MethodPost
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's default
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return req
}

// shellWords splits a POSIX shell command line: quotes, backslash escapes
// and line continuations.
func shellWords(s string) ([]string, error) {
	var (
		out  []string
		cur  strings.Builder
		word bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			word = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			word = true
		case c == '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			word = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if word {
				out = append(out, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteByte(c)
			word = true
		}
	}
	if word {
		out = append(out, cur.String())
	}
	return out, nil
}

// sharedFile returns the path of a file in ../shared beside the repository
// (found by walking up to go.mod), or "" when it is absent.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// TestShellWords checks the curl runner's tokenizer on the forms the pages use.
func TestShellWords(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		got, err := shellWords("curl \\\n-g \\\n-H \"Authorization: Bearer K\"  \\\n-d '{\"a\": \"b c\"}' \"https://x/y\"")
		want := []string{"curl", "-g", "-H", "Authorization: Bearer K", "-d", `{"a": "b c"}`, "https://x/y"}
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	})
	t.Run("ErrUnterminated", func(t *testing.T) {
		for _, s := range []string{`curl "abc`, `curl 'abc`} {
			if _, err := shellWords(s); err == nil {
				t.Errorf("%s: no error", s)
			}
		}
	})
}

// TestDialectsShareInvitations: one set of invitations, whichever API made
// it, lists it, revokes it or accepts it.
func TestDialectsShareInvitations(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		sn := newSnykClient(t, f)

		// A: Vidbeo, B: Snyk, C: native with a role, D: native with grants only.
		a := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{
			"name": "Ada Admin", "email": "ada@example.com", "role": "admin", "authentication": "password"})["result"].(map[string]any)["id"].(string)
		f.srv.Clock.Advance(time.Second)
		b := sn.create(t, f.key, "bob@example.com", gatehouse.RoleViewerID)
		f.srv.Clock.Advance(time.Second)
		c := f.srv.Invite(f.owner, f.org, map[string]any{"email": "cy@example.com", "name": "Cy Dev", "role": "developer"})["id"].(string)
		f.srv.Clock.Advance(time.Second)
		d := f.srv.Invite(f.owner, f.org, map[string]any{"email": "di@example.com", "permissions": []map[string]any{orgGrant(f.org, gatehouse.OrgBilling, "read")}})["id"].(string)
		roles := map[string]string{a: "admin", b: "viewer", c: "developer", d: "custom"}

		t.Run("OK/SameInvitationsEverywhere", func(t *testing.T) {
			native := f.nativeIDs(t, "")
			for id := range roles {
				if !native[id] {
					t.Errorf("native list lacks %s", id)
				}
			}
			vl := vidbeoList(t, f, f.key, "")
			if got := vidbeoRoles(vl); !sameMap(got, roles) {
				t.Errorf("Vidbeo roles = %v, want %v", got, roles)
			}
			for _, it := range vl {
				if it["status"] != "pending" {
					t.Errorf("Vidbeo status %v", it)
				}
			}
			sl := sn.list(t, f.key, "")
			if got := snykRoles(sl); !sameMap(got, roles) {
				t.Errorf("Snyk roles = %v, want %v", got, roles)
			}
			// Newest first in both dialects.
			want := []string{d, c, b, a}
			if got := vidbeoIDs(vl); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Vidbeo order %v, want %v", got, want)
			}
			if got := snykIDs(sl); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Snyk order %v, want %v", got, want)
			}
			// What a dialect created is the native invitation.
			if n := f.native(t, a); n["name"] != "Ada Admin" || n["role"].(map[string]any)["id"] != gatehouse.RoleAdminID || n["authentication"] != "password" {
				t.Errorf("native view of the Vidbeo invite: %v", n)
			}
			if n := f.native(t, b); n["role"].(map[string]any)["id"] != gatehouse.RoleViewerID || n["email"] != "bob@example.com" {
				t.Errorf("native view of the Snyk invite: %v", n)
			}
			if ev := f.srv.AuditFor(f.org, "invitation.created", a); ev == nil {
				t.Errorf("no invitation.created audit for the Vidbeo invite")
			}
		})

		t.Run("OK/RevokedInTheOtherDialect", func(t *testing.T) {
			sn.mustDelete(t, f.key, a) // made in Vidbeo, revoked in Snyk
			vidbeoMust(t, f, 200, "DELETE", "/v2/invites/"+b, f.key, nil)
			for _, id := range []string{a, b} {
				if st := f.native(t, id)["status"]; st != "revoked" {
					t.Errorf("%s native status %v, want revoked", id, st)
				}
			}
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, a) || contains(ids, b) {
				t.Errorf("Vidbeo still lists a revoked invite: %v", ids)
			}
			if ids := snykIDs(sn.list(t, f.key, "")); contains(ids, a) || contains(ids, b) {
				t.Errorf("Snyk still lists a revoked invite: %v", ids)
			}
			// Their links are dead: 410.
			for _, email := range []string{"ada@example.com", "bob@example.com"} {
				resp := f.srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + f.srv.LastInvitationToken(email)})
				if resp.Status != 410 {
					t.Errorf("link to %s: %d, want 410", email, resp.Status)
				}
			}
			if f.srv.AuditFor(f.org, "invitation.revoked", a) == nil || f.srv.AuditFor(f.org, "invitation.revoked", b) == nil {
				t.Errorf("revocations not audited")
			}
		})

		t.Run("OK/AcceptedNatively", func(t *testing.T) {
			uid := f.accept(t, "cy@example.com", "Cy Dev")
			if ids := snykIDs(sn.list(t, f.key, "")); contains(ids, c) {
				t.Errorf("Snyk lists an accepted invite: %v", ids)
			}
			var got map[string]any
			for _, it := range vidbeoList(t, f, f.key, "") {
				if it["id"] == c {
					got = it
				}
			}
			if got == nil || got["status"] != "accepted" || got["updated_by"] != uid || got["created_by"] != f.ownerID {
				t.Fatalf("Vidbeo view of the accepted invite: %v", got)
			}
			// Snyk only knows pending invites; Vidbeo's DELETE dismisses it.
			sn.expectError(t, snykReq{Method: "DELETE", Path: sn.invitePath(c), Auth: "token " + f.key}, 404)
			vidbeoMust(t, f, 200, "DELETE", "/v2/invites/"+c, f.key, nil)
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, c) {
				t.Errorf("Vidbeo still lists the dismissed invite: %v", ids)
			}
			if st := f.native(t, c)["status"]; st != "accepted" {
				t.Errorf("native status after dismissal %v, want accepted", st)
			}
			m := f.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + uid, Token: f.owner, Header: apptest.OrgHeader(f.org)})
			if m["role"].(map[string]any)["id"] != gatehouse.RoleDeveloperID {
				t.Errorf("membership after dismissal: %v", m)
			}
			vidbeoError(t, f, 404, "DELETE", "/v2/invites/"+c, f.key, nil, "")
		})

		t.Run("OK/PendingLeftUntouched", func(t *testing.T) {
			if st := f.native(t, d)["status"]; st != "pending" {
				t.Errorf("D is %v", st)
			}
			if ids := snykIDs(sn.list(t, f.key, "")); strings.Join(ids, ",") != d {
				t.Errorf("Snyk list %v, want only %s", ids, d)
			}
		})
	})
}

// TestDialectsOtherOrganization: a key of another organization sees none of
// this one's invitations and gets 404 for their ids, in both dialects.
func TestDialectsOtherOrganization(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		sn := newSnykClient(t, f)
		id := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{
			"name": "Vic Viewer", "email": "vic@example.com", "role": "viewer", "authentication": "sso"})["result"].(map[string]any)["id"].(string)

		// A second organization of another owner, with its own owner key.
		token2, _ := f.srv.Signup("Otto Other", "otto@example.com")
		org2 := f.srv.CreateOrg(token2, "Other Org")
		out := f.srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: token2, Header: apptest.OrgHeader(org2),
			Body: map[string]any{"name": "ci", "permissions": []map[string]any{orgGrant(org2, gatehouse.OrgOwner, "")}}})
		key2 := out["secret"].(string)

		t.Run("OK/OwnListIsEmpty", func(t *testing.T) {
			if l := vidbeoList(t, f, key2, ""); len(l) != 0 {
				t.Errorf("other org's Vidbeo list: %v", l)
			}
			sl := sn.do(t, snykReq{Method: "GET", Path: "/rest/orgs/" + org2 + "/invites?version=2024-06-21", Auth: "token " + key2})
			if sl.Status != 200 || len(sl.JSON(t)["data"].([]any)) != 0 {
				t.Errorf("other org's Snyk list: %d %s", sl.Status, sl.Body)
			}
		})
		for _, tc := range []struct {
			name string
			run  func(t *testing.T)
		}{
			{"ErrVidbeoDelete", func(t *testing.T) { vidbeoError(t, f, 404, "DELETE", "/v2/invites/"+id, key2, nil, "") }},
			{"ErrSnykList", func(t *testing.T) {
				sn.expectError(t, snykReq{Method: "GET", Path: sn.listPath(""), Auth: "token " + key2}, 404)
			}},
			{"ErrSnykCreate", func(t *testing.T) {
				sn.expectError(t, snykReq{Method: "POST", Path: sn.listPath(""), Auth: "token " + key2,
					Body: snykBody("new@example.com", gatehouse.RoleViewerID)}, 404)
			}},
			{"ErrSnykDelete", func(t *testing.T) {
				sn.expectError(t, snykReq{Method: "DELETE", Path: sn.invitePath(id), Auth: "Bearer " + key2}, 404)
			}},
			{"ErrSnykDeleteInOwnOrg", func(t *testing.T) {
				sn.expectError(t, snykReq{Method: "DELETE", Path: "/rest/orgs/" + org2 + "/invites/" + id + "?version=2024-06-21", Auth: "token " + key2}, 404)
			}},
			{"ErrSnykOtherOrgUser", func(t *testing.T) {
				// The other org's owner, as a user, is not a member here.
				sn.expectError(t, snykReq{Method: "GET", Path: sn.listPath(""), Auth: "Bearer " + token2}, 404)
			}},
		} {
			t.Run(tc.name, tc.run)
		}
		t.Run("OK/Untouched", func(t *testing.T) {
			if st := f.native(t, id)["status"]; st != "pending" {
				t.Errorf("status %v after the other org's attempts", st)
			}
		})
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
