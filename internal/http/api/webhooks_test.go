package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Every webhook operation, its answers and problems checked against the
// OpenAPI document.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e, apptest.Options{WebhooksAllowPrivate: true})
		calls := 0
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 {
				http.Error(w, "not yet", http.StatusBadGateway)
			}
		}))
		defer rc.Close()
		token, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(token, "Acme")
		req := func(method, path string, body any) apptest.Req {
			return apptest.Req{Method: method, Path: path, Token: token, Header: apptest.OrgHeader(org), Body: body}
		}
		ok := func(want int, r apptest.Req) map[string]any {
			t.Helper()
			resp := doValidated(t, srv, want, "", r)
			if len(resp.Body) == 0 {
				return nil
			}
			return resp.JSON(t)
		}
		doValidated(t, srv, 422, "webhook_url_invalid", req("POST", "/v1/webhooks", map[string]any{"url": "ftp://x", "events": []string{"*"}}))
		doValidated(t, srv, 400, "invalid", req("POST", "/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"bogus"}}))
		doValidated(t, srv, 400, "", req("POST", "/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}, "secret": "mine"}))
		ep := ok(201, req("POST", "/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"project.*"}, "description": "CI"}))
		id := ep["id"].(string)
		ok(200, req("GET", "/v1/webhooks", nil))
		ok(200, req("GET", "/v1/webhooks/"+id, nil))
		doValidated(t, srv, 404, "not_found", req("GET", "/v1/webhooks/not-a-uuid", nil))
		ok(200, req("PATCH", "/v1/webhooks/"+id, map[string]any{"events": []string{"project.*", "folder.*"}}))
		ok(200, req("POST", "/v1/webhooks/"+id+"/rotate-secret", nil))
		srv.CreateProject(token, org, "Videos")
		if _, err := srv.Webhooks.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		list := ok(200, req("GET", "/v1/webhooks/"+id+"/deliveries?status=pending&event_type=project.", nil))
		data := list["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("deliveries %v", list)
		}
		did := data[0].(map[string]any)["id"].(string)
		ok(200, req("GET", "/v1/webhooks/"+id+"/deliveries/"+did, nil))
		doValidated(t, srv, 400, "invalid", req("GET", "/v1/webhooks/"+id+"/deliveries?status=lost", nil))
		doValidated(t, srv, 400, "invalid", req("GET", "/v1/webhooks/"+id+"/deliveries?since=yesterday", nil))
		if out := ok(202, req("POST", "/v1/webhooks/"+id+"/deliveries/"+did+"/resend", nil)); out["queued"] != float64(0) {
			t.Fatalf("resend of a pending delivery: %v", out)
		}
		ok(202, req("POST", "/v1/webhooks/"+id+"/resend", map[string]any{"status": "failed"}))
		doValidated(t, srv, 404, "not_found", req("GET", "/v1/webhooks/"+id+"/deliveries/"+id, nil))
		ok(204, req("DELETE", "/v1/webhooks/"+id, nil))
		doValidated(t, srv, 404, "not_found", req("GET", "/v1/webhooks/"+id, nil))
	})
}
