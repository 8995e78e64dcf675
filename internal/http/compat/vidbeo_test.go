package compat_test

// Vidbeo's /v2/invites (seed 001): the page's curl examples run as written,
// the {success, result, links, errors} envelope on every answer, the invite
// fields of the page's table, cursor pages and every error.

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// The page's examples, verbatim. The page's address is obfuscated
// ("[email protected]", with a no-break space) as the site served it, so
// the tests swap it for a real one, as they swap the host and key.
const (
	vidbeoObfuscatedEmail = "[email\u00a0protected]"
	vidbeoCurlList        = "curl \\\n-H \"Authorization: Bearer YOUR-API-KEY\" \\\n\"https://api.vidbeo.com/v2/invites\""
	vidbeoCurlDelete      = "curl \\\n-H \"Authorization: Bearer YOUR-API-KEY\" \\\n-X DELETE \\\n\"https://api.vidbeo.com/v2/invites/abcde12345abcde12345a\""
	vidbeoCurlCreate      = "curl \\\n-g \\\n-H \"Authorization: Bearer YOUR-API-KEY\"  \\\n-H \"Content-Type: application/json\" \\\n-X POST \\\n" +
		"-d '{\"name\":\"John Smith\", \"email\":\"" + vidbeoObfuscatedEmail + "\", \"role\": \"admin\", \"authentication\":\"password\"}' \\\n" +
		"\"https://api.vidbeo.com/v2/invites\""
)

// vidbeoInviteFields is the page's "Response format" table.
var vidbeoInviteFields = []string{"id", "name", "email", "role", "authentication", "status", "created_by", "created_time", "updated_by", "updated_time"}

var vidbeoTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

func vidbeoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// vidbeoDo sends a Vidbeo request with key as its bearer token. body is nil,
// a raw string, or a value sent as JSON.
func vidbeoDo(t *testing.T, f *fixture, method, path, key string, body any) *apptest.Response {
	t.Helper()
	r := apptest.Req{Method: method, Path: path, Token: key, Body: body}
	if _, raw := body.(string); raw {
		r.ContentType = "application/json"
	}
	return f.srv.Do(r)
}

// vidbeoEnvelope checks that resp has status and is the envelope exactly:
// success matching the status, errors empty on success, and on failure a
// null result and links and a non-empty list of {code, message}.
func vidbeoEnvelope(t *testing.T, resp *apptest.Response, status int) map[string]any {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	env := resp.JSON(t)
	if len(env) != 4 {
		t.Fatalf("envelope keys: %v", env)
	}
	for _, k := range []string{"success", "result", "links", "errors"} {
		if _, ok := env[k]; !ok {
			t.Fatalf("envelope lacks %s: %s", k, resp.Body)
		}
	}
	errs, ok := env["errors"].([]any)
	if !ok {
		t.Fatalf("errors is not a list: %s", resp.Body)
	}
	if ok := status < 400; env["success"] != ok {
		t.Fatalf("success %v with status %d", env["success"], status)
	}
	if status < 400 {
		if len(errs) != 0 {
			t.Fatalf("errors on success: %s", resp.Body)
		}
		return env
	}
	if env["result"] != nil || env["links"] != nil || len(errs) == 0 {
		t.Fatalf("failure envelope: %s", resp.Body)
	}
	for _, e := range errs {
		m := e.(map[string]any)
		if c, _ := m["code"].(string); c == "" {
			t.Fatalf("error without code: %s", resp.Body)
		}
		if msg, _ := m["message"].(string); msg == "" {
			t.Fatalf("error without message: %s", resp.Body)
		}
	}
	return env
}

func vidbeoMust(t *testing.T, f *fixture, status int, method, path, key string, body any) map[string]any {
	t.Helper()
	return vidbeoEnvelope(t, vidbeoDo(t, f, method, path, key, body), status)
}

// vidbeoError checks a failure envelope with status and, when field is
// set, that an error names that field.
func vidbeoError(t *testing.T, f *fixture, status int, method, path, key string, body any, field string) map[string]any {
	t.Helper()
	env := vidbeoMust(t, f, status, method, path, key, body)
	if field != "" && !contains(vidbeoErrorFields(env), field) {
		t.Fatalf("errors name %v, want %q: %v", vidbeoErrorFields(env), field, env["errors"])
	}
	return env
}

func vidbeoErrorFields(env map[string]any) []string {
	var out []string
	for _, e := range env["errors"].([]any) {
		if f, _ := e.(map[string]any)["field"].(string); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkVidbeoInvite checks an invite has exactly the table's fields, all
// strings, with the page's time format and documented values.
func checkVidbeoInvite(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != len(vidbeoInviteFields) {
		t.Fatalf("invite %v: want exactly %v", v, vidbeoInviteFields)
	}
	for _, k := range vidbeoInviteFields {
		if _, ok := m[k].(string); !ok {
			t.Fatalf("invite field %s is %v", k, m[k])
		}
	}
	for _, k := range []string{"created_time", "updated_time"} {
		if !vidbeoTimeRe.MatchString(m[k].(string)) {
			t.Fatalf("%s = %v", k, m[k])
		}
	}
	if st := m["status"]; st != "pending" && st != "accepted" {
		t.Fatalf("status %v", st)
	}
	if a := m["authentication"]; a != "password" && a != "sso" {
		t.Fatalf("authentication %v", a)
	}
	return m
}

// vidbeoList lists with query (no leading "?") and checks every invite.
func vidbeoList(t *testing.T, f *fixture, key, query string) []map[string]any {
	t.Helper()
	path := "/v2/invites"
	if query != "" {
		path += "?" + query
	}
	env := vidbeoMust(t, f, 200, "GET", path, key, nil)
	var out []map[string]any
	for _, it := range env["result"].([]any) {
		out = append(out, checkVidbeoInvite(t, it))
	}
	return out
}

func vidbeoIDs(l []map[string]any) []string {
	out := []string{}
	for _, it := range l {
		out = append(out, it["id"].(string))
	}
	return out
}

func vidbeoRoles(l []map[string]any) map[string]string {
	out := map[string]string{}
	for _, it := range l {
		out[it["id"].(string)] = it["role"].(string)
	}
	return out
}

func TestVidbeoCurlExamples(t *testing.T) {
	t.Parallel()
	if p := sharedFile(t, "seeds/001_1bf9c4d97fac8c4a.txt"); p != "" {
		seed, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range []string{vidbeoCurlList, vidbeoCurlDelete, vidbeoCurlCreate} {
			if !strings.Contains(string(seed), ex) {
				t.Fatalf("example not verbatim in the seed:\n%s", ex)
			}
		}
	}
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		swap := []string{"https://api.vidbeo.com", f.srv.URL, "YOUR-API-KEY", f.key, vidbeoObfuscatedEmail, "john.smith@example.com"}
		now := vidbeoTime(f.srv.Clock.Now())
		var id string

		t.Run("OK/Create", func(t *testing.T) {
			env := vidbeoEnvelope(t, send(t, f.srv, curlRequest(t, vidbeoCurlCreate, swap...)), 201)
			if env["links"] != nil {
				t.Errorf("links %v, want null", env["links"])
			}
			inv := checkVidbeoInvite(t, env["result"])
			want := map[string]string{"name": "John Smith", "email": "john.smith@example.com", "role": "admin", "authentication": "password",
				"status": "pending", "created_by": f.ownerID, "updated_by": f.ownerID, "created_time": now, "updated_time": now}
			for k, v := range want {
				if inv[k] != v {
					t.Errorf("%s = %v, want %v", k, inv[k], v)
				}
			}
			id = inv["id"].(string)
			if len(f.srv.InvitationTokens("john.smith@example.com")) != 1 {
				t.Errorf("no invitation email sent")
			}
		})
		t.Run("OK/List", func(t *testing.T) {
			env := vidbeoEnvelope(t, send(t, f.srv, curlRequest(t, vidbeoCurlList, swap...)), 200)
			if l, ok := env["links"].(map[string]any); !ok || len(l) != 0 {
				t.Errorf("links %v, want {}", env["links"])
			}
			res := env["result"].([]any)
			if len(res) != 1 || checkVidbeoInvite(t, res[0])["id"] != id {
				t.Errorf("result %v", res)
			}
		})
		t.Run("ErrDeleteAsWritten", func(t *testing.T) {
			// The page's id is its own: here it is nobody's.
			vidbeoEnvelope(t, send(t, f.srv, curlRequest(t, vidbeoCurlDelete, swap...)), 404)
		})
		t.Run("OK/Delete", func(t *testing.T) {
			env := vidbeoEnvelope(t, send(t, f.srv, curlRequest(t, vidbeoCurlDelete, append(swap, "abcde12345abcde12345a", id)...)), 200)
			if r, ok := env["result"].(map[string]any); !ok || len(r) != 0 || env["links"] != nil {
				t.Errorf("delete envelope %v, want result {} and links null", env)
			}
			if l := vidbeoList(t, f, f.key, ""); len(l) != 0 {
				t.Errorf("list after delete: %v", l)
			}
		})
	})
}

func TestVidbeoCreate(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		t.Run("OK/Roles", func(t *testing.T) {
			for _, tc := range []struct{ role, id, auth string }{
				{"viewer", gatehouse.RoleViewerID, "password"},
				{"uploader", gatehouse.RoleUploaderID, "sso"},
				{"admin", gatehouse.RoleAdminID, "password"},
				{"owner", gatehouse.RoleOwnerID, "sso"},
			} {
				email := tc.role + "@example.com"
				env := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{"name": "A " + tc.role, "email": email, "role": tc.role, "authentication": tc.auth})
				inv := checkVidbeoInvite(t, env["result"])
				if inv["role"] != tc.role || inv["authentication"] != tc.auth || inv["email"] != email {
					t.Errorf("%s: %v", tc.role, inv)
				}
				n := f.native(t, inv["id"].(string))
				if n["role"].(map[string]any)["id"] != tc.id || n["authentication"] != tc.auth || n["status"] != "pending" {
					t.Errorf("%s: native %v", tc.role, n)
				}
			}
		})
		t.Run("OK/UserTokenAndAdminKey", func(t *testing.T) {
			// A user's access token works too, in the X-Organization-Id org.
			r := f.srv.Do(apptest.Req{Method: "POST", Path: "/v2/invites", Token: f.owner, Header: apptest.OrgHeader(f.org),
				Body: map[string]string{"name": "Una User", "email": "una@example.com", "role": "viewer", "authentication": "password"}})
			vidbeoEnvelope(t, r, 201)
			admin := f.newKey(t, adminGrants(f.org)...)
			vidbeoMust(t, f, 201, "POST", "/v2/invites", admin, map[string]string{"name": "Al", "email": "al@example.com", "role": "admin", "authentication": "password"})
		})

		vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{"name": "Dup", "email": "dup@example.com", "role": "viewer", "authentication": "password"})
		readKey := f.newKey(t, orgGrant(f.org, gatehouse.OrgMembers, "read"))
		adminKey := f.newKey(t, adminGrants(f.org)...)
		valid := func(k, v string) map[string]string {
			m := map[string]string{"name": "Nia New", "email": "nia@example.com", "role": "viewer", "authentication": "password"}
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, tc := range []struct {
			name   string
			key    string
			body   any
			status int
			field  string
		}{
			{"ErrNoName", f.key, valid("name", ""), 400, "name"},
			{"ErrNoEmail", f.key, valid("email", ""), 400, "email"},
			{"ErrNoRole", f.key, valid("role", ""), 400, "role"},
			{"ErrNoAuthentication", f.key, valid("authentication", ""), 400, "authentication"},
			{"ErrBlankName", f.key, valid("name", "  "), 400, "name"},
			{"ErrEmptyObject", f.key, map[string]string{}, 400, "authentication"},
			{"ErrEmptyBody", f.key, nil, 400, "name"},
			{"ErrUnknownRole", f.key, valid("role", "editor"), 400, "role"},
			{"ErrRoleNotVidbeos", f.key, valid("role", "billing"), 400, "role"},
			{"ErrAuthentication", f.key, valid("authentication", "saml"), 400, "authentication"},
			{"ErrEmail", f.key, valid("email", "not-an-email"), 400, "email"},
			{"ErrMalformedJSON", f.key, `{"name":`, 400, ""},
			{"ErrUnknownField", f.key, `{"name":"N","email":"n@example.com","role":"viewer","authentication":"password","team":"x"}`, 400, "team"},
			{"ErrPendingAlready", f.key, valid("email", "dup@example.com"), 409, ""},
			{"ErrAlreadyMember", f.key, valid("email", "olive@example.com"), 409, ""},
			{"ErrNoKey", "", valid("", ""), 401, ""},
			{"ErrBadKey", "gh_key_nope", valid("", ""), 401, ""},
			{"ErrReadOnlyKey", readKey, valid("", ""), 403, ""},
			{"ErrEscalation", adminKey, valid("role", "owner"), 403, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				vidbeoError(t, f, tc.status, "POST", "/v2/invites", tc.key, tc.body, tc.field)
			})
		}
		t.Run("ErrEmptyObjectNamesAll", func(t *testing.T) {
			env := vidbeoError(t, f, 400, "POST", "/v2/invites", f.key, map[string]string{}, "")
			if got := vidbeoErrorFields(env); strings.Join(got, ",") != "name,email,role,authentication" {
				t.Errorf("fields %v", got)
			}
		})
		t.Run("ErrNotJSON", func(t *testing.T) {
			r := f.srv.Do(apptest.Req{Method: "POST", Path: "/v2/invites", Token: f.key, ContentType: "text/plain", Body: `{"name":"x"}`})
			vidbeoEnvelope(t, r, 415)
		})
		t.Run("ErrTokenScheme", func(t *testing.T) {
			// Vidbeo takes a bearer token only.
			r := f.srv.Do(apptest.Req{Method: "GET", Path: "/v2/invites", Header: map[string]string{"Authorization": "token " + f.key}})
			vidbeoEnvelope(t, r, 401)
		})
		t.Run("ErrDailyLimit", func(t *testing.T) {
			g := newFixture(t, f.srv.Engine)
			g.srv.SetOrgSetting(g.org, "invitations_per_day", 1)
			vidbeoMust(t, g, 201, "POST", "/v2/invites", g.key, valid("email", "first@example.com"))
			r := vidbeoDo(t, g, "POST", "/v2/invites", g.key, valid("email", "second@example.com"))
			vidbeoEnvelope(t, r, 429)
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra <= 0 {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		})
		t.Run("ErrDuplicateNamesExisting", func(t *testing.T) {
			env := vidbeoError(t, f, 409, "POST", "/v2/invites", f.key, valid("email", "dup@example.com"), "")
			if msg := env["errors"].([]any)[0].(map[string]any)["message"].(string); !strings.Contains(msg, "existing invite id") {
				t.Errorf("message %q does not name the existing invite", msg)
			}
		})
	})
}

func TestVidbeoList(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		var want []string // newest first
		for i := range 26 {
			env := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{
				"name": "Person", "email": "p" + string(rune('a'+i)) + "@example.com", "role": "viewer", "authentication": "password"})
			want = append([]string{env["result"].(map[string]any)["id"].(string)}, want...)
			f.srv.Clock.Advance(time.Second)
		}

		t.Run("OK/DefaultLimit", func(t *testing.T) {
			env := vidbeoMust(t, f, 200, "GET", "/v2/invites", f.key, nil)
			if n := len(env["result"].([]any)); n != 25 {
				t.Fatalf("%d invites, want the default 25", n)
			}
			next, _ := env["links"].(map[string]any)["next"].(string)
			if next == "" {
				t.Fatalf("no links.next with more to come: %v", env["links"])
			}
			u, err := url.Parse(next)
			if err != nil || u.Query().Get("cursor") == "" || u.Query().Get("limit") != "25" {
				t.Fatalf("links.next %q", next)
			}
			// links.next is built on the public base URL (GATEHOUSE_BASE_URL),
			// never on the request's Host or scheme; followed there.
			base := f.srv.Config.BaseURL
			if !strings.HasPrefix(next, base+"/v2/invites?") {
				t.Fatalf("links.next %q is not an absolute URL on the base URL %s", next, base)
			}
			forged := mustRequest(t, "GET", f.srv.URL+"/v2/invites", f.key)
			forged.Host = "evil.example"
			forged.Header.Set("X-Forwarded-Proto", "https")
			if l := vidbeoEnvelope(t, send(t, f.srv, forged), 200)["links"].(map[string]any)["next"].(string); !strings.HasPrefix(l, base+"/v2/invites?") {
				t.Fatalf("links.next with a client-chosen Host: %q", l)
			}
			resp := send(t, f.srv, mustRequest(t, "GET", f.srv.URL+strings.TrimPrefix(next, base), f.key))
			env = vidbeoEnvelope(t, resp, 200)
			res := env["result"].([]any)
			if len(res) != 1 || res[0].(map[string]any)["id"] != want[25] {
				t.Fatalf("second page %v", res)
			}
			if l := env["links"].(map[string]any); len(l) != 0 {
				t.Fatalf("links on the last page: %v", l)
			}
		})
		t.Run("OK/Pages", func(t *testing.T) {
			var got []string
			query := "limit=10"
			for pages := 0; ; pages++ {
				if pages > 3 {
					t.Fatal("too many pages")
				}
				env := vidbeoMust(t, f, 200, "GET", "/v2/invites?"+query, f.key, nil)
				for _, it := range env["result"].([]any) {
					got = append(got, checkVidbeoInvite(t, it)["id"].(string))
				}
				next, _ := env["links"].(map[string]any)["next"].(string)
				if next == "" {
					break
				}
				_, query, _ = strings.Cut(next, "?")
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("paged ids %v, want %v", got, want)
			}
		})
		t.Run("OK/LimitAsString", func(t *testing.T) {
			if l := vidbeoList(t, f, f.key, "limit=100"); len(l) != 26 {
				t.Fatalf("%d invites", len(l))
			}
		})
		billing := f.newKey(t, orgGrant(f.org, gatehouse.OrgBilling, ""))
		for _, tc := range []struct {
			name, query, key string
			status           int
			field            string
		}{
			{"ErrLimitZero", "limit=0", f.key, 400, "limit"},
			{"ErrLimitTooBig", "limit=101", f.key, 400, "limit"},
			{"ErrLimitNotNumber", "limit=ten", f.key, 400, "limit"},
			{"ErrCursor", "cursor=not-a-cursor", f.key, 400, "cursor"},
			{"ErrNoKey", "", "", 401, ""},
			{"ErrBadKey", "", "gh_key_nope", 401, ""},
			{"ErrNoMembersRead", "", billing, 403, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				vidbeoError(t, f, tc.status, "GET", "/v2/invites?"+tc.query, tc.key, nil, tc.field)
			})
		}
	})
}

func mustRequest(t *testing.T, method, target, key string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req
}

func TestVidbeoDelete(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		create := func(email string) string {
			env := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{"name": "Someone", "email": email, "role": "uploader", "authentication": "password"})
			return env["result"].(map[string]any)["id"].(string)
		}
		pending, accepted, other := create("pat@example.com"), create("acc@example.com"), create("oth@example.com")
		rejected := create("rej@example.com")
		uid := f.accept(t, "acc@example.com", "Acc Epted")
		f.srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + f.srv.LastInvitationToken("rej@example.com") + "/reject"})

		t.Run("OK/RejectedNotListed", func(t *testing.T) {
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, rejected) || !contains(ids, pending) || !contains(ids, accepted) {
				t.Errorf("list %v", ids)
			}
		})
		t.Run("OK/Pending", func(t *testing.T) {
			vidbeoMust(t, f, 200, "DELETE", "/v2/invites/"+pending, f.key, nil)
			if st := f.native(t, pending)["status"]; st != "revoked" {
				t.Errorf("status %v, want revoked", st)
			}
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, pending) {
				t.Errorf("still listed: %v", ids)
			}
			if r := f.srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + f.srv.LastInvitationToken("pat@example.com")}); r.Status != 410 {
				t.Errorf("revoked link answers %d", r.Status)
			}
		})
		t.Run("OK/Accepted", func(t *testing.T) {
			l := vidbeoList(t, f, f.key, "")
			if got := vidbeoRoles(l)[accepted]; got != "uploader" {
				t.Fatalf("accepted invite not listed: %v", l)
			}
			vidbeoMust(t, f, 200, "DELETE", "/v2/invites/"+accepted, f.key, nil)
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, accepted) {
				t.Errorf("still listed: %v", ids)
			}
			if st := f.native(t, accepted)["status"]; st != "accepted" {
				t.Errorf("status %v, want accepted", st)
			}
			m := f.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + uid, Token: f.owner, Header: apptest.OrgHeader(f.org)})
			if m["role"].(map[string]any)["id"] != gatehouse.RoleUploaderID {
				t.Errorf("membership %v", m)
			}
			if f.srv.AuditFor(f.org, "invitation.dismissed", accepted) == nil {
				t.Errorf("dismissal not audited")
			}
		})
		readKey := f.newKey(t, orgGrant(f.org, gatehouse.OrgMembers, "read"))
		for _, tc := range []struct {
			name, id, key string
			status        int
		}{
			{"ErrAlreadyRevoked", pending, f.key, 404},
			{"ErrAlreadyDismissed", accepted, f.key, 404},
			{"ErrRejected", rejected, f.key, 404},
			{"ErrUnknown", "0190a6f2-0000-7000-8000-000000000000", f.key, 404},
			{"ErrNotAnID", "abcde12345abcde12345a", f.key, 404},
			{"ErrNoKey", other, "", 401},
			{"ErrReadOnlyKey", other, readKey, 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				vidbeoError(t, f, tc.status, "DELETE", "/v2/invites/"+tc.id, tc.key, nil, "")
			})
		}
		t.Run("ErrExpired", func(t *testing.T) {
			f.srv.Clock.Advance(8 * 24 * time.Hour)
			if ids := vidbeoIDs(vidbeoList(t, f, f.key, "")); contains(ids, other) {
				t.Errorf("expired invite listed: %v", ids)
			}
			vidbeoError(t, f, 404, "DELETE", "/v2/invites/"+other, f.key, nil, "")
		})
	})
}

func TestVidbeoMethods(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		id := vidbeoMust(t, f, 201, "POST", "/v2/invites", f.key, map[string]string{"name": "P", "email": "p@example.com", "role": "viewer", "authentication": "password"})["result"].(map[string]any)["id"].(string)
		for _, tc := range []struct {
			name, method, path, allow string
		}{
			{"ErrPatch", "PATCH", "/v2/invites/" + id, "DELETE"},
			{"ErrPut", "PUT", "/v2/invites/" + id, "DELETE"},
			{"ErrGetOne", "GET", "/v2/invites/" + id, "DELETE"},
			{"ErrPatchList", "PATCH", "/v2/invites", "GET, POST"},
			{"ErrDeleteList", "DELETE", "/v2/invites", "GET, POST"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := vidbeoDo(t, f, tc.method, tc.path, f.key, `{"name":"Changed"}`)
				vidbeoEnvelope(t, r, 405)
				if got := r.Header.Get("Allow"); got != tc.allow {
					t.Errorf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
		t.Run("OK/Unchanged", func(t *testing.T) {
			if n := f.native(t, id); n["name"] != "P" || n["status"] != "pending" {
				t.Errorf("invite changed: %v", n)
			}
		})
	})
}
