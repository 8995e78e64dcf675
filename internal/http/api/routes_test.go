package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// route serves the exact routes (a method and a literal path) without the
// mux: the mux, with the dashboard's pages and every dialect registered,
// must resolve each to the same pattern.
func TestExactRoutesMatchMux(t *testing.T) {
	srv := apptest.New(t, storetest.SQLite())
	bad, n := srv.API.ExactRouteMismatches()
	if n < 20 {
		t.Fatalf("%d exact routes: expected the literal API routes (POST /v1/members/permissions/check…)", n)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// Requests near an exact route that are not exactly it still go through the
// mux, and its answers and metrics labels are unchanged: HEAD served by the
// GET pattern, a method the route lacks, an escaped slash that is not a
// separator, a trailing slash.
func TestExactRoutesFallBack(t *testing.T) {
	srv := apptest.New(t, storetest.SQLite())
	for _, tt := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/health", 200},
		{"HEAD", "/health", 200},
		{"PUT", "/v1/members/permissions/check", 405},
		{"POST", "/v1/members%2Fpermissions/check", 404},
		{"POST", "/v1/members/permissions/check/", 404},
	} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.target, rec.Code, tt.status, rec.Body)
		}
	}
	metrics := string(srv.Do(apptest.Req{Method: "GET", Path: "/metrics"}).Body)
	for _, series := range []string{
		`gatehouse_http_requests_total{method="GET",route="/health",status="200"} 1`,
		`gatehouse_http_requests_total{method="HEAD",route="/health",status="200"} 1`,
		`gatehouse_http_requests_total{method="PUT",route="unmatched",status="405"} 1`,
		`gatehouse_http_requests_total{method="POST",route="unmatched",status="404"} 2`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("no %s in /metrics", series)
		}
	}
}
