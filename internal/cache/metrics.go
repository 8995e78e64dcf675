package cache

import "github.com/prometheus/client_golang/prometheus"

// Collector reports every view's figures under the label cache.
type Collector struct {
	s                                       *Shared
	entries, bytes, hits, misses, evictions *prometheus.Desc
	max                                     *prometheus.Desc
}

// NewCollector makes the /metrics collector of s.
func NewCollector(s *Shared) *Collector {
	l := []string{"cache"}
	return &Collector{s: s,
		entries:   prometheus.NewDesc("gatehouse_cache_entries", "Entries in the in-process cache.", l, nil),
		bytes:     prometheus.NewDesc("gatehouse_cache_bytes", "Estimated bytes held by the in-process cache.", l, nil),
		hits:      prometheus.NewDesc("gatehouse_cache_hits_total", "Look-ups answered from the in-process cache.", l, nil),
		misses:    prometheus.NewDesc("gatehouse_cache_misses_total", "Look-ups that went to the database.", l, nil),
		evictions: prometheus.NewDesc("gatehouse_cache_evictions_total", "Entries evicted to stay within GATEHOUSE_CACHE_SIZE.", l, nil),
		max:       prometheus.NewDesc("gatehouse_cache_max_bytes", "GATEHOUSE_CACHE_SIZE: the budget shared by every in-process cache.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.bytes, c.hits, c.misses, c.evictions, c.max} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.Stats() {
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(st.Entries), st.Name)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.Bytes), st.Name)
		ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(st.Hits), st.Name)
		ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(st.Misses), st.Name)
		ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(st.Evictions), st.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(c.s.MaxBytes()))
}
