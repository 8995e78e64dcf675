package api_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// The SP metadata is XML: the response validator reads it as a string.
func init() {
	openapi3filter.RegisterBodyDecoder("application/samlmetadata+xml", openapi3filter.FileBodyDecoder)
}

// samlSetup is an organization with a SAML connection to samlidp.
type samlSetup struct {
	s     *apptest.Server
	idp   *apptest.SAMLIdP
	owner string
	org   string
	conn  map[string]any
}

func newSAMLSetup(t *testing.T, e storetest.Engine) *samlSetup {
	s := providersServer(t, e, apptest.NewClock(), nil, nil)
	idp := apptest.NewSAMLIdP(t, s.Clock.Now)
	owner, _ := s.Signup("Owner", "owner@saml.test")
	org := s.CreateOrg(owner, "Saml Corp")
	conn := doValidated(t, s, 201, "", apptest.Req{Method: "POST", Path: "/v1/organizations/" + org + "/sso-connections", Token: owner,
		Body: map[string]any{"type": "saml", "name": "Saml IdP", "idp_metadata_xml": idp.Metadata(t), "domains": []string{"saml.test"}}}).JSON(t)
	meta := doValidated(t, s, 200, "", apptest.Req{Method: "GET", Path: strings.TrimPrefix(conn["sp_metadata_url"].(string), s.Config.BaseURL)})
	idp.AddServiceProvider(t, "gatehouse", string(meta.Body))
	idp.AddUser(t, "alice", "alice@saml.test", "alice-password")
	idp.AddUser(t, "mallory", "mallory@elsewhere.test", "mallory-password")
	return &samlSetup{s: s, idp: idp, owner: owner, org: org, conn: conn}
}

// flow starts a SAML sign-in and signs in at the IdP as user.
func (x *samlSetup) flow(t *testing.T, user, password string) (*apptest.Response, *apptest.SAMLPost) {
	start := apptest.Get(t, x.s.URL+"/v1/auth/sso?mode=api&connection_id="+x.conn["id"].(string))
	if start.Status != 302 {
		t.Fatalf("start: %d %s", start.Status, start.Body)
	}
	return start, x.idp.SignInAtIdP(t, start.Header.Get("Location"), user, password)
}

var samlSigRe = regexp.MustCompile(`(?s)<ds:Signature.*?</ds:Signature>`)

func TestSAMLSignInRefusals(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSAMLSetup(t, e)
		s := x.s
		t.Run("ConnectionAnswersSPMetadata", func(t *testing.T) {
			for _, k := range []string{"sp_metadata_url", "sp_entity_id", "sp_acs_url"} {
				if x.conn[k] == nil {
					t.Fatalf("no %s in %v", k, x.conn)
				}
			}
			doValidated(t, s, 404, "not_found", apptest.Req{Method: "GET", Path: "/v1/auth/sso/saml/metadata/" + x.owner[:8]})
		})
		t.Run("NoCookie", func(t *testing.T) {
			_, post := x.flow(t, "alice", "alice-password")
			p := apptest.Problem(t, s.PostACS(post, nil), 400)
			if p["code"] != "invalid_state" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("UnsignedAssertion", func(t *testing.T) {
			start, post := x.flow(t, "alice", "alice-password")
			raw, _ := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
			stripped := samlSigRe.ReplaceAllString(string(raw), "")
			if stripped == string(raw) {
				t.Fatal("the IdP's response has no signature to strip")
			}
			post.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(stripped)))
			p := apptest.Problem(t, s.PostACS(post, start.Cookie("gh_auth_flow")), 401)
			if p["code"] != "invalid_saml_response" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("TamperedEmail", func(t *testing.T) {
			start, post := x.flow(t, "mallory", "mallory-password")
			raw, _ := base64.StdEncoding.DecodeString(post.Form.Get("SAMLResponse"))
			forged := strings.ReplaceAll(string(raw), "mallory@elsewhere.test", "owner@saml.test")
			post.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(forged)))
			apptest.Problem(t, s.PostACS(post, start.Cookie("gh_auth_flow")), 401)
		})
		t.Run("EmailOutsideDomains", func(t *testing.T) {
			start, post := x.flow(t, "mallory", "mallory-password")
			p := apptest.Problem(t, s.PostACS(post, start.Cookie("gh_auth_flow")), 403)
			if p["code"] != "email_outside_domains" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("ResponseToAnotherRequest", func(t *testing.T) {
			_, post := x.flow(t, "alice", "alice-password")
			other := apptest.Get(t, s.URL+"/v1/auth/sso?mode=api&connection_id="+x.conn["id"].(string))
			u, _ := url.Parse(other.Header.Get("Location"))
			post.Form.Set("RelayState", u.Query().Get("RelayState"))
			p := apptest.Problem(t, s.PostACS(post, other.Cookie("gh_auth_flow")), 401)
			if p["code"] != "invalid_saml_response" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("TooOld", func(t *testing.T) {
			start, post := x.flow(t, "alice", "alice-password")
			s.Clock.Advance(5 * time.Minute)
			defer s.Clock.Advance(-5 * time.Minute)
			apptest.Problem(t, s.PostACS(post, start.Cookie("gh_auth_flow")), 401)
		})
		t.Run("Replayed", func(t *testing.T) {
			start, post := x.flow(t, "alice", "alice-password")
			apptest.Status(t, 200, s.PostACS(post, start.Cookie("gh_auth_flow")))
			p := apptest.Problem(t, s.PostACS(post, start.Cookie("gh_auth_flow")), 400)
			if p["code"] != "invalid_state" {
				t.Fatalf("%v", p)
			}
		})
	})
}

func TestSAMLSignIn(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		x := newSAMLSetup(t, e)
		s := x.s
		start, post := x.flow(t, "alice", "alice-password")
		resp := s.PostACS(post, start.Cookie("gh_auth_flow"))
		validateResponse(t, apptest.Req{Method: "POST", Path: "/v1/auth/sso/saml/acs", Body: post.Form.Encode(), ContentType: "application/x-www-form-urlencoded"}, resp)
		out := apptest.Status(t, 200, resp)
		user := out["user"].(map[string]any)
		if user["email"] != "alice@saml.test" || user["has_password"] != false {
			t.Fatalf("%v", user)
		}
		org, conn, err := s.Store.R().SessionSSO(context.Background(), out["session_id"].(string))
		if err != nil || org != x.org || conn != x.conn["id"] {
			t.Fatalf("session sso %q %q %v", org, conn, err)
		}
		// Again: the same account through the linked identity.
		start, post = x.flow(t, "alice", "alice-password")
		again := apptest.Status(t, 200, s.PostACS(post, start.Cookie("gh_auth_flow")))
		if again["user"].(map[string]any)["id"] != user["id"] {
			t.Fatal("second SAML sign-in reached another account")
		}
	})
}
