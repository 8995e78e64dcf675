package api_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// rdSetup is a server allowing two redirect origins, an owner and an
// organization.
func rdSetup(t *testing.T, e storetest.Engine, opts ...apptest.Options) (srv *apptest.Server, owner, org string) {
	t.Helper()
	var o apptest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Config = func(c *app.Config) { c.AllowedRedirectOrigins = "https://app.example.com,http://localhost:3000" }
	srv = apptest.New(t, e, o)
	owner, _ = srv.Signup("Olivia Owner", "olivia@example.com")
	org = srv.CreateOrg(owner, "Acme Video")
	return srv, owner, org
}

func TestRedirectURL(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv, owner, org := rdSetup(t, e)
		do := func(method, path string, body any) *apptest.Response {
			return srv.Do(apptest.Req{Method: method, Path: path, Token: owner, Header: apptest.OrgHeader(org), Body: body})
		}
		policy := "/v1/organizations/" + org + "/policy"
		foreign := []string{
			"https://evil.example.com/welcome",
			"https://app.example.com.evil.example/welcome", // a suffix is not the origin
			"https://evil.example/?https://app.example.com",
			"http://app.example.com/welcome",       // another scheme
			"https://app.example.com:8443/welcome", // another port
			"http://localhost:3001/",
			"https://user@app.example.com/welcome", // credentials
			"javascript:alert(1)",
			"//app.example.com/welcome", // scheme-relative
			"/welcome",
			"https:/\\evil.example/",
			"data:text/html,hi",
		}

		t.Run("ErrForeignOriginRefused", func(t *testing.T) {
			for i, u := range foreign {
				email := "foreign" + string(rune('a'+i)) + "@example.com"
				p := apptest.ProblemCode(t, do("POST", "/v1/members/invitations", map[string]any{"email": email, "role": "viewer", "redirect_url": u}), 422, "redirect_not_allowed")
				apptest.ProblemField(t, p, "redirect_url")
				if len(srv.MailTo(email)) != 0 {
					t.Fatalf("%s: invitation mailed", u)
				}
				apptest.ProblemField(t, apptest.ProblemCode(t, do("PATCH", policy, map[string]any{"redirect_url": u}), 422, "redirect_not_allowed"), "redirect_url")
			}
			// In a bulk request only the row is refused.
			res := apptest.Status(t, 200, do("POST", "/v1/members/invitations/bulk", map[string]any{"invitations": []any{
				map[string]any{"email": "bulk1@example.com", "role": "viewer", "redirect_url": foreign[0]},
				map[string]any{"email": "bulk2@example.com", "role": "viewer", "redirect_url": "https://app.example.com/bulk"},
			}}))["results"].([]any)
			r0, r1 := res[0].(map[string]any), res[1].(map[string]any)
			if r0["status"] != float64(422) || r1["status"] != float64(201) {
				t.Fatalf("bulk results %v", res)
			}
			errs := r0["problem"].(map[string]any)["errors"].([]any)
			if errs[0].(map[string]any)["field"] != "invitations[0].redirect_url" {
				t.Fatalf("bulk problem %v", r0)
			}
			if r1["invitation"].(map[string]any)["redirect_url"] != "https://app.example.com/bulk" {
				t.Fatalf("bulk invitation %v", r1)
			}
		})
		t.Run("ErrNoOriginsConfigured", func(t *testing.T) {
			plain := apptest.New(t, e)
			tok, _ := plain.Signup("Pat Plain", "pat@example.com")
			o := plain.CreateOrg(tok, "Plain Co")
			apptest.ProblemCode(t, plain.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: tok, Header: apptest.OrgHeader(o),
				Body: map[string]any{"email": "x@example.com", "role": "viewer", "redirect_url": "https://app.example.com/"}}), 422, "redirect_not_allowed")
		})
		t.Run("AcceptLandsThere", func(t *testing.T) {
			inv := apptest.Status(t, 201, do("POST", "/v1/members/invitations", map[string]any{"email": "ann@example.com", "role": "viewer",
				"redirect_url": "https://APP.example.com:443/welcome?x=1#top"}))
			if inv["redirect_url"] != "https://APP.example.com:443/welcome?x=1#top" {
				t.Fatalf("invitation %v", inv)
			}
			out := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("ann@example.com") + "/accept",
				Body: map[string]any{"name": "Ann", "password": "a long enough password"}})
			if out["redirect_url"] != "https://APP.example.com:443/welcome?x=1#top" {
				t.Fatalf("accept answer %v", out["redirect_url"])
			}
			// Without one of its own, the organization's applies; without either, none.
			apptest.Status(t, 201, do("POST", "/v1/members/invitations", map[string]any{"email": "bob@example.com", "role": "viewer"}))
			p := apptest.Status(t, 200, do("PATCH", policy, map[string]any{"redirect_url": "http://localhost:3000/home"}))
			if p["redirect_url"] != "http://localhost:3000/home" {
				t.Fatalf("policy %v", p)
			}
			out = srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("bob@example.com") + "/accept",
				Body: map[string]any{"name": "Bob", "password": "a long enough password"}})
			if out["redirect_url"] != "http://localhost:3000/home" {
				t.Fatalf("accept answer %v", out["redirect_url"])
			}
			apptest.Status(t, 200, do("PATCH", policy, map[string]any{"redirect_url": ""}))
			apptest.Status(t, 201, do("POST", "/v1/members/invitations", map[string]any{"email": "cy@example.com", "role": "viewer"}))
			out = srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("cy@example.com") + "/accept",
				Body: map[string]any{"name": "Cy", "password": "a long enough password"}})
			if v, ok := out["redirect_url"]; !ok || v != nil {
				t.Fatalf("accept answer without redirect: %v", out)
			}
		})
	})
}
