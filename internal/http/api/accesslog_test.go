package api_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// accessLines counts the access lines of route in the server's log.
func accessLines(srv *apptest.Server, route string) int {
	n := 0
	for _, l := range strings.Split(srv.Logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"route":"`+route+`"`) {
			n++
		}
	}
	return n
}

// unloggedMetric reads gatehouse_access_log_unlogged_total for route.
func unloggedMetric(t *testing.T, srv *apptest.Server, route string) int {
	t.Helper()
	resp := srv.Do(apptest.Req{Method: "GET", Path: "/metrics"})
	re := regexp.MustCompile(`(?m)^gatehouse_access_log_unlogged_total\{route="` + regexp.QuoteMeta(route) + `"\} (\d+)`)
	m := re.FindSubmatch(resp.Body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestAccessLogModes(t *testing.T) {
	t.Parallel()
	const check = "/v1/members/permissions/check"
	e := storetest.Engines(t)[0] // the log does not depend on the engine
	run := func(t *testing.T, mode middleware.AccessLogMode, checks int) *apptest.Server {
		srv := apptest.New(t, e, apptest.Options{AccessLog: mode})
		tok, _ := srv.Signup("Ada", "ada@example.com")
		org := srv.CreateOrg(tok, "Acme")
		body := map[string]any{"entity_type": "organizations", "entity_id": org, "name": "members", "action": "read"}
		for i := 0; i < checks; i++ {
			srv.Must(200, apptest.Req{Method: "POST", Path: check, Token: tok, Header: apptest.OrgHeader(org), Body: body})
		}
		// A failed check (bad body) is logged in every mode.
		srv.Must(400, apptest.Req{Method: "POST", Path: check, Token: tok, Header: apptest.OrgHeader(org), Body: map[string]any{"entity_type": "nope"}})
		return srv
	}

	t.Run("OKSampledByDefault", func(t *testing.T) {
		srv := run(t, middleware.AccessLogSampled, 5000)
		lines := accessLines(srv, check)
		// 5,000 successes sampled one in a hundred, plus the failure.
		if lines > 100 || lines < 2 {
			t.Fatalf("5,000 checks wrote %d access lines, want 2..100", lines)
		}
		if !strings.Contains(srv.Logs.String(), `"route":"`+check+`","status":400`) {
			t.Fatalf("the failed check was not logged")
		}
		if got := unloggedMetric(t, srv, check); got != 5001-lines {
			t.Fatalf("unlogged checks in /metrics = %d, want %d", got, 5001-lines)
		}
		// Other routes are logged one by one.
		if accessLines(srv, "/v1/organizations") != 1 {
			t.Fatalf("organization creation not logged")
		}
	})

	t.Run("OKAll", func(t *testing.T) {
		srv := run(t, middleware.AccessLogAll, 5000)
		if lines := accessLines(srv, check); lines != 5001 {
			t.Fatalf("5,001 checks wrote %d access lines with all", lines)
		}
		if got := unloggedMetric(t, srv, check); got != 0 {
			t.Fatalf("unlogged = %d with all", got)
		}
	})

	t.Run("OKErrors", func(t *testing.T) {
		srv := run(t, middleware.AccessLogErrors, 50)
		if lines := accessLines(srv, check); lines != 1 {
			t.Fatalf("errors mode wrote %d check lines, want the one failure", lines)
		}
		if lines := accessLines(srv, "/v1/organizations"); lines != 0 {
			t.Fatalf("errors mode logged a success")
		}
		srv.Do(apptest.Req{Method: "GET", Path: "/v1/nothing"})
		if lines := accessLines(srv, "unmatched"); lines != 1 {
			t.Fatalf("errors mode: 404 lines = %d", lines)
		}
	})
}
