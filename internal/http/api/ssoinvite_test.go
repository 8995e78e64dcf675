package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Not parallel: the fake OpenID provider issues tokens on mockoidc's
// package-wide clock, set to this test's (socialServer).
func TestSSOInvitations(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSSOSetup(t, e)
		s := x.s
		invite := func(email string) apptest.Req {
			return apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: x.owner, Header: apptest.OrgHeader(x.org),
				Body: map[string]any{"email": email, "role": "viewer", "authentication": "sso"}}
		}

		t.Run("CreateNeedsACoveringConnection", func(t *testing.T) {
			p := doValidated(t, s, 422, "sso_connection_required", invite("bob@uncovered.test")).JSON(t)
			if p["status"] != float64(422) {
				t.Fatalf("%v", p)
			}
			// Another organization's connection does not count.
			other, _ := s.Signup("Other", "other@other.test")
			otherOrg := s.CreateOrg(other, "Other")
			s.AddSSOConnection(other, otherOrg, "other.test")
			doValidated(t, s, 422, "sso_connection_required", invite("carl@other.test"))
			// Vidbeo's dialect says the same, in its envelope.
			r := s.Do(apptest.Req{Method: "POST", Path: "/v2/invites", Token: x.owner, Header: apptest.OrgHeader(x.org),
				Body: map[string]string{"name": "Bob", "email": "bob@uncovered.test", "role": "viewer", "authentication": "sso"}})
			env := r.JSON(t)
			if r.Status != 422 || env["success"] != false || env["errors"].([]any)[0].(map[string]any)["code"] != "sso_connection_required" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			r = s.Do(apptest.Req{Method: "POST", Path: "/v2/invites", Token: x.owner, Header: apptest.OrgHeader(x.org),
				Body: map[string]string{"name": "Vic", "email": "vic@acme-corp.test", "role": "viewer", "authentication": "sso"}})
			if r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})

		doValidated(t, s, 201, "", invite("sam@acme.test"))
		token := s.LastInvitationToken("sam@acme.test")
		accept := "/v1/invitations/" + token + "/accept"

		t.Run("AcceptCreatingAPasswordAccountRefused", func(t *testing.T) {
			p := doValidated(t, s, 403, "sso_required", apptest.Req{Method: "POST", Path: accept,
				Body: map[string]any{"name": "Sam", "password": "a long enough password"}}).JSON(t)
			if u, _ := p["sso_url"].(string); !strings.Contains(u, "/v1/auth/sso?") || !strings.Contains(u, x.conn["id"].(string)) {
				t.Fatalf("%v", p)
			}
		})
		t.Run("AcceptInAPasswordSessionRefused", func(t *testing.T) {
			tok, _ := s.Signup("Sam", "sam@acme.test")
			doValidated(t, s, 403, "sso_required", apptest.Req{Method: "POST", Path: accept, Token: tok})
		})
		t.Run("AcceptInAnotherOrganizationsSSOSessionRefused", func(t *testing.T) {
			// Another org's connection would sign in only its own domains, so
			// forge the case in the store: a session marked for another org.
			tok := s.SignIn("sam@acme.test", apptest.TestPassword)
			other, _ := s.Signup("Third", "third@third.test")
			thirdOrg := s.CreateOrg(other, "Third")
			if err := s.Store.Tx(t.Context(), func(tx *store.Conn) error { return tx.MarkSessionSSO(t.Context(), tok.SessionID, thirdOrg, "x") }); err != nil {
				t.Fatal(err)
			}
			doValidated(t, s, 403, "sso_required", apptest.Req{Method: "POST", Path: accept, Token: tok.Access})
		})
		t.Run("AcceptThroughTheConnection", func(t *testing.T) {
			x.idp.QueueUser(googleUser("sam-sub", "sam@acme.test", true))
			out := apptest.Status(t, 200, s.StartFlow("/v1/auth/sso?mode=api&email="+url.QueryEscape("sam@acme.test")).Finish(t))
			res := doValidated(t, s, 200, "", apptest.Req{Method: "POST", Path: accept, Token: out["access_token"].(string)}).JSON(t)
			if res["membership"] == nil && res["organization_id"] == nil && res["user"] == nil {
				t.Fatalf("%v", res)
			}
		})
		t.Run("EnforcedSendsMembersToSSO", func(t *testing.T) {
			s.SignIn("sam@acme.test", apptest.TestPassword) // not enforced yet
			doValidated(t, s, 200, "", apptest.Req{Method: "PATCH", Path: x.connsPath + "/" + x.conn["id"].(string), Token: x.owner,
				Body: map[string]any{"enforced": true}})
			for _, who := range []string{"sam@acme.test", "owner@acme.test"} {
				p := doValidated(t, s, 403, "sso_required", apptest.Req{Method: "POST", Path: "/v1/auth/login",
					Body: map[string]string{"email": who, "password": apptest.TestPassword}}).JSON(t)
				if p["sso_url"] == nil {
					t.Fatalf("%v", p)
				}
			}
			// A wrong password still answers as before: nothing is revealed.
			doValidated(t, s, 401, "invalid_credentials", apptest.Req{Method: "POST", Path: "/v1/auth/login",
				Body: map[string]string{"email": "sam@acme.test", "password": "not the password"}})
			// Someone of the domain who is not a member signs in as usual.
			s.Signup("Passer", "passer@acme.test")
			// Through the connection, members still get in.
			x.idp.QueueUser(googleUser("sam-sub", "sam@acme.test", true))
			apptest.Status(t, 200, s.StartFlow("/v1/auth/sso?mode=api&email="+url.QueryEscape("sam@acme.test")).Finish(t))
		})
	})
}

// Not parallel: the fake OpenID provider issues tokens on mockoidc's
// package-wide clock, set to this test's (socialServer).
func TestEnforcedSSOStopsSocialSignIn(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		google := newFakeGoogle(t)
		s := socialServer(t, e, google, nil)
		owner, _ := s.Signup("Owner", "owner@acme.test")
		org := s.CreateOrg(owner, "Acme")
		conn := s.AddSSOConnection(owner, org, "acme.test")
		google.QueueUser(googleUser("g-owner", "owner@acme.test", true))
		apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t)) // not enforced yet
		s.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/organizations/" + org + "/sso-connections/" + conn["id"].(string), Token: owner,
			Body: map[string]any{"enforced": true}})
		google.QueueUser(googleUser("g-owner", "owner@acme.test", true))
		p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t), 403)
		if p["code"] != "sso_required" || p["sso_url"] == nil {
			t.Fatalf("%v", p)
		}
		// Someone else of the domain, not a member, still may.
		google.QueueUser(googleUser("g-guest", "guest@acme.test", true))
		apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
	})
}
