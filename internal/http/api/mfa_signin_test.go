package api_test

// The second factor across every way in: the policy document's
// require_mfa, Google and GitHub sign-ins (asked), organization SSO (not
// asked, and satisfying require_mfa), and password resets (never skipped).

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestMFAPolicyInPolicyDocument(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner := srv.SignUpTokens("Owner", "owner@example.com", "")
		org := srv.CreateOrg(owner.Access, "Acme")
		member, _ := srv.InviteAndAccept(owner.Access, org, "Bea", "bea@example.com", map[string]any{"role": "viewer"})
		path := "/v1/organizations/" + org + "/policy"
		patch := func(token string, body any) *apptest.Response {
			r := apptest.Req{Method: "PATCH", Path: path, Token: token, Body: body}
			resp := srv.Do(r)
			validateResponse(t, r, resp)
			return resp
		}
		if p := doValidated(t, srv, 200, "", apptest.GetAs(path, owner.Access)).JSON(t); p["require_mfa"] != false {
			t.Fatalf("policy %v", p)
		}
		// Failure cases: a wrong type, no settings write, a session without a
		// second factor, and a bad sibling field (nothing applied).
		apptest.Problem(t, patch(owner.Access, map[string]any{"require_mfa": "yes"}), 400)
		apptest.Problem(t, patch(member, map[string]any{"require_mfa": true}), 403)
		apptest.ProblemCode(t, patch(owner.Access, map[string]any{"require_mfa": true}), 409, "enroll_first")
		// A passkey sign-in is a strong session.
		key, _ := addPasskey(t, srv, owner.Access, "Laptop")
		strong := apptest.Status(t, 200, passkeyLogin(srv, key.Sign(t, passkeyOptions(srv, ""))))["access_token"].(string)
		apptest.Problem(t, patch(strong, map[string]any{"require_mfa": true, "invitations_per_day": 0}), 400)
		if p := srv.Must(200, apptest.GetAs(path+"/mfa", strong)); p["require_mfa"] != false {
			t.Fatalf("a refused patch applied require_mfa: %v", p)
		}
		out := patch(strong, map[string]any{"require_mfa": true})
		if p := apptest.Status(t, 200, out); p["require_mfa"] != true || p["who_can_invite"] != "members_write" {
			t.Fatalf("patched policy %v", p)
		}
		// The same setting as /policy/mfa, which lists who it locks out (the
		// owner, with a passkey, is not among them).
		mfa := srv.Must(200, apptest.GetAs(path+"/mfa", strong))
		if without := mfa["members_without_mfa"].([]any); mfa["require_mfa"] != true || len(without) != 1 || without[0].(map[string]any)["email"] != "bea@example.com" {
			t.Fatalf("policy/mfa %v", mfa)
		}
		apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: member}), 403, "mfa_required")
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: strong})
		if n := len(srv.AuditEvents(org, "organization.mfa_policy_updated")); n != 1 {
			t.Fatalf("%d mfa policy events", n)
		}
		// Off through the document; other fields are left as they were.
		if p := apptest.Status(t, 200, patch(strong, map[string]any{"require_mfa": false})); p["require_mfa"] != false {
			t.Fatalf("%v", p)
		}
		srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org, Token: member})
		if p := apptest.Status(t, 200, patch(strong, map[string]any{"invitations_per_day": 5})); p["require_mfa"] != false || p["invitations_per_day"] != float64(5) {
			t.Fatalf("%v", p)
		}
	})
}

func TestSocialSignInAsksSecondFactor(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		google, gh := newFakeGoogle(t), newFakeGitHub(t)
		srv := socialServer(t, e, google, gh)
		_, secret, _ := mfaUser(t, srv, "ada@example.com")
		bob := srv.SignUpTokens("Bob", "bob@example.com", "")
		key, _ := addPasskey(t, srv, bob.Access, "Phone")

		// Google, then the app's code: no session before it.
		google.QueueUser(googleUser("g-ada", "ada@example.com", true))
		out := apptest.Status(t, 200, srv.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
		if out["mfa_required"] != true || out["access_token"] != nil || fmt.Sprint(out["methods"]) != "[totp recovery_code]" {
			t.Fatalf("google sign-in of an account with an app: %v", out)
		}
		srv.Clock.Advance(time.Minute)
		tok := out["mfa_token"].(string)
		apptest.ProblemCode(t, mfaVerify(srv, tok, "000000"), 401, "invalid_mfa_code")
		s := apptest.Status(t, 200, mfaVerify(srv, tok, rfc6238(t, secret, srv.Clock.Now())))
		if amr := sessionAMR(t, srv, s["access_token"].(string), s["session_id"].(string)); amr != "[ext otp]" {
			t.Fatalf("amr %s, want [ext otp]", amr)
		}

		// GitHub, then a passkey.
		gh.set(map[string]any{"id": 42, "login": "bob", "name": "Bob"}, map[string]any{"email": "bob@example.com", "primary": true, "verified": true})
		out = apptest.Status(t, 200, srv.StartFlow("/v1/auth/oauth/github?mode=api").Finish(t))
		if out["mfa_required"] != true || out["access_token"] != nil || fmt.Sprint(out["methods"]) != "[passkey]" {
			t.Fatalf("github sign-in of an account with a passkey: %v", out)
		}
		s = apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify",
			Body: map[string]any{"mfa_token": out["mfa_token"], "credential": key.Sign(t, out["passkey_options"].(map[string]any))}}))
		if amr := sessionAMR(t, srv, s["access_token"].(string), s["session_id"].(string)); amr != "[ext hwk]" {
			t.Fatalf("amr %s, want [ext hwk]", amr)
		}

		// Without a second factor, Google signs in at once.
		google.QueueUser(googleUser("g-cy", "cy@example.com", true))
		s = apptest.Status(t, 200, srv.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
		if amr := sessionAMR(t, srv, s["access_token"].(string), s["session_id"].(string)); amr != "[ext]" {
			t.Fatalf("amr %s, want [ext]", amr)
		}

		// The dashboard's flow shows the second-factor form, with no cookie.
		google.QueueUser(googleUser("g-ada", "ada@example.com", true))
		resp := srv.StartFlow("/v1/auth/oauth/google").Finish(t)
		if resp.Status != 200 || resp.Cookie("gh_access") != nil || !containsAll(string(resp.Body), `action="/login/mfa"`, `name="mfa_token"`) {
			t.Fatalf("web callback: %d %v %.300s", resp.Status, resp.Header, resp.Body)
		}
	})
}

func TestSSOSignInSkipsSecondFactor(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSSOSetup(t, e)
		s := x.s
		// The owner turns on an authenticator app: Google would ask for it,
		// the organization's IdP does not (it answers for its factors).
		start := s.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: x.owner})
		s.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Token: x.owner,
			Body: map[string]string{"code": rfc6238(t, start["secret"].(string), s.Clock.Now())}})
		x.idp.QueueUser(googleUser("o-owner", "owner@acme.test", true))
		out := apptest.Status(t, 200, s.StartFlow("/v1/auth/sso?mode=api&email="+url.QueryEscape("owner@acme.test")).Finish(t))
		if out["mfa_required"] != nil || out["access_token"] == nil {
			t.Fatalf("sso sign-in: %v", out)
		}
		fed := out["access_token"].(string)
		if amr := sessionAMR(t, s, fed, out["session_id"].(string)); amr != "[fed]" {
			t.Fatalf("amr %s, want [fed]", amr)
		}
		// An SSO session satisfies require_mfa (it may even turn it on).
		s.Must(200, apptest.Req{Method: "PUT", Path: "/v1/organizations/" + x.org + "/policy/mfa", Token: fed, Body: map[string]any{"require_mfa": true}})
		s.Must(200, apptest.Req{Method: "GET", Path: "/v1/members", Token: fed, Header: apptest.OrgHeader(x.org)})
	})
}

func TestPasswordResetKeepsSecondFactor(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		_, secret, _ := mfaUser(t, srv, "ada@example.com")
		srv.Clock.Advance(time.Minute)
		srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
		rt := srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))["reset_token"].(string)
		const newPW = "a brand new passphrase"
		srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", rt, "password", newPW))
		// The new password earns only the second step; the app is still on.
		out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "ada@example.com", "password": newPW}})
		if out["mfa_required"] != true || out["access_token"] != nil {
			t.Fatalf("login after a reset: %v", out)
		}
		apptest.Status(t, 200, mfaVerify(srv, out["mfa_token"].(string), rfc6238(t, secret, srv.Clock.Now())))
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
