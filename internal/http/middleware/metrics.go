package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP server's Prometheus collectors.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	unlogged *prometheus.CounterVec
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
	m.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(r.Method, route).Observe(d.Seconds())
}

// Unlogged counts one request left out of the access log.
func (m *Metrics) Unlogged(route string) { m.unlogged.WithLabelValues(route).Inc() }
