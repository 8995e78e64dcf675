package middleware

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP server's Prometheus collectors.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	unlogged *prometheus.CounterVec

	// The vectors' children, memoised (see children).
	byRequest children[requestLabels, requestChildren]
	byRoute   children[string, prometheus.Counter]
}

// requestLabels are one request's labels.
type requestLabels struct {
	method, route string
	status        int
}

// requestChildren are the series one request counts in.
type requestChildren struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// NewMetrics registers the HTTP collectors, plus Go and process collectors.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		unlogged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_access_log_unlogged_total", Help: "Requests left out of the access log (GATEHOUSE_ACCESS_LOG), by route pattern.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency, m.unlogged)
	return m
}

// Observe records one request.
func (m *Metrics) Observe(r *http.Request, route string, status int, d time.Duration) {
	c := m.byRequest.get(requestLabels{r.Method, route, status}, memoisable(r.Method, route), func() requestChildren {
		return requestChildren{
			requests: m.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)),
			latency:  m.latency.WithLabelValues(r.Method, route),
		}
	})
	c.requests.Inc()
	c.latency.Observe(d.Seconds())
}

// Unlogged counts one request left out of the access log.
func (m *Metrics) Unlogged(route string) {
	m.byRoute.get(route, route != unmatched, func() prometheus.Counter { return m.unlogged.WithLabelValues(route) }).Inc()
}

// memoisable says whether a request's labels have few enough values to be
// memoised: a matched route and a standard method (a pattern without a
// method takes any, which a client chooses).
func memoisable(method, route string) bool {
	if route == unmatched {
		return false
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// maxChildren bounds a children memo; past it, look-ups go to the vector.
const maxChildren = 4096

// children memoises a Prometheus vector's children by label values, so that
// a request costs one lock-free map look-up instead of the vector's hashing
// of every label and its lock (issue 17: about a tenth of the permission
// check's handler CPU). The map is copied on the rare insertion; only
// bounded label sets are memoised (the caller says which), and at most
// maxChildren of them. A child is the vector's own, so the series are the
// same either way.
type children[K comparable, V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[K]V]
}

// get returns k's child, made by mk when not memoised (memoising it when
// memo holds).
func (c *children[K, V]) get(k K, memo bool, mk func() V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	if !memo {
		return mk()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
		if len(*old) >= maxChildren {
			return mk()
		}
	}
	v := mk()
	next := make(map[K]V, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[k] = v
	c.m.Store(&next)
	return v
}

func lenOf[K comparable, V any](m *map[K]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
