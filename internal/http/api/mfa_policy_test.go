package api_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestMFAPolicy(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, ownerSecret, _ := mfaUser(t, srv, "owner@example.com")
		org := srv.CreateOrg(owner.Access, "Acme")
		h := apptest.OrgHeader(org)
		member, memberUser := srv.InviteAndAccept(owner.Access, org, "Bea", "bea@example.com", map[string]any{"role": "viewer"})
		key := srv.CreateKey(owner.Access, org, apptest.OrgGrant(org, "members", "read"))["secret"].(string)
		put := func(token string, on any) *apptest.Response {
			return srv.Do(apptest.Req{Method: "PUT", Path: "/v1/organizations/" + org + "/policy/mfa", Token: token, Body: map[string]any{"require_mfa": on}})
		}
		// Failure cases first: a member without settings write, a missing
		// field, and the owner's own session without a second factor.
		apptest.Problem(t, put(member, true), 403)
		apptest.Problem(t, put(owner.Access, nil), 400)
		apptest.ProblemCode(t, put(owner.Access, true), 409, "enroll_first")
		srv.Clock.Advance(time.Minute)
		tok := mfaLogin(t, srv, "owner@example.com")
		strong := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify",
			Body: map[string]string{"mfa_token": tok, "code": rfc6238(t, ownerSecret, srv.Clock.Now())}})["access_token"].(string)

		before := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/policy/mfa", Token: strong})
		without := before["members_without_mfa"].([]any)
		if before["require_mfa"] != false || len(without) != 1 || without[0].(map[string]any)["user_id"] != memberUser["id"] {
			t.Fatalf("policy before: %v", before)
		}
		list := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: strong, Header: h})
		mfa := map[string]any{}
		for _, m := range list["data"].([]any) {
			m := m.(map[string]any)
			mfa[m["email"].(string)] = m["mfa_enabled"]
		}
		if mfa["owner@example.com"] != true || mfa["bea@example.com"] != false {
			t.Fatalf("members' mfa_enabled: %v", mfa)
		}
		// Everyone could work before.
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: member})

		if out := srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/organizations/" + org + "/policy/mfa", Token: strong,
			Body: map[string]any{"require_mfa": true}}); out["require_mfa"] != true {
			t.Fatalf("put: %v", out)
		}
		// Sessions without a second factor are refused the organization's requests…
		for _, tokn := range []string{member, owner.Access} {
			p := apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: tokn, Header: h}), 403)
			if p["code"] != "mfa_required" {
				t.Fatalf("problem %v", p)
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: tokn}), 403)
		}
		// …but may still enroll and read themselves.
		srv.Must(200, apptest.GetAs("/v1/me", member))
		srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: member})
		// The strong session and API keys are unaffected.
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: strong, Header: h})
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: key})
		if n := len(srv.AuditEvents(org, "organization.mfa_policy_updated")); n != 1 {
			t.Fatalf("%d policy events", n)
		}
		// Signing out stays possible.
		if r := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: member}); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		// Off again: the plain session works.
		srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/organizations/" + org + "/policy/mfa", Token: strong, Body: map[string]any{"require_mfa": false}})
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: owner.Access, Header: h})
	})
}
