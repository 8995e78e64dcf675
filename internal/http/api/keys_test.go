package api_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		project := srv.CreateProject(owner, org, "Videos")

		t.Run("OK", func(t *testing.T) {
			out := srv.CreateKey(owner, org, apptest.OrgGrant(org, "members", "read"), apptest.ProjectGrant(project, "full-access", ""))
			secret, _ := out["secret"].(string)
			if !strings.HasPrefix(secret, "gh_key_") || len(secret) < 40 {
				t.Fatalf("secret %q lacks the gh_key_ prefix or entropy", secret)
			}
			if prefix := out["prefix"].(string); !strings.HasPrefix(secret, prefix) || len(prefix) >= len(secret)/2 {
				t.Fatalf("prefix %q should be a short start of the secret", prefix)
			}
			id := out["id"].(string)
			// The key acts in its organization without any header.
			who := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: secret})
			if who["kind"] != "api_key" || who["id"] != id || who["organization_id"] != org || who["name"] != "ci key" {
				t.Fatalf("api-access-check = %v", who)
			}
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: secret})
			srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/projects/" + project + "/settings", Token: secret, Body: map[string]any{"k": 1}})
			// What it was not given, it cannot do.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/audits", Token: secret}), 403)

			// Listed and shown without the secret.
			list := srv.Do(apptest.Req{Method: "GET", Path: "/v1/api-keys", Token: owner, Header: apptest.OrgHeader(org)})
			one := srv.Do(apptest.Req{Method: "GET", Path: "/v1/api-keys/" + id, Token: owner, Header: apptest.OrgHeader(org)})
			for _, r := range []*apptest.Response{list, one} {
				if r.Status != 200 || bytes.Contains(r.Body, []byte(secret)) || bytes.Contains(r.Body, []byte(`"secret"`)) {
					t.Fatalf("status %d; a listing shows the secret: %s", r.Status, r.Body)
				}
			}
			// last_used_at is written in batches.
			if err := srv.Services.Keys.FlushLastUsed(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/api-keys/" + id, Token: owner, Header: apptest.OrgHeader(org)})
			if got["last_used_at"] == nil {
				t.Fatalf("last_used_at not recorded: %v", got)
			}
			// The secret is nowhere in the database, nor in the logs.
			for _, v := range srv.DBValues() {
				if bytes.Contains(v.Value, []byte(secret)) {
					t.Fatalf("secret stored in clear: %s", v)
				}
			}
			if strings.Contains(srv.Logs.String(), secret) {
				t.Fatal("secret logged")
			}
		})

		t.Run("ErrRevokedRefusedNextRequest", func(t *testing.T) {
			out := srv.CreateKey(owner, org, apptest.OrgGrant(org, "members", "read"))
			secret, id := out["secret"].(string), out["id"].(string)
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: secret}) // cached now
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/api-keys/" + id, Token: owner, Header: apptest.OrgHeader(org)})
			p := apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: secret}), 401)
			if p["code"] != "invalid_api_key" {
				t.Fatalf("problem %v", p)
			}
			if ev := srv.AuditFor(org, "api_key.revoked", id); ev == nil {
				t.Fatal("no api_key.revoked event")
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/api-keys/" + id, Token: owner, Header: apptest.OrgHeader(org)}), 404)
		})

		t.Run("ErrUserOnlyEndpoints", func(t *testing.T) {
			secret := srv.CreateKey(owner, org, apptest.OrgGrant(org, "owner", ""))["secret"].(string)
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/me"},
				{Method: "PATCH", Path: "/v1/me", Body: map[string]string{"name": "x"}},
				{Method: "GET", Path: "/v1/auth/sessions"},
				{Method: "PUT", Path: "/v1/auth/password", Body: map[string]string{"current_password": "a long enough password", "new_password": "another long password"}},
				{Method: "POST", Path: "/v1/auth/logout"},
				{Method: "POST", Path: "/v1/organizations", Body: map[string]string{"name": "Other"}},
				{Method: "POST", Path: "/v1/organizations/" + org + "/switch"},
			} {
				r.Token = secret
				if p := apptest.Problem(t, srv.Do(r), 403); p["code"] != "user_only" {
					t.Fatalf("%s %s: %v", r.Method, r.Path, p)
				}
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			for _, c := range []struct {
				name   string
				body   any
				status int
				field  string
			}{
				{"MissingName", map[string]any{"permissions": []any{}}, 400, "name"},
				{"MissingPermissions", map[string]any{"name": "k"}, 400, "permissions"},
				{"WrongType", map[string]any{"name": 3, "permissions": []any{}}, 400, "name"},
				{"PastExpiry", map[string]any{"name": "k", "permissions": []any{}, "expires_at": "2001-01-01T00:00:00Z"}, 400, "expires_at"},
				{"BadGrant", map[string]any{"name": "k", "permissions": []any{apptest.OrgGrant(org, "nope", "read")}}, 400, "permissions[0].name"},
				{"ForeignProject", map[string]any{"name": "k", "permissions": []any{apptest.ProjectGrant("0190a6b2-0000-7000-8000-000000000001", "full-access", "")}}, 400, "permissions[0].entity_id"},
				{"Oversized", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					p := apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: owner, Header: apptest.OrgHeader(org), Body: c.body, ContentType: "application/json"}), c.status)
					if c.field != "" && !strings.Contains(fmt.Sprint(p["errors"]), c.field) {
						t.Fatalf("errors %v do not name %s", p["errors"], c.field)
					}
				})
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/api-keys/not-a-uuid", Token: owner, Header: apptest.OrgHeader(org)}), 404)
		})

		t.Run("ErrOtherOrganization", func(t *testing.T) {
			other, _ := srv.Signup("Other", "other@example.com")
			otherOrg := srv.CreateOrg(other, "Other Co")
			theirs := srv.CreateKey(other, otherOrg, apptest.OrgGrant(otherOrg, "owner", ""))
			mine := srv.CreateKey(owner, org, apptest.OrgGrant(org, "api", "read"))
			// Their key on our ids, and our owner on their key: 404, never 403.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/api-keys/" + mine["id"].(string), Token: theirs["secret"].(string)}), 404)
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/projects/" + project, Token: theirs["secret"].(string)}), 404)
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/api-keys/" + theirs["id"].(string), Token: owner, Header: apptest.OrgHeader(org)}), 404)
			// A key cannot pick another organization with the header.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: mine["secret"].(string), Header: apptest.OrgHeader(otherOrg)}), 404)
		})
		// Last: it moves the clock past the owner's access token too.
		t.Run("ErrExpired", func(t *testing.T) {
			out := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: owner, Header: apptest.OrgHeader(org),
				Body: map[string]any{"name": "short", "permissions": []any{apptest.OrgGrant(org, "members", "read")},
					"expires_at": srv.Clock.Now().Add(time.Hour).Format(time.RFC3339)}})
			secret := out["secret"].(string)
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: secret})
			srv.Clock.Advance(time.Hour + time.Second)
			p := apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: secret}), 401)
			if p["code"] != "api_key_expired" || !strings.Contains(p["detail"].(string), "expired") {
				t.Fatalf("problem %v", p)
			}
		})

	})
}

// TestAPIKeyCappedByCreator: a key never does more than its creator can do
// now, at creation and at use.
func TestAPIKeyCappedByCreator(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		project := srv.CreateProject(owner, org, "Videos")
		// An admin-like member with api and members rights and one project.
		dev := srv.AddStoreMember(org, "Dev", "dev@example.com", "", []gatehouse.Grant{
			{EntityType: "organizations", EntityID: org, Name: "api", Permission: []gatehouse.AreaGrant{}},
			{EntityType: "organizations", EntityID: org, Name: "members", Action: "read", Permission: []gatehouse.AreaGrant{}},
			{EntityType: "projects", EntityID: project, Name: "full-access", Permission: []gatehouse.AreaGrant{}},
		})

		t.Run("ErrEscalationAtCreation", func(t *testing.T) {
			p := apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: dev.Token, Header: apptest.OrgHeader(org),
				Body: map[string]any{"name": "k", "permissions": []any{apptest.OrgGrant(org, "audit", "read")}}}), 403)
			if p["code"] != "escalation" {
				t.Fatalf("problem %v", p)
			}
		})

		t.Run("KeyShrinksWithCreator", func(t *testing.T) {
			secret := srv.CreateKey(dev.Token, org, apptest.OrgGrant(org, "members", "read"), apptest.ProjectGrant(project, "full-access", ""))["secret"].(string)
			settings := apptest.Req{Method: "PUT", Path: "/v1/projects/" + project + "/settings", Token: secret, Body: map[string]any{"a": 1}}
			srv.Must(200, settings)
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: secret})
			// The creator loses the project: so does the key, on the next request.
			srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/members/" + dev.UserID + "/permissions", Token: owner, Header: apptest.OrgHeader(org),
				Body: map[string]any{"permissions": []any{apptest.OrgGrant(org, "members", "read"), apptest.OrgGrant(org, "api", "")}}})
			apptest.Problem(t, srv.Do(settings), 403)
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: secret})
			// The creator leaves: the key keeps authenticating but may do nothing.
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/" + dev.UserID, Token: owner, Header: apptest.OrgHeader(org)})
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: secret}), 403)
			check := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/members/permissions/check", Token: secret,
				Body: map[string]any{"entity_type": "projects", "entity_id": project, "name": "settings", "action": "read"}})
			if check["allowed"] != false {
				t.Fatalf("a key whose creator left is still allowed: %v", check)
			}
		})

		t.Run("KeyCreatesKeysWithinItsOwnGrants", func(t *testing.T) {
			parent := srv.CreateKey(owner, org, apptest.OrgGrant(org, "api", ""), apptest.OrgGrant(org, "members", "read"))["secret"].(string)
			srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: parent,
				Body: map[string]any{"name": "child", "permissions": []any{apptest.OrgGrant(org, "members", "read")}}})
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: parent,
				Body: map[string]any{"name": "child", "permissions": []any{apptest.OrgGrant(org, "settings", "write")}}}), 403)
		})
	})
}
