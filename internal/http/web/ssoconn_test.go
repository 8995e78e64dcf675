package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Settings → Single sign-on on both engines: without settings write there
// is no form and every post is a 403 page; wrong input is refused beside
// its field with what was typed kept (never the secret); another
// organization's connection is 404; then a connection is created, edited
// (an empty secret keeps the stored one), enforced and deleted.
func TestSSOConnectionsPages(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := apptest.New(t, e)
			oc, _ := owner(t, s, "olivia@acme.test")
			olivia := s.SignIn("olivia@acme.test", pw)
			org := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations", Token: olivia.Access})["data"].([]any)[0].(map[string]any)["id"].(string)
			s.InviteAndAccept(olivia.Access, org, "Vic Viewer", "vic@acme.test", map[string]any{"role": "viewer"})
			viewer := s.WebClient()
			apptest.WantRedirect(t, viewer.Post("/login", url.Values{"email": {"vic@acme.test"}, "password": {apptest.TestPassword}}), "/dashboard")
			globex := s.SignUpTokens("Gina Globex", "gina@globex.test", "")
			gorg := s.CreateOrg(globex.Access, "Globex")
			other := s.AddSSOConnection(globex.Access, gorg, "globex.test")["id"].(string)
			mine := s.AddSSOConnection(olivia.Access, org, "acme.test")["id"].(string)

			// No right: no link to the forms, a 403 page for every address.
			apptest.WantPage(t, viewer.Get("/settings/sso"), 403, "You need settings read permission")
			for path, form := range map[string]url.Values{
				"/settings/sso":                       {"type": {"oidc"}, "issuer": {"https://idp.example"}, "client_id": {"x"}, "client_secret": {"y"}, "domains": {"vic.test"}},
				"/settings/sso/" + mine:               {"domains": {"vic.test"}},
				"/settings/sso/" + mine + "/enforced": {"enforced": {"true"}},
				"/settings/sso/" + mine + "/delete":   {},
			} {
				apptest.WantPage(t, viewer.Post(path, form), 403, "You need settings write permission")
			}
			apptest.WantPage(t, viewer.Get("/settings/sso/"+mine), 403)
			conns := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/sso-connections", Token: olivia.Access})["data"].([]any)
			if len(conns) != 1 || conns[0].(map[string]any)["enforced"] != false {
				t.Fatalf("a refused post changed the connections: %v", conns)
			}

			// Another organization's connection, and an id that is none: 404.
			for _, id := range []string{other, "not-an-id"} {
				apptest.WantPage(t, oc.Get("/settings/sso/"+id), 404, "SSO connection not found.")
				apptest.WantPage(t, oc.Post("/settings/sso/"+id, url.Values{"domains": {"globex.test"}}), 404)
				apptest.WantPage(t, oc.Post("/settings/sso/"+id+"/enforced", url.Values{"enforced": {"true"}}), 404)
				apptest.WantPage(t, oc.Post("/settings/sso/"+id+"/delete", url.Values{}), 404)
			}
			if got := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + gorg + "/sso-connections/" + other, Token: globex.Access}); got["enforced"] != false {
				t.Fatalf("another organization's connection changed: %v", got)
			}

			// Missing fields, a bad issuer, a bad domain, a taken domain, no type.
			page := oc.Post("/settings/sso", url.Values{"type": {"oidc"}, "name": {"Acme Okta"}, "client_secret": {"s3cret-typed"}})
			apptest.WantPage(t, page, 400, `id="f-issuer-err"`, "Issuer URL is required.", "Client ID is required", "Email domains must name at least one email domain.", `value="Acme Okta"`)
			apptest.WantNot(t, page, "s3cret-typed")
			page = oc.Post("/settings/sso", url.Values{"type": {"oidc"}, "issuer": {"ftp://idp.example"}, "client_id": {"gatehouse"}, "client_secret": {"s3cret-typed"}, "domains": {"acme.example, not_a_domain"}})
			apptest.WantPage(t, page, 400, "Issuer URL must be an http:// or https:// URL.", "The domain “not_a_domain” is not an email domain such as example.com.",
				`value="ftp://idp.example"`, `value="gatehouse"`, `value="acme.example, not_a_domain"`)
			apptest.WantNot(t, page, "s3cret-typed")
			page = oc.Post("/settings/sso", url.Values{"type": {"oidc"}, "issuer": {"https://idp.example"}, "client_id": {"gatehouse"}, "client_secret": {"x"}, "domains": {"globex.test"}})
			apptest.WantPage(t, page, 409, `id="f-domains-err"`, "already belongs to another SSO connection")
			apptest.WantPage(t, oc.Post("/settings/sso", url.Values{"type": {"ldap"}, "domains": {"acme.example"}}), 400, "Choose OpenID Connect or SAML.")
			page = oc.Post("/settings/sso", url.Values{"type": {"saml"}, "domains": {"acme.example"}, "idp_metadata_xml": {"<not-metadata/>"}})
			apptest.WantPage(t, page, 400, `id="f-idp_metadata_xml-err"`, "Metadata XML must be a SAML identity provider")

			// Create an OIDC connection: the page shows what the IdP needs.
			r := oc.Post("/settings/sso", url.Values{"type": {"oidc"}, "name": {"Acme Okta"}, "issuer": {"https://acme.okta.example/"}, "client_id": {"gatehouse"},
				"client_secret": {"first-secret"}, "domains": {"Acme.Example, acme.co.example"}})
			apptest.WantRedirect(t, r, "/settings/sso/")
			cid := strings.TrimPrefix(r.Location, "/settings/sso/")
			page = oc.Follow(r)
			apptest.WantPage(t, page, 200, "Connection Acme Okta created.", "/v1/auth/sso/oidc/callback", `value="https://acme.okta.example"`,
				`value="acme.co.example, acme.example"`, "Leave empty to keep the current secret.")
			apptest.WantNot(t, page, "first-secret")
			apptest.WantPage(t, oc.Get("/settings/sso"), 200, "Acme Okta", "OpenID Connect", "acme.co.example, acme.example", "Edit", "Require for")
			apptest.WantPage(t, oc.Get("/settings"), 200, `href="/settings/sso"`, "Acme Okta")
			apptest.WantPage(t, viewer.Get("/dashboard"), 200)
			apptest.WantNot(t, viewer.Get("/dashboard"), `href="/settings/sso"`)

			// Edit: wrong input keeps what was typed; an empty secret keeps the stored one.
			page = oc.Post("/settings/sso/"+cid, url.Values{"name": {"Acme SSO"}, "issuer": {"not a url"}, "client_id": {"gatehouse"}, "domains": {"acme.example"}, "client_secret": {"typed-again"}})
			apptest.WantPage(t, page, 400, "Issuer URL must be", `value="not a url"`, `value="Acme SSO"`)
			apptest.WantNot(t, page, "typed-again")
			apptest.WantRedirect(t, oc.Post("/settings/sso/"+cid, url.Values{"name": {"Acme SSO"}, "issuer": {"https://acme.okta.example"}, "client_id": {"gatehouse-2"},
				"domains": {"acme.example"}, "enforced": {"on"}}), "/settings/sso")
			got := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/sso-connections/" + cid, Token: olivia.Access})
			if got["name"] != "Acme SSO" || got["client_id"] != "gatehouse-2" || got["client_secret_set"] != true || got["enforced"] != true || len(got["domains"].([]any)) != 1 {
				t.Fatalf("after the edit: %v", got)
			}
			if ev := s.AuditEvents(org, "sso_connection.updated"); len(ev) == 0 {
				t.Fatal("the edit was not audited")
			}

			// The toggle, then delete.
			apptest.WantRedirect(t, oc.Post("/settings/sso/"+cid+"/enforced", url.Values{"enforced": {"false"}}), "/settings/sso")
			got = s.Must(200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/sso-connections/" + cid, Token: olivia.Access})
			if got["enforced"] != false {
				t.Fatalf("still enforced: %v", got)
			}
			page = oc.Follow(oc.Post("/settings/sso/"+cid+"/delete", url.Values{}))
			apptest.WantPage(t, page, 200, "Connection Acme SSO deleted")
			s.Must(404, apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/sso-connections/" + cid, Token: olivia.Access})
			apptest.WantRedirect(t, oc.Post("/settings/sso/"+mine+"/delete", url.Values{}), "/settings/sso")
			apptest.WantPage(t, oc.Get("/settings/sso"), 200, "No single sign-on connection yet", "Add one below")
		})
	}
}

// A SAML connection from pasted metadata: the page gives the ACS URL and
// the entity ID (metadata URL) to enter in the identity provider.
func TestSSOConnectionsSAML(t *testing.T) {
	s := apptest.New(t, storetest.SQLite())
	oc, _ := owner(t, s, "olivia@acme.test")
	idp := apptest.NewSAMLIdP(t, time.Now)
	// A metadata URL that answers nothing, then one that is not https.
	page := oc.Post("/settings/sso", url.Values{"type": {"saml"}, "domains": {"acme.test"}, "idp_metadata_url": {"https://127.0.0.1:1/metadata"}})
	apptest.WantPage(t, page, 503, `id="f-idp_metadata_url-err"`, "The metadata could not be fetched", `value="https://127.0.0.1:1/metadata"`)
	page = oc.Post("/settings/sso", url.Values{"type": {"saml"}, "domains": {"acme.test"}, "idp_metadata_url": {"http://idp.example/metadata"}})
	apptest.WantPage(t, page, 400, "Metadata URL must be an https:// URL.")
	r := oc.Post("/settings/sso", url.Values{"type": {"saml"}, "name": {"Acme Entra"}, "domains": {"acme.test"}, "idp_metadata_xml": {idp.Metadata(t)}})
	apptest.WantRedirect(t, r, "/settings/sso/")
	cid := strings.TrimPrefix(r.Location, "/settings/sso/")
	page = oc.Follow(r)
	apptest.WantPage(t, page, 200, "SAML single sign-on for acme.test", "/v1/auth/sso/saml/acs", "/v1/auth/sso/saml/metadata", "Leave empty to keep the current metadata.")
	// Saving without new metadata keeps it.
	apptest.WantRedirect(t, oc.Post("/settings/sso/"+cid, url.Values{"name": {"Acme Entra ID"}, "domains": {"acme.test"}}), "/settings/sso")
	apptest.WantPage(t, oc.Get("/settings/sso"), 200, "Acme Entra ID", "SAML", "/v1/auth/sso/saml/acs")
}
