package api_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// unverifiedUser is an IdP account whose ID token says email_verified: false
// (mockoidc leaves a false claim out).
type unverifiedUser struct{ *mockoidc.MockUser }

func (u unverifiedUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}{base, u.Email, false}, nil
}

const orgIdPSecret = "org-idp-client-secret-value-0123456789"

// ssoSetup is an organization with an OIDC connection to an in-process IdP.
type ssoSetup struct {
	s         *apptest.Server
	idp       *fakeGoogle
	owner     string // owner's access token
	org       string
	conn      map[string]any
	connsPath string
}

func newSSOSetup(t *testing.T, e storetest.Engine) *ssoSetup {
	idp := newFakeGoogle(t)
	s := socialServer(t, e, nil, nil)
	owner, _ := s.Signup("Owner", "owner@acme.test")
	org := s.CreateOrg(owner, "Acme")
	path := "/v1/organizations/" + org + "/sso-connections"
	conn := doValidated(t, s, 201, "", apptest.Req{Method: "POST", Path: path, Token: owner, Body: map[string]any{
		"type": "oidc", "name": "Acme Okta", "issuer": idp.Issuer(), "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
		"domains": []string{"Acme.test", "acme-corp.test"}}}).JSON(t)
	return &ssoSetup{s: s, idp: idp, owner: owner, org: org, conn: conn, connsPath: path}
}

// Not parallel: the fake OpenID provider issues tokens on mockoidc's
// package-wide clock, set to this test's (socialServer).
func TestSSOConnectionsRefusals(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSSOSetup(t, e)
		s := x.s
		t.Run("BadBodies", func(t *testing.T) {
			for _, body := range []map[string]any{
				{"type": "ldap", "domains": []string{"a.test"}},
				{"type": "oidc", "domains": []string{"a.test"}},
				{"type": "oidc", "issuer": "ftp://x", "client_id": "c", "client_secret": "s", "domains": []string{"a.test"}},
				{"type": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "s", "domains": []string{}},
				{"type": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "s", "domains": []string{"not a domain"}},
				{"type": "saml", "idp_metadata_xml": "<nope/>", "domains": []string{"a.test"}},
				{"type": "saml", "idp_metadata_url": "http://insecure.test/meta", "domains": []string{"a.test"}},
				{"type": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "s", "domains": []string{"a.test"}, "extra": 1},
			} {
				doValidated(t, s, 400, "invalid", apptest.Req{Method: "POST", Path: x.connsPath, Token: x.owner, Body: body})
			}
		})
		t.Run("DomainTaken", func(t *testing.T) {
			other, _ := s.Signup("Other", "other@other.test")
			otherOrg := s.CreateOrg(other, "Other")
			doValidated(t, s, 409, "domain_taken", apptest.Req{Method: "POST", Path: "/v1/organizations/" + otherOrg + "/sso-connections", Token: other,
				Body: map[string]any{"type": "oidc", "issuer": "https://idp.test", "client_id": "c", "client_secret": "s", "domains": []string{"ACME.test"}}})
			// Another organization's connection is 404 to them.
			doValidated(t, s, 404, "not_found", apptest.Req{Method: "GET", Path: "/v1/organizations/" + otherOrg + "/sso-connections/" + x.conn["id"].(string), Token: other})
			doValidated(t, s, 404, "not_found", apptest.Req{Method: "GET", Path: x.connsPath, Token: other})
		})
		t.Run("NeedsSettingsRights", func(t *testing.T) {
			viewer, _ := s.InviteAndAccept(x.owner, x.org, "Viewer", "viewer@elsewhere.test", map[string]any{"role": "viewer"})
			doValidated(t, s, 403, "forbidden", apptest.Req{Method: "GET", Path: x.connsPath, Token: viewer})
			doValidated(t, s, 403, "forbidden", apptest.Req{Method: "DELETE", Path: x.connsPath + "/" + x.conn["id"].(string), Token: viewer})
		})
		t.Run("SecretNeverShownStoredOrLogged", func(t *testing.T) {
			if x.conn["client_secret_set"] != true || x.conn["client_secret"] != nil {
				t.Fatalf("%v", x.conn)
			}
			list := doValidated(t, s, 200, "", apptest.Req{Method: "GET", Path: x.connsPath, Token: x.owner})
			got := doValidated(t, s, 200, "", apptest.Req{Method: "GET", Path: x.connsPath + "/" + x.conn["id"].(string), Token: x.owner})
			patched := doValidated(t, s, 200, "", apptest.Req{Method: "PATCH", Path: x.connsPath + "/" + x.conn["id"].(string), Token: x.owner,
				Body: map[string]any{"name": "Acme SSO"}})
			for _, r := range []*apptest.Response{list, got, patched} {
				if bytes.Contains(r.Body, []byte(orgIdPSecret)) || bytes.Contains(r.Body, []byte(x.idp.ClientSecret)) {
					t.Fatalf("secret in a response: %s", r.Body)
				}
			}
			if d := got.JSON(t)["domains"].([]any); len(d) != 2 || d[0] != "acme-corp.test" || d[1] != "acme.test" {
				t.Fatalf("domains %v", d)
			}
			for _, v := range s.DBValues() {
				if bytes.Contains(v.Value, []byte(x.idp.ClientSecret)) {
					t.Fatalf("client secret stored in clear: %s", v)
				}
			}
			if strings.Contains(s.Logs.String(), x.idp.ClientSecret) {
				t.Fatal("client secret logged")
			}
		})
		t.Run("SignInNeedsAConnection", func(t *testing.T) {
			doValidated(t, s, 404, "sso_not_configured", apptest.Req{Method: "GET", Path: "/v1/auth/sso?email=someone@nowhere.test"})
			doValidated(t, s, 404, "sso_not_configured", apptest.Req{Method: "GET", Path: "/v1/auth/sso?connection_id=nope"})
			doValidated(t, s, 400, "invalid", apptest.Req{Method: "GET", Path: "/v1/auth/sso"})
			doValidated(t, s, 400, "invalid", apptest.Req{Method: "GET", Path: "/v1/auth/sso?email=" + url.QueryEscape("x@acme.test") + "&redirect_to=" + url.QueryEscape("https://evil.test/")})
		})
	})
}

// Not parallel: the fake OpenID provider issues tokens on mockoidc's
// package-wide clock, set to this test's (socialServer).
func TestSSOOIDCSignIn(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSSOSetup(t, e)
		s := x.s
		start := "/v1/auth/sso?mode=api&email=" + url.QueryEscape("someone@acme.test")

		t.Run("EmailOutsideDomains", func(t *testing.T) {
			x.idp.QueueUser(googleUser("o-1", "someone@gmail.test", true))
			p := apptest.Problem(t, s.StartFlow(start).Finish(t), 403)
			if p["code"] != "email_outside_domains" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("DeclaredUnverified", func(t *testing.T) {
			x.idp.QueueUser(unverifiedUser{googleUser("o-2", "unverified@acme.test", false)})
			apptest.Problem(t, s.StartFlow(start).Finish(t), 403)
		})
		t.Run("OutsiderAccountNotTakenOver", func(t *testing.T) {
			s.Signup("Outsider", "outsider@acme.test")
			x.idp.QueueUser(googleUser("o-3", "outsider@acme.test", true))
			p := apptest.Problem(t, s.StartFlow(start).Finish(t), 403)
			if p["code"] != "sso_link_refused" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("WrongNonceAndReplay", func(t *testing.T) {
			x.idp.wrongNonce.Store(true)
			x.idp.QueueUser(googleUser("o-4", "nonce@acme.test", true))
			f := s.StartFlow(start)
			p := apptest.Problem(t, f.Finish(t), 401)
			x.idp.wrongNonce.Store(false)
			if p["code"] != "invalid_id_token" {
				t.Fatalf("%v", p)
			}
			p = apptest.Problem(t, f.Finish(t), 400)
			if p["code"] != "invalid_state" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("NewUserSignsInAndSessionIsMarked", func(t *testing.T) {
			x.idp.QueueUser(googleUser("o-5", "Newcomer@ACME.test", true))
			f := s.StartFlow("/v1/auth/sso?mode=api&connection_id=" + x.conn["id"].(string))
			resp := f.Finish(t)
			validateResponse(t, apptest.Req{Method: "GET", Path: strings.TrimPrefix(f.Callback, s.URL)}, resp)
			out := apptest.Status(t, 200, resp)
			orgID, connID, err := s.Store.R().SessionSSO(context.Background(), out["session_id"].(string))
			if err != nil || orgID != x.org || connID != x.conn["id"] {
				t.Fatalf("session sso = %q %q %v", orgID, connID, err)
			}
			me := doValidated(t, s, 200, "", apptest.GetAs("/v1/me", out["access_token"].(string))).JSON(t)
			ids := me["identities"].([]any)
			if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "sso" || ids[0].(map[string]any)["connection_name"] != "Acme SSO" && ids[0].(map[string]any)["connection_name"] != "Acme Okta" {
				t.Fatalf("%v", ids)
			}
			// A password session is not an SSO session.
			pw := s.SignIn("owner@acme.test", apptest.TestPassword)
			if orgID, _, _ := s.Store.R().SessionSSO(context.Background(), pw.SessionID); orgID != "" {
				t.Fatal("password session marked as SSO")
			}
		})
		t.Run("MemberLinks", func(t *testing.T) {
			x.idp.QueueUser(googleUser("o-owner", "owner@acme.test", true))
			out := apptest.Status(t, 200, s.StartFlow(start).Finish(t))
			if out["user"].(map[string]any)["email"] != "owner@acme.test" {
				t.Fatalf("%v", out["user"])
			}
		})
		t.Run("DeletedConnectionStopsSignIn", func(t *testing.T) {
			f := s.StartFlow(start)
			doValidated(t, s, 204, "", apptest.Req{Method: "DELETE", Path: x.connsPath + "/" + x.conn["id"].(string), Token: x.owner})
			apptest.Problem(t, f.Finish(t), 400)
			doValidated(t, s, 404, "sso_not_configured", apptest.Req{Method: "GET", Path: start})
		})
	})
}
