package middleware

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counted returns the value of the counter series name{labels…}.
func counted(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for i, l := range m.GetLabel() {
				if l.GetValue() != labels[i] {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// The memoised children count in the vectors' own series, from any number
// of requests at once; a method a client makes up, or an unmatched route,
// is counted but not memoised.
func TestMetricsChildren(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				r := httptest.NewRequest("POST", "/v1/members/permissions/check", nil)
				m.Observe(r, "/v1/members/permissions/check", 200+(i%2)*200, time.Millisecond)
				if g == 0 {
					m.Observe(httptest.NewRequest("BREW", "/x", nil), "/x", 200, time.Millisecond)
					m.Observe(r, unmatched, 404, time.Millisecond)
					m.Unlogged("/v1/members/permissions/check")
				}
			}
		}()
	}
	wg.Wait()
	const total = "gatehouse_http_requests_total" // labels method, route, status (sorted by name)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{total, []string{"POST", "/v1/members/permissions/check", "200"}, 2000},
		{total, []string{"POST", "/v1/members/permissions/check", "400"}, 2000},
		{total, []string{"BREW", "/x", "200"}, 500},
		{total, []string{"POST", unmatched, "404"}, 500},
		{"gatehouse_access_log_unlogged_total", []string{"/v1/members/permissions/check"}, 500},
	} {
		if got := counted(t, reg, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%q: %g, want %g", tc.name, tc.labels, got, tc.want)
		}
	}
	memo := *m.byRequest.m.Load()
	if len(memo) != 2 {
		t.Errorf("memoised %d request label sets, want the 2 of the matched route: %v", len(memo), memo)
	}
}

// A memo holds at most maxChildren children and still answers past it.
func TestChildrenBounded(t *testing.T) {
	var c children[int, int]
	for i := range maxChildren + 10 {
		if got := c.get(i, true, func() int { return i * 2 }); got != i*2 {
			t.Fatalf("get(%d) = %d", i, got)
		}
	}
	if n := len(*c.m.Load()); n != maxChildren {
		t.Fatalf("%d children memoised, want %d", n, maxChildren)
	}
}
