package api_test

// Tests of the OpenAPI document (openapi.yaml): that it is a valid OpenAPI
// 3.1 document, that it documents exactly the routes the server registers,
// and that real responses match it. validateResponse and doValidated are
// meant for other tests too: any exchange with the API can be checked
// against the document with one call.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// oaTinyPNG is a real 2×2 PNG (avatars are decoded and cropped).
var oaTinyPNG = apptest.PNG(2, 2)

// oaNilUUID is a well-formed id that names nothing.
const oaNilUUID = "0190a0a0-0000-7000-8000-000000000000"

// TestOpenAPIResponses drives a realistic story through the API and checks
// every response, successes and problems, against openapi.yaml.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		// ok expects status want and returns the JSON body (nil for none).
		ok := func(want int, r apptest.Req) map[string]any {
			t.Helper()
			resp := doValidated(t, srv, want, "", r)
			if len(resp.Body) == 0 || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				return nil
			}
			return resp.JSON(t)
		}
		// fail expects a problem with status want and code.
		fail := func(want int, code string, r apptest.Req) map[string]any {
			t.Helper()
			return doValidated(t, srv, want, code, r).JSON(t)
		}
		str := func(m map[string]any, key string) string {
			t.Helper()
			s, _ := m[key].(string)
			if s == "" {
				t.Fatalf("no %q in %v", key, m)
			}
			return s
		}
		obj := func(m map[string]any, key string) map[string]any {
			t.Helper()
			o, _ := m[key].(map[string]any)
			if o == nil {
				t.Fatalf("no object %q in %v", key, m)
			}
			return o
		}
		type body = map[string]any
		pw := apptest.TestPassword

		// Welcome, health and this document.
		ok(200, apptest.Req{Method: "GET", Path: "/"})
		ok(200, apptest.Req{Method: "GET", Path: "/health"})
		if served := ok(200, apptest.Req{Method: "GET", Path: "/openapi.json"}); served["openapi"] != "3.1.0" {
			t.Fatalf("GET /openapi.json: openapi = %v", served["openapi"])
		}

		// Sign-up, verification and the dev mailbox.
		alice := "alice@example.com"
		register := "/v1/auth/register"
		ok(201, apptest.Req{Method: "POST", Path: register, Body: body{"name": "Alice", "email": alice, "password": pw}})
		fail(409, "email_taken", apptest.Req{Method: "POST", Path: register, Body: body{"name": "Alice", "email": alice, "password": pw}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: register, Body: body{"name": "", "email": "nope", "password": "short"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: register, Body: body{"name": "A", "email": alice, "password": pw, "admin": true}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: register, Body: "{", ContentType: "application/json"})
		fail(415, "unsupported", apptest.Req{Method: "POST", Path: register, Body: "name=Alice", ContentType: "application/x-www-form-urlencoded"})
		fail(413, "too_large", apptest.Req{Method: "POST", Path: register, Body: `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, ContentType: "application/json"})
		fail(403, "email_not_verified", apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: body{"email": alice, "password": pw}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: "/v1/auth/verify-email", Body: body{"email": alice, "otp": "000000"}})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/auth/verify-email", Body: body{"email": alice, "otp": srv.LastCode(alice)}})
		ok(202, apptest.Req{Method: "POST", Path: "/v1/auth/resend-otp", Body: body{"email": "nobody@example.com", "purpose": "verify_email"}})
		// A second code at once is held back silently (same answer).
		ok(202, apptest.Req{Method: "POST", Path: "/v1/auth/resend-otp", Body: body{"email": "nobody@example.com", "purpose": "verify_email"}})
		for range 20 { // the address's sign-in failures run out
			srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: body{"email": "nobody@example.com", "password": "wrong password"}})
		}
		limited := doValidated(t, srv, 429, "rate_limited", apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: body{"email": "nobody@example.com", "password": "wrong password"}})
		if limited.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		fail(400, "invalid", apptest.Req{Method: "POST", Path: "/v1/auth/resend-otp", Body: body{"email": alice, "purpose": "fun"}})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/auth/account-exists", Body: body{"email": alice}})
		ok(200, apptest.Req{Method: "GET", Path: "/dev/mailbox?limit=5"})
		ok(200, apptest.Req{Method: "GET", Path: "/dev/mail"})
		fail(400, "invalid", apptest.Req{Method: "GET", Path: "/dev/mailbox?limit=0"})

		// Sign-in, tokens and sessions.
		fail(401, "invalid_credentials", apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: body{"email": alice, "password": "a wrong password"}})
		login := ok(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: body{"email": alice, "password": pw}})
		refreshed := ok(200, apptest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: body{"refresh_token": str(login, "refresh_token")}})
		fail(401, "invalid_refresh_token", apptest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: body{"refresh_token": "gh_rt_not-a-token"}})
		tok := str(refreshed, "access_token")
		other := srv.SignIn(alice, pw)
		ok(200, apptest.Req{Method: "GET", Path: "/v1/auth/sessions", Token: tok})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/auth/sessions?limit=1", Token: tok})
		fail(400, "invalid", apptest.Req{Method: "GET", Path: "/v1/auth/sessions?limit=101", Token: tok})
		fail(400, "invalid", apptest.Req{Method: "GET", Path: "/v1/auth/sessions?cursor=%21", Token: tok})
		ok(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + other.SessionID, Token: tok})
		fail(404, "not_found", apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + other.SessionID, Token: tok})
		fail(401, "invalid_token", apptest.Req{Method: "GET", Path: "/v1/me", Token: other.Access})
		fail(401, "unauthenticated", apptest.Req{Method: "GET", Path: "/v1/me"})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: tok})

		// Passwords.
		fail(409, "password_already_set", apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: tok, Body: body{"password": "another long password"}})
		fail(403, "wrong_password", apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: tok, Body: body{"current_password": "not it at all", "new_password": "another long password"}})
		ok(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: tok, Body: body{"current_password": pw, "new_password": "another long password"}})
		ok(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: tok, Body: body{"current_password": "another long password", "new_password": pw}})
		dora := "dora@example.com"
		srv.Signup("Dora", dora)
		ok(202, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password", Body: body{"email": dora}})
		reset := ok(200, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/verify", Body: body{"email": dora, "otp": srv.LastCode(dora)}})
		ok(204, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/set", Body: body{"reset_token": str(reset, "reset_token"), "password": "dora's new password"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/set", Body: body{"reset_token": str(reset, "reset_token"), "password": "dora's new password"}})
		lou := srv.PasswordlessUser("Lou", "lou@example.com")
		ok(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: lou.Access, Body: body{"password": "lou's long password"}})

		// The user's own account.
		me := ok(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: tok})
		aliceID := str(me, "id")
		ok(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: tok, Body: body{"name": "Alice A."}})
		ok(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: tok, Body: body{"name": nil}})
		fail(400, "invalid", apptest.Req{Method: "PATCH", Path: "/v1/me", Token: tok, Body: body{"name": ""}})
		withAvatar := ok(200, apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: tok, Body: oaTinyPNG, ContentType: "image/png"})
		avatarURL := str(withAvatar, "avatar_url")
		i := strings.Index(avatarURL, "/v1/users/")
		if i < 0 {
			t.Fatalf("avatar_url = %q", avatarURL)
		}
		ok(200, apptest.Req{Method: "GET", Path: avatarURL[i:]})
		fail(415, "unsupported", apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: tok, Body: "not an image", ContentType: "image/png"})
		fail(400, "invalid", apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: tok})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/users/" + oaNilUUID + "/avatar"})
		if out := ok(200, apptest.Req{Method: "DELETE", Path: "/v1/me/avatar", Token: tok}); out["avatar_url"] != nil {
			t.Fatalf("avatar_url after DELETE: %v", out["avatar_url"])
		}

		// Organizations.
		fail(400, "no_organization", apptest.Req{Method: "GET", Path: "/v1/projects", Token: tok})
		orgID := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: tok, Body: body{"name": "Acme", "logo_url": "https://acme.example/logo.png"}}), "id")
		inOrg := apptest.OrgHeader(orgID)
		ok(200, apptest.Req{Method: "GET", Path: "/v1/organizations", Token: tok})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/organizations?limit=1", Token: tok})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + orgID, Token: tok})
		ok(200, apptest.Req{Method: "PATCH", Path: "/v1/organizations/" + orgID, Token: tok, Body: body{"name": "Acme Inc", "logo_url": ""}})
		fail(400, "invalid", apptest.Req{Method: "PATCH", Path: "/v1/organizations/" + orgID, Token: tok, Body: body{"logo_url": "ftp://acme"}})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + orgID + "/switch", Token: tok})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/organizations/" + oaNilUUID, Token: tok})
		fail(404, "not_found", apptest.Req{Method: "POST", Path: "/v1/organizations/" + oaNilUUID + "/switch", Token: tok})
		spareOrg := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: tok, Body: body{"name": "Spare"}}), "id")
		ok(204, apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + spareOrg, Token: tok})

		// Projects.
		projID := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/projects", Token: tok, Header: inOrg,
			Body: body{"name": "Films", "description": "Feature films", "settings": body{"theme": "dark"}}}), "id")
		project := "/v1/projects/" + projID
		ok(200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: tok}) // the current organization
		ok(200, apptest.Req{Method: "GET", Path: project, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "PATCH", Path: project, Token: tok, Header: inOrg, Body: body{"description": "Films and shorts"}})
		ok(200, apptest.Req{Method: "GET", Path: project + "/settings", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "PUT", Path: project + "/settings", Token: tok, Header: inOrg, Body: body{"theme": "light", "player": body{"autoplay": true}}})
		fail(400, "invalid", apptest.Req{Method: "PUT", Path: project + "/settings", Token: tok, Header: inOrg, Body: "[1]", ContentType: "application/json"})
		fail(415, "unsupported", apptest.Req{Method: "PUT", Path: project + "/settings", Token: tok, Header: inOrg, Body: "{}", ContentType: "text/plain"})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/projects/" + oaNilUUID, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/projects", Token: tok, Header: apptest.OrgHeader(oaNilUUID)})
		spareProject := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/projects", Token: tok, Header: inOrg, Body: body{"name": "Spare"}}), "id")
		ok(204, apptest.Req{Method: "DELETE", Path: "/v1/projects/" + spareProject, Token: tok, Header: inOrg})

		// Folders.
		folders := project + "/folders"
		newFolder := func(b body) string {
			t.Helper()
			return str(ok(201, apptest.Req{Method: "POST", Path: folders, Token: tok, Header: inOrg, Body: b}), "id")
		}
		a := newFolder(body{"name": "A"})
		b := newFolder(body{"name": "B", "parent_id": a})
		c := newFolder(body{"name": "C", "parent_id": nil})
		shared := newFolder(body{"name": "Shared"})
		fail(409, "name_taken", apptest.Req{Method: "POST", Path: folders, Token: tok, Header: inOrg, Body: body{"name": "A"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: folders, Token: tok, Header: inOrg, Body: body{"name": "D", "parent_id": oaNilUUID}})
		ok(200, apptest.Req{Method: "GET", Path: folders, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: folders + "?parent_id=" + a + "&limit=10", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: folders + "/tree", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: folders + "/" + b, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "PATCH", Path: folders + "/" + b, Token: tok, Header: inOrg, Body: body{"name": "B2"}})
		fail(409, "cycle", apptest.Req{Method: "POST", Path: folders + "/" + a + "/move", Token: tok, Header: inOrg, Body: body{"parent_id": b}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: folders + "/" + a + "/move", Token: tok, Header: inOrg, Body: body{}})
		ok(200, apptest.Req{Method: "POST", Path: folders + "/" + c + "/move", Token: tok, Header: inOrg, Body: body{"parent_id": a}})
		ok(200, apptest.Req{Method: "POST", Path: folders + "/move", Token: tok, Header: inOrg, Body: body{"folder_ids": []string{b, c}, "parent_id": nil}})
		fail(404, "not_found", apptest.Req{Method: "POST", Path: folders + "/move", Token: tok, Header: inOrg, Body: body{"folder_ids": []string{oaNilUUID}, "parent_id": nil}})
		ok(200, apptest.Req{Method: "POST", Path: folders + "/" + b + "/move", Token: tok, Header: inOrg, Body: body{"parent_id": a}})
		fail(409, "folder_not_empty", apptest.Req{Method: "DELETE", Path: folders + "/" + a, Token: tok, Header: inOrg})
		fail(400, "invalid", apptest.Req{Method: "DELETE", Path: folders + "/" + a + "?recursive=yes", Token: tok, Header: inOrg})
		ok(204, apptest.Req{Method: "DELETE", Path: folders + "/" + a + "?recursive=true", Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: folders + "/" + a, Token: tok, Header: inOrg})

		// Invitations, sent (at both paths).
		invites, seedInvites := "/v1/members/invitations", "/v1/account/users/invitations"
		invite := func(path string, b body) string {
			t.Helper()
			return str(ok(201, apptest.Req{Method: "POST", Path: path, Token: tok, Header: inOrg, Body: b}), "id")
		}
		bob := "bob@example.com"
		bobInv := invite(invites, body{"email": bob, "name": "Bob", "role": "viewer"})
		if dup := fail(409, "invitation_pending", apptest.Req{Method: "POST", Path: invites, Token: tok, Header: inOrg, Body: body{"email": bob, "role": "viewer"}}); dup["existing_id"] != bobInv {
			t.Fatalf("existing_id = %v, want %s", dup["existing_id"], bobInv)
		}
		fail(400, "invalid", apptest.Req{Method: "POST", Path: invites, Token: tok, Header: inOrg, Body: body{"email": "carol@example.com"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: invites, Token: tok, Header: inOrg, Body: body{"email": "carol@example.com",
			"permissions": []body{{"entity_type": "projects", "entity_id": projID, "name": "custom", "action": "", "permission": []body{{"name": "folders", "action": "fly"}}}}}})
		invite(seedInvites, body{"email": "carol@example.com", "authentication": "password", "expires_in_days": 3, "permissions": []body{
			{"entity_type": "organizations", "entity_id": orgID, "name": "billing", "action": "read"},
			{"entity_type": "projects", "entity_id": projID, "name": "custom", "action": "", "permission": []body{
				{"name": "livestreams", "action": "read+write"},
				{"name": "folders", "action": "custom", "folders": []body{{"folder_id": shared, "action": "read"}}},
			}},
		}})
		ok(200, apptest.Req{Method: "GET", Path: invites, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: invites + "?status=pending&email=" + bob + "&limit=5", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: seedInvites, Token: tok, Header: inOrg})
		fail(400, "invalid", apptest.Req{Method: "GET", Path: invites + "?status=maybe", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: invites + "/" + bobInv, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: seedInvites + "/" + bobInv, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: invites + "/" + oaNilUUID, Token: tok, Header: inOrg})
		fail(429, "rate_limited", apptest.Req{Method: "POST", Path: invites + "/" + bobInv + "/resend", Token: tok, Header: inOrg})
		srv.Clock.Advance(6 * time.Minute)
		ok(200, apptest.Req{Method: "POST", Path: seedInvites + "/" + bobInv + "/resend", Token: tok, Header: inOrg})

		// Invitations, received by link: show, accept (creating the
		// account, or signed in), reject, and dead links.
		bobLink := "/v1/invitations/" + srv.LastInvitationToken(bob)
		ok(200, apptest.Req{Method: "GET", Path: bobLink})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/invitations/" + strings.Repeat("x", 43)})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: bobLink + "/accept", Body: body{"name": "Bob"}})
		accepted := ok(201, apptest.Req{Method: "POST", Path: bobLink + "/accept", Body: body{"name": "Bob", "password": "bob's long password"}})
		bobTok := str(obj(accepted, "session"), "access_token")
		bobID := str(obj(accepted, "user"), "id")
		if p := fail(410, "invitation_accepted", apptest.Req{Method: "GET", Path: bobLink}); p["invitation_status"] != "accepted" {
			t.Fatalf("invitation_status = %v", p["invitation_status"])
		}
		fail(410, "invitation_accepted", apptest.Req{Method: "POST", Path: bobLink + "/accept", Token: bobTok})

		carolTok, carol := srv.Signup("Carol", "carol@example.com")
		carolID := str(carol, "id")
		ok(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("carol@example.com") + "/accept", Token: carolTok})

		daveInv := invite(invites, body{"email": "dave@example.com", "role": "uploader"})
		ok(204, apptest.Req{Method: "DELETE", Path: invites + "/" + daveInv, Token: tok, Header: inOrg})
		if p := fail(409, "invitation_not_pending", apptest.Req{Method: "DELETE", Path: seedInvites + "/" + daveInv, Token: tok, Header: inOrg}); p["invitation_status"] != "revoked" {
			t.Fatalf("invitation_status = %v", p["invitation_status"])
		}
		fail(410, "invitation_revoked", apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("dave@example.com") + "/reject"})

		invite(invites, body{"email": "erin@example.com", "role": "viewer"})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("erin@example.com") + "/reject"})
		ok(200, apptest.Req{Method: "GET", Path: invites + "?status=rejected", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: invites + "?status=revoked", Token: tok, Header: inOrg})

		invite(invites, body{"email": "hank@example.com", "role": "viewer"})
		fail(403, "email_mismatch", apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("hank@example.com") + "/accept", Token: carolTok})

		// Invitations, received: in the user's own list.
		frankTok, _ := srv.Signup("Frank", "frank@example.com")
		frankInv := invite(invites, body{"email": "frank@example.com", "role": "viewer"})
		ginaTok, _ := srv.Signup("Gina", "gina@example.com")
		ginaInv := invite(invites, body{"email": "gina@example.com", "role": "viewer"})
		fail(401, "login_required", apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("gina@example.com") + "/accept",
			Body: body{"name": "Gina", "password": "gina's long password"}})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/me/invitations", Token: frankTok})
		fail(404, "not_found", apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + ginaInv + "/accept", Token: frankTok})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + frankInv + "/accept", Token: frankTok})
		fail(409, "already_member", apptest.Req{Method: "POST", Path: invites, Token: tok, Header: inOrg, Body: body{"email": "frank@example.com", "role": "viewer"}})
		ok(200, apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + ginaInv + "/reject", Token: ginaTok})
		fail(410, "invitation_rejected", apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + ginaInv + "/accept", Token: ginaTok})

		// Members and permission checks.
		members := "/v1/members"
		ok(200, apptest.Req{Method: "GET", Path: members, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: members + "?q=bob&limit=2", Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: members + "/" + bobID, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: members + "/" + bobID, Token: bobTok, Header: inOrg})
		fail(403, "forbidden", apptest.Req{Method: "GET", Path: members, Token: bobTok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: members + "/" + oaNilUUID, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: members, Token: ginaTok, Header: inOrg})
		check := members + "/permissions/check"
		ok(200, apptest.Req{Method: "POST", Path: check, Token: tok, Header: inOrg, Body: body{"entity_type": "organizations", "entity_id": orgID, "name": "members", "action": "write"}})
		ok(200, apptest.Req{Method: "POST", Path: check, Token: bobTok, Header: inOrg, Body: body{"entity_type": "projects", "entity_id": projID, "name": "settings", "action": "write"}})
		ok(200, apptest.Req{Method: "POST", Path: check + "/batch", Token: tok, Header: inOrg, Body: body{"checks": []body{
			{"user_id": bobID, "entity_type": "projects", "entity_id": projID, "name": "folders", "action": "read"},
			{"user_id": carolID, "entity_type": "folders", "entity_id": shared, "name": "folders", "action": "read+write+delete"},
			{"entity_type": "organizations", "name": "billing", "action": "read"},
		}}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: check, Token: tok, Header: inOrg, Body: body{"entity_type": "planets", "name": "", "action": "fly"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: check + "/batch", Token: tok, Header: inOrg, Body: body{"checks": []body{{"entity_type": "planets", "name": "", "action": "fly"}}}})
		// The older batch form on the single check's path keeps working.
		if old := srv.Do(apptest.Req{Method: "POST", Path: check, Token: tok, Header: inOrg, Body: body{"checks": []body{
			{"entity_type": "organizations", "name": "billing", "action": "read"}}}}); old.Status != 200 || !bytes.Contains(old.Body, []byte(`"results"`)) {
			t.Fatalf("batch on the single check's path: %d %s", old.Status, old.Body)
		}
		fail(403, "forbidden", apptest.Req{Method: "POST", Path: check, Token: bobTok, Header: inOrg, Body: body{"user_id": aliceID, "entity_type": "organizations", "name": "billing", "action": "read"}})
		ok(200, apptest.Req{Method: "PUT", Path: members + "/" + bobID + "/permissions", Token: tok, Header: inOrg, Body: body{"role": "uploader",
			"permissions": []body{{"entity_type": "organizations", "entity_id": orgID, "name": "members", "action": "read"}}}})
		fail(403, "self_edit", apptest.Req{Method: "PUT", Path: members + "/" + aliceID + "/permissions", Token: tok, Header: inOrg, Body: body{"role": "viewer"}})
		fail(403, "forbidden", apptest.Req{Method: "DELETE", Path: members + "/" + aliceID, Token: bobTok, Header: inOrg})
		fail(409, "last_owner", apptest.Req{Method: "DELETE", Path: members + "/" + aliceID, Token: tok, Header: inOrg})
		ok(204, apptest.Req{Method: "DELETE", Path: members + "/" + bobID, Token: bobTok, Header: inOrg})

		// Roles.
		ok(200, apptest.Req{Method: "GET", Path: "/v1/roles", Token: tok, Header: inOrg})
		roleBody := body{"name": "editor", "description": "Edits folders.", "permissions": []body{
			{"entity_type": "projects", "entity_id": "*", "name": "custom", "action": "", "permission": []body{{"name": "folders", "action": "read+write"}}}}}
		roleID := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: inOrg, Body: roleBody}), "id")
		fail(409, "name_taken", apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: inOrg, Body: roleBody})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: inOrg, Body: body{"name": "Bad Name"}})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/roles/" + roleID, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "GET", Path: "/v1/roles/" + gatehouse.RoleOwnerID, Token: tok, Header: inOrg})
		roleBody["description"] = "Everything on one project."
		roleBody["permissions"] = []body{{"entity_type": "projects", "entity_id": projID, "name": "full-access", "action": "read+write"}}
		ok(200, apptest.Req{Method: "PUT", Path: "/v1/roles/" + roleID, Token: tok, Header: inOrg, Body: roleBody})
		fail(403, "builtin_role", apptest.Req{Method: "PUT", Path: "/v1/roles/" + gatehouse.RoleOwnerID, Token: tok, Header: inOrg, Body: roleBody})
		fail(403, "builtin_role", apptest.Req{Method: "DELETE", Path: "/v1/roles/" + gatehouse.RoleViewerID, Token: tok, Header: inOrg})
		ok(200, apptest.Req{Method: "PUT", Path: members + "/" + carolID + "/permissions", Token: tok, Header: inOrg, Body: body{"role": roleID}})
		ivanInv := invite(invites, body{"email": "ivan@example.com", "role": "editor"})
		ok(200, apptest.Req{Method: "GET", Path: invites + "/" + ivanInv, Token: tok, Header: inOrg})
		ok(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("ivan@example.com") + "/accept", Body: body{"name": "Ivan", "password": "ivan's long password"}})
		ok(200, apptest.Req{Method: "GET", Path: members + "/" + carolID, Token: tok, Header: inOrg})
		fail(409, "role_in_use", apptest.Req{Method: "DELETE", Path: "/v1/roles/" + roleID, Token: tok, Header: inOrg})
		spareRole := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: inOrg, Body: body{"name": "spare", "permissions": []body{}}}), "id")
		ok(204, apptest.Req{Method: "DELETE", Path: "/v1/roles/" + spareRole, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: "/v1/roles/" + spareRole, Token: tok, Header: inOrg})

		// API keys: made (the secret shows once), used, read and revoked.
		keys := "/v1/api-keys"
		now := srv.Clock.Now().UTC()
		created := ok(201, apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "Exporter",
			"expires_at": now.Add(30 * 24 * time.Hour).Format(time.RFC3339), "permissions": []body{
				{"entity_type": "organizations", "entity_id": orgID, "name": "audit", "action": "read"},
				{"entity_type": "projects", "entity_id": projID, "name": "full-access"}}}})
		keyID, keySecret := str(created, "id"), str(created, "secret")
		if created["expires_at"] == nil || created["last_used_at"] != nil {
			t.Fatalf("new key: expires_at %v, last_used_at %v", created["expires_at"], created["last_used_at"])
		}
		// A key that manages keys: it may revoke them, but give no right it lacks.
		admin := ok(201, apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "Key admin", "expires_at": nil,
			"permissions": []body{{"entity_type": "organizations", "entity_id": orgID, "name": "api", "action": ""}}}})
		adminSecret := str(admin, "secret")
		fail(403, "escalation", apptest.Req{Method: "POST", Path: keys, Token: adminSecret, Body: body{"name": "Wider",
			"permissions": []body{{"entity_type": "organizations", "entity_id": orgID, "name": "members", "action": "read"}}}})
		spareKey := str(ok(201, apptest.Req{Method: "POST", Path: keys, Token: adminSecret, Body: body{"name": "Spare", "permissions": []body{}}}), "id")
		ok(200, apptest.Req{Method: "GET", Path: keys + "/" + spareKey, Token: adminSecret})
		ok(204, apptest.Req{Method: "DELETE", Path: keys + "/" + spareKey, Token: adminSecret})
		ok(200, apptest.Req{Method: "GET", Path: keys, Token: tok, Header: inOrg})
		if page := ok(200, apptest.Req{Method: "GET", Path: keys + "?limit=1", Token: tok, Header: inOrg}); page["next_cursor"] != nil {
			ok(200, apptest.Req{Method: "GET", Path: keys + "?limit=1&cursor=" + url.QueryEscape(str(page, "next_cursor")), Token: tok, Header: inOrg})
		} else {
			t.Fatal("GET /v1/api-keys?limit=1: no next_cursor for the second key")
		}
		ok(200, apptest.Req{Method: "GET", Path: "/v1/audits?limit=1", Token: keySecret}) // the key at work
		if err := srv.Services.Keys.FlushLastUsed(t.Context()); err != nil {
			t.Fatal(err)
		}
		if used := ok(200, apptest.Req{Method: "GET", Path: keys + "/" + keyID, Token: tok, Header: inOrg}); used["last_used_at"] == nil {
			t.Fatal("last_used_at not recorded")
		}
		fail(400, "invalid", apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "No permissions"}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "", "permissions": []body{},
			"expires_at": now.Add(-time.Hour).Format(time.RFC3339)}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "Scoped", "permissions": []body{}, "scopes": []string{"all"}}})
		fail(400, "invalid", apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: body{"name": "Bad grant",
			"permissions": []body{{"entity_type": "organizations", "entity_id": orgID, "name": "api", "action": "fly"}}}})
		fail(415, "unsupported", apptest.Req{Method: "POST", Path: keys, Token: tok, Header: inOrg, Body: "name=ci", ContentType: "application/x-www-form-urlencoded"})
		fail(400, "invalid", apptest.Req{Method: "GET", Path: keys + "?limit=0", Token: tok, Header: inOrg})
		fail(401, "unauthenticated", apptest.Req{Method: "GET", Path: keys, Header: inOrg})
		fail(401, "invalid_api_key", apptest.Req{Method: "GET", Path: keys, Token: "gh_key_" + strings.Repeat("x", 43)})
		fail(403, "forbidden", apptest.Req{Method: "GET", Path: keys, Token: carolTok, Header: inOrg})
		fail(403, "forbidden", apptest.Req{Method: "POST", Path: keys, Token: carolTok, Header: inOrg, Body: body{"name": "Mine", "permissions": []body{}}})
		fail(403, "forbidden", apptest.Req{Method: "GET", Path: keys + "/" + keyID, Token: carolTok, Header: inOrg})
		fail(403, "forbidden", apptest.Req{Method: "DELETE", Path: keys + "/" + keyID, Token: keySecret})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: keys, Token: ginaTok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: keys + "/" + oaNilUUID, Token: tok, Header: inOrg})
		otherOrg := str(ok(201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: tok, Body: body{"name": "Other"}}), "id")
		otherKey := str(ok(201, apptest.Req{Method: "POST", Path: keys, Token: tok, Header: apptest.OrgHeader(otherOrg), Body: body{"name": "Elsewhere", "permissions": []body{}}}), "id")
		fail(404, "not_found", apptest.Req{Method: "GET", Path: keys + "/" + otherKey, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "DELETE", Path: keys + "/" + otherKey, Token: tok, Header: inOrg})

		// Audits: pages, filters, the NDJSON export and the chain check.
		audits := "/v1/audits"
		ok(200, apptest.Req{Method: "GET", Path: audits, Token: tok, Header: inOrg})
		if page := ok(200, apptest.Req{Method: "GET", Path: audits + "?action=api_key.&limit=2", Token: tok, Header: inOrg}); page["next_cursor"] != nil {
			ok(200, apptest.Req{Method: "GET", Path: audits + "?action=api_key.&limit=2&cursor=" + url.QueryEscape(str(page, "next_cursor")), Token: tok, Header: inOrg})
		} else {
			t.Fatal("GET /v1/audits?action=api_key.&limit=2: no next_cursor")
		}
		window := "&from=" + now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
		filtered := ok(200, apptest.Req{Method: "GET", Path: audits + "?format=json&actor_id=" + aliceID + "&action=api_key.created&target_type=api_key&target_id=" + keyID + window,
			Token: tok, Header: inOrg})
		if n := len(filtered["data"].([]any)); n != 1 {
			t.Fatalf("filtered audit list: %d events, want 1", n)
		}
		byKey := ok(200, apptest.Req{Method: "GET", Path: audits + "?actor_id=" + str(admin, "id"), Token: keySecret})
		if n := len(byKey["data"].([]any)); n != 2 { // created and revoked the spare key
			t.Fatalf("events by the admin key: %d, want 2", n)
		}
		listed := ok(200, apptest.Req{Method: "GET", Path: audits + "?action=api_key.&limit=100", Token: tok, Header: inOrg})["data"].([]any)
		export := doValidated(t, srv, 200, "", apptest.Req{Method: "GET", Path: audits + "/export?action=api_key.", Token: tok, Header: inOrg})
		if ct := export.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Fatalf("export Content-Type %q", ct)
		}
		if lines := strings.Split(strings.TrimSuffix(string(export.Body), "\n"), "\n"); len(lines) != len(listed) {
			t.Fatalf("export: %d lines, want %d (as listed)", len(lines), len(listed))
		}
		// The whole log, every kind of event in it checked line by line;
		// an invitation declined through its link has an anonymous actor.
		if everything := doValidated(t, srv, 200, "", apptest.Req{Method: "GET", Path: audits + "/export", Token: tok, Header: inOrg}); !bytes.Contains(everything.Body, []byte(`"actor":{"kind":"anonymous","id":null,"name":""}`)) {
			t.Fatal("export: no event without an actor")
		}
		empty := doValidated(t, srv, 200, "", apptest.Req{Method: "GET", Path: audits + "/export?target_id=" + oaNilUUID, Token: keySecret})
		if ct := empty.Header.Get("Content-Type"); ct != "application/x-ndjson" || len(empty.Body) != 0 {
			t.Fatalf("empty export: Content-Type %q, body %q", ct, empty.Body)
		}
		for _, q := range []string{"?from=yesterday", "?to=2026-13-01T00:00:00Z", "?action=DROP%20TABLE", "?format=xml", "?limit=101", "?cursor=%21",
			"?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "/export?from=yesterday"} {
			fail(400, "invalid", apptest.Req{Method: "GET", Path: audits + q, Token: tok, Header: inOrg})
		}
		fail(401, "unauthenticated", apptest.Req{Method: "GET", Path: audits, Header: inOrg})
		fail(401, "unauthenticated", apptest.Req{Method: "GET", Path: audits + "/verify", Header: inOrg})
		// The older export form on the list's path keeps working.
		if old := srv.Do(apptest.Req{Method: "GET", Path: audits + "?format=ndjson", Token: tok, Header: inOrg}); old.Status != 200 ||
			old.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("?format=ndjson: %d %v", old.Status, old.Header)
		}
		for _, p := range []string{audits, audits + "/export", audits + "/verify"} {
			fail(403, "forbidden", apptest.Req{Method: "GET", Path: p, Token: carolTok, Header: inOrg})
			fail(404, "not_found", apptest.Req{Method: "GET", Path: p, Token: ginaTok, Header: inOrg})
		}
		fail(403, "forbidden", apptest.Req{Method: "GET", Path: audits, Token: adminSecret})
		if v := ok(200, apptest.Req{Method: "GET", Path: audits + "/verify", Token: keySecret}); v["ok"] != true {
			t.Fatalf("verify: %v", v)
		}
		// A broken chain is still a 200: a cut tail names no event, an
		// edited event is named.
		otherHeader := apptest.OrgHeader(otherOrg)
		chain := srv.AuditEvents(otherOrg, "")
		slices.SortFunc(chain, func(a, b *gatehouse.AuditEvent) int { return int(a.Seq - b.Seq) })
		first, last := chain[0], chain[len(chain)-1]
		exec(t, srv, `DELETE FROM audit_events WHERE id = $1`, last.ID)
		if v := ok(200, apptest.Req{Method: "GET", Path: audits + "/verify", Token: tok, Header: otherHeader}); v["ok"] != false || v["broken_event"] != nil {
			t.Fatalf("verify after cutting the tail: %v", v)
		}
		exec(t, srv, `UPDATE audit_events SET summary = '{"name":"forged"}' WHERE id = $1`, first.ID)
		if v := ok(200, apptest.Req{Method: "GET", Path: audits + "/verify", Token: tok, Header: otherHeader}); v["ok"] != false || v["broken_event"] != first.ID {
			t.Fatalf("verify after editing the first event: %v", v)
		}

		// Revoking: the key stops working at once.
		ok(204, apptest.Req{Method: "DELETE", Path: keys + "/" + keyID, Token: adminSecret})
		fail(404, "not_found", apptest.Req{Method: "DELETE", Path: keys + "/" + keyID, Token: tok, Header: inOrg})
		fail(404, "not_found", apptest.Req{Method: "GET", Path: keys + "/" + keyID, Token: tok, Header: inOrg})
		fail(401, "invalid_api_key", apptest.Req{Method: "GET", Path: audits, Token: keySecret})

		// Signing out.
		ok(204, apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: tok})
		fail(401, "invalid_token", apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: tok})
	})
	logOpenAPICoverage(t)
}

// logOpenAPICoverage lists the documented operations no exchange validated
// so far, to show where response validation could still grow.
func logOpenAPICoverage(t *testing.T) {
	v, err := openAPICheck()
	if err != nil {
		return
	}
	doc := loadOpenAPI(t)
	v.mu.Lock()
	defer v.mu.Unlock()
	ops := map[string]bool{}
	for k := range v.seen {
		op, _, _ := strings.Cut(k, " ")
		ops[op] = true
	}
	var missing []string
	total := 0
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			total++
			if !ops[op.OperationID] {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	t.Logf("validated responses of %d of %d operations (%d operation-status pairs)", total-len(missing), total, len(v.seen))
	if len(missing) > 0 {
		t.Logf("operations without a validated response yet: %s", strings.Join(missing, ", "))
	}
}

// oaRecorder is a testing.TB that records failures instead of failing.
type oaRecorder struct {
	testing.TB
	errs []string
}

func (r *oaRecorder) Helper() {}

func (r *oaRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *oaRecorder) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestOpenAPIValidateResponse checks that validateResponse is not vacuous:
// it refuses exchanges the document does not describe.
func TestOpenAPIValidateResponse(t *testing.T) {
	user := `{"id":"0190a0a0-0000-7000-8000-000000000000","email":"a@example.com","name":"A","email_verified":true,"has_password":true,` +
		`"avatar_url":null,"current_organization_id":null,"created_at":"2026-11-01T12:00:00Z","updated_at":"2026-11-01T12:00:00Z"}`
	problem := `{"type":"urn:gatehouse:problem:unauthenticated","title":"Unauthorized","status":401,"detail":"Sign in first.","code":"unauthenticated","request_id":"r1"}`
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	me := apptest.Req{Method: "GET", Path: "/v1/me", Token: "gh_at_x"}
	key := `{"id":"0190a0a0-0000-7000-8000-000000000001","organization_id":"0190a0a0-0000-7000-8000-000000000002","name":"ci","prefix":"gh_key_abcdef",` +
		`"permissions":[],"created_by":"0190a0a0-0000-7000-8000-000000000000","created_at":"2026-11-01T12:00:00Z","expires_at":null,"last_used_at":null}`
	getKey := apptest.Req{Method: "GET", Path: "/v1/api-keys/0190a0a0-0000-7000-8000-000000000001", Token: "gh_at_x"}
	event := `{"id":"0190a0a0-0000-7000-8000-000000000003","time":"2026-11-01T12:00:00Z","organization_id":"0190a0a0-0000-7000-8000-000000000002",` +
		`"actor":{"kind":"user","id":"0190a0a0-0000-7000-8000-000000000000","name":"A"},"action":"api_key.created",` +
		`"target":{"type":"api_key","id":"0190a0a0-0000-7000-8000-000000000001"},"summary":{"name":"ci"},"ip":"127.0.0.1","user_agent":"curl",` +
		`"request_id":"r1","seq":2,"hash":"` + strings.Repeat("ab", 32) + `","prev_hash":"` + strings.Repeat("0", 64) + `"}`
	ndjsonHeader := http.Header{"Content-Type": {"application/x-ndjson"}}
	export := apptest.Req{Method: "GET", Path: "/v1/audits/export", Token: "gh_at_x"}
	tests := []struct {
		name string
		req  apptest.Req
		resp apptest.Response
		ok   bool
	}{
		{"OK", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(user)}, true},
		{"OKProblem", me, apptest.Response{Status: 401, Header: problemHeader, Body: []byte(problem)}, true},
		{"ErrMissingField", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(`{"id":"0190a0a0-0000-7000-8000-000000000000"}`)}, false},
		{"ErrUndocumentedField", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(user, `{`, `{"secret":"x",`, 1))}, false},
		{"ErrNotAUUID", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(user, `"id":"0190a0a0-0000-7000-8000-000000000000"`, `"id":"42"`, 1))}, false},
		{"ErrNotADateTime", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(user, `"created_at":"2026-11-01T12:00:00Z"`, `"created_at":"yesterday"`, 1))}, false},
		{"ErrWrongType", me, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(user, `"email_verified":true`, `"email_verified":"yes"`, 1))}, false},
		{"ErrUndocumentedStatus", me, apptest.Response{Status: 418, Header: problemHeader, Body: []byte(problem)}, false},
		{"ErrProblemAsJSON", me, apptest.Response{Status: 401, Header: jsonHeader, Body: []byte(problem)}, false},
		{"ErrProblemWithoutCode", me, apptest.Response{Status: 401, Header: problemHeader, Body: []byte(strings.Replace(problem, `"code":"unauthenticated",`, "", 1))}, false},
		{"OKKey", getKey, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(key)}, true},
		{"ErrKeyShowsSecret", getKey, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(key, `{`, `{"secret":"gh_key_x",`, 1))}, false},
		{"OKExport", export, apptest.Response{Status: 200, Header: ndjsonHeader, Body: []byte(event + "\n" + event + "\n")}, true},
		{"OKExportEmpty", export, apptest.Response{Status: 200, Header: ndjsonHeader}, true},
		{"ErrExportBadLine", export, apptest.Response{Status: 200, Header: ndjsonHeader,
			Body: []byte(event + "\n" + strings.Replace(event, `"kind":"user"`, `"kind":"robot"`, 1) + "\n")}, false},
		{"ErrExportUndocumentedField", export, apptest.Response{Status: 200, Header: ndjsonHeader, Body: []byte(strings.Replace(event, `{`, `{"secret":"x",`, 1) + "\n")}, false},
		{"ErrExportAsJSONArray", export, apptest.Response{Status: 200, Header: ndjsonHeader, Body: []byte("[" + event + "]\n")}, false},
		{"ErrExportUnterminated", export, apptest.Response{Status: 200, Header: ndjsonHeader, Body: []byte(event)}, false},
		{"ErrExportTwoPerLine", export, apptest.Response{Status: 200, Header: ndjsonHeader, Body: []byte(event + " " + event + "\n")}, false},
		{"ErrNoOperation", apptest.Req{Method: "GET", Path: "/v1/nothing"}, apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(`{}`)}, false},
		{"ErrAcceptedInvalidRequest", apptest.Req{Method: "PATCH", Path: "/v1/me", Token: "gh_at_x", Body: map[string]any{"name": "A", "role": "admin"}},
			apptest.Response{Status: 200, Header: jsonHeader, Body: []byte(user)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &oaRecorder{TB: t}
			resp := tt.resp
			validateResponse(rec, tt.req, &resp)
			if tt.ok && len(rec.errs) > 0 {
				t.Fatalf("refused a valid exchange: %s", strings.Join(rec.errs, "\n"))
			}
			if !tt.ok && len(rec.errs) == 0 {
				t.Fatal("accepted an exchange the document does not describe")
			}
		})
	}
}
