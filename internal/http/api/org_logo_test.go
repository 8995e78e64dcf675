package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestOrgLogo(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		o := srv.SignUpTokens("Olivia", "olivia@example.com", "")
		org := srv.CreateOrg(o.Access, "Acme")
		put := func(token, orgID string, body []byte) *apptest.Response {
			return srv.Do(apptest.Req{Method: "PUT", Path: "/v1/organizations/" + orgID + "/logo", Token: token, Body: body, ContentType: "image/png"})
		}
		t.Run("OK", func(t *testing.T) {
			out := srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/organizations/" + org + "/logo", Token: o.Access, Body: apptest.JPEG(500, 300), ContentType: "image/jpeg"})
			u, _ := out["logo_image_url"].(string)
			if !strings.HasPrefix(u, srv.Config.BaseURL+"/v1/organizations/"+org+"/logo?v=") {
				t.Fatalf("logo_image_url %q", u)
			}
			// Public, like avatars; upper-case ids name the same organization.
			got := srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + strings.ToUpper(org) + "/logo"})
			if got.Status != 200 || got.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("served %d %q", got.Status, got.Header.Get("Content-Type"))
			}
			meSquare(t, got.Body, 256)
			if len(srv.AuditEvents(org, "organization.logo_updated")) != 1 {
				t.Fatal("upload not audited")
			}
			if r := srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + org + "/logo", Token: o.Access}); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d", r.Status)
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + org + "/logo"}), 404)
			// Again: none to remove is fine, and not audited twice.
			if r := srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + org + "/logo", Token: o.Access}); r.Status != http.StatusNoContent {
				t.Fatalf("delete again: %d", r.Status)
			}
			if n := len(srv.AuditEvents(org, "organization.logo_removed")); n != 1 {
				t.Fatalf("%d logo_removed events, want 1", n)
			}
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			apptest.Problem(t, put(o.Access, org, nil), 400)
			apptest.Problem(t, put(o.Access, org, []byte("not an image")), 415)
			apptest.Problem(t, put(o.Access, org, apptest.PNG(40, 40)[:50]), 415)
			apptest.Problem(t, put(o.Access, org, apptest.PNG(service.MaxAvatarPixels+1, 1)), 413)
			apptest.Problem(t, put(o.Access, org, make([]byte, service.MaxAvatarBytes+1)), 413)
			for _, id := range []string{"0190c0de-0000-7000-8000-000000000000", "nope"} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + id + "/logo"}), 404)
			}
		})
		t.Run("ErrNoRight", func(t *testing.T) {
			viewer := srv.AddStoreMember(org, "Vic", "vic@example.com", gatehouse.RoleViewerID, nil)
			apptest.Problem(t, put(viewer.Token, org, apptest.PNG(4, 4)), 403)
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + org + "/logo", Token: viewer.Token}), 403)
			apptest.Problem(t, put("", org, apptest.PNG(4, 4)), 401)
			other := srv.SignUpTokens("Oscar", "oscar@example.com", "")
			apptest.Problem(t, put(other.Access, org, apptest.PNG(4, 4)), 404)
		})
	})
}
