package webhook

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store"
)

// RegisterMetrics adds the webhook metrics to reg: attempts by outcome
// (counted through w.OnResult), and, read at scrape time, the queue depth
// and the age of the oldest pending delivery.
func RegisterMetrics(reg *prometheus.Registry, st *store.Store, w *Worker) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_webhook_delivery_attempts_total",
		Help: "Webhook delivery attempts by outcome (succeeded, retry, failed)."}, []string{"outcome"})
	for _, o := range []string{OutcomeSucceeded, OutcomeRetry, OutcomeFailed} {
		attempts.WithLabelValues(o)
	}
	w.OnResult = func(outcome string) { attempts.WithLabelValues(outcome).Inc() }
	reg.MustRegister(attempts, &collector{store: st, now: func() time.Time { return w.nowOr() },
		pending: prometheus.NewDesc("gatehouse_webhook_deliveries_pending", "Webhook deliveries waiting (enabled endpoints).", nil, nil),
		oldest:  prometheus.NewDesc("gatehouse_webhook_oldest_pending_seconds", "Age of the oldest waiting webhook delivery (0 when none).", nil, nil)})
}

func (w *Worker) nowOr() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return store.Now()
}

type collector struct {
	store           *store.Store
	now             func() time.Time
	pending, oldest *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.oldest }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.store.R().WebhookQueueStats(ctx)
	if err != nil {
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
