package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/loop"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Retry waits after each failed attempt: 8 attempts over about a day
// (each wait varies by ±20%, so that many failing deliveries spread out).
var Retry = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// DisableAfter is how long an endpoint may fail every delivery before the
// worker disables it.
const DisableAfter = 24 * time.Hour

// Changed is the notification (store.Conn.Notify) that an organization's
// endpoints or their subscriptions changed: every change of an endpoint
// announces it, so that each process drops the subscriptions it keeps for
// the organization's audited changes (service/webhook_subscriptions.go).
func Changed(orgID string) string { return "webhooks:" + orgID }

// Outcomes of an attempt, for metrics.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
)

// Worker delivers the webhook outbox. Several workers, in one process or
// many, may share a database: each claims deliveries under a lease
// (FOR UPDATE SKIP LOCKED on PostgreSQL, the single writer on SQLite), so
// an event goes out once to each endpoint. A worker killed mid-delivery
// leaves its claims to expire; they are delivered again after the lease.
type Worker struct {
	Store    *store.Store
	Client   *http.Client
	Log      *slog.Logger
	Interval time.Duration // how often to look for due deliveries
	Lease    time.Duration // how long a claim holds
	Batch    int
	Retry    []time.Duration // waits between attempts; len+1 attempts
	Now      func() time.Time
	// OnResult, when set, observes each attempt's outcome (for metrics).
	OnResult func(outcome string)

	loop loop.Loop
}

func (w *Worker) defaults() {
	if w.Interval == 0 {
		w.Interval = 2 * time.Second
	}
	if w.Lease == 0 {
		w.Lease = time.Minute
	}
	if w.Batch == 0 {
		w.Batch = 20
	}
	if w.Retry == nil {
		w.Retry = Retry
	}
	if w.Now == nil {
		w.Now = store.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	if w.Client == nil {
		w.Client = NewClient(false)
	}
}

// Start runs the worker until Stop.
func (w *Worker) Start() {
	w.defaults()
	w.loop.Start(w.Interval, func(ctx context.Context) error {
		_, err := w.RunOnce(ctx)
		return err
	}, func(err error) { w.Log.Error("webhooks: delivery round failed", "err", err) })
}

// Wake asks a started worker to look for deliveries now (after a commit).
func (w *Worker) Wake() {
	if w != nil {
		w.loop.Wake()
	}
}

// Stop ends the worker, letting deliveries under way finish.
func (w *Worker) Stop() { w.loop.Stop() }

// RunOnce claims one batch and delivers it, the deliveries of a batch in
// parallel; it returns how many succeeded.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	var ds []*gatehouse.WebhookDelivery
	err := w.Store.Tx(ctx, func(tx *store.Conn) (err error) {
		ds, err = tx.ClaimWebhookDeliveries(ctx, w.Now(), w.Lease, w.Batch)
		return err
	})
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	// Outcomes are recorded even when Stop cancels ctx meanwhile: a
	// delivered event left under lease would go out again.
	bg := context.WithoutCancel(ctx)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := 0
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w.deliver(bg, d) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(ds) == w.Batch {
		w.Wake() // more may be due
	}
	return ok, nil
}

// deliver makes one attempt at d and records it; it reports success.
func (w *Worker) deliver(ctx context.Context, d *gatehouse.WebhookDelivery) bool {
	ep, err := w.Store.R().WebhookEndpointByID(ctx, d.EndpointID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return false // deleted since the claim, with its deliveries
	}
	if err != nil {
		w.Log.Error("webhooks: endpoint of a delivery", "delivery_id", d.ID, "err", err)
		return false
	}
	start := time.Now()
	code, excerpt, serr := w.post(ctx, ep, d)
	res := store.WebhookAttemptResult{At: w.Now(), StatusCode: code, Latency: time.Since(start), Error: excerpt}
	success := serr == nil && code >= 200 && code < 300
	outcome := OutcomeSucceeded
	switch {
	case success:
		res.Status, res.Error = gatehouse.WebhookSucceeded, ""
	case d.Attempts > len(w.Retry):
		res.Status, outcome = gatehouse.WebhookFailed, OutcomeFailed
	default:
		res.Status, outcome = gatehouse.WebhookPending, OutcomeRetry
		res.Next = res.At.Add(jitter(w.Retry[d.Attempts-1]))
	}
	if serr != nil {
		res.Error = serr.Error()
	}
	if !success {
		w.Log.Warn("webhooks: delivery failed", "delivery_id", d.ID, "endpoint_id", ep.ID, "event", d.EventType,
			"attempt", d.Attempts, "status", code, "final", res.Status == gatehouse.WebhookFailed, "err", res.Error)
	}
	err = w.Store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.RecordWebhookAttempt(ctx, d.ID, res); err != nil {
			return err
		}
		return w.health(ctx, tx, ep, success, res.At)
	})
	if err != nil {
		w.Log.Error("webhooks: recording an attempt", "delivery_id", d.ID, "err", err)
	}
	if w.OnResult != nil {
		w.OnResult(outcome)
	}
	return success
}

// health tracks how long an endpoint has failed; after DisableAfter of
// nothing but failures it is disabled, with an audit event saying so.
func (w *Worker) health(ctx context.Context, tx *store.Conn, ep *gatehouse.WebhookEndpoint, success bool, now time.Time) error {
	if success {
		if ep.FailingSince.IsZero() {
			return nil
		}
		return tx.SetWebhookEndpointHealth(ctx, ep.ID, time.Time{}, false, "", now)
	}
	fresh, err := tx.WebhookEndpointByID(ctx, ep.ID)
	if err != nil || !fresh.Enabled {
		return nil // deleted or disabled meanwhile
	}
	if fresh.FailingSince.IsZero() {
		return tx.SetWebhookEndpointHealth(ctx, ep.ID, now, false, "", now)
	}
	if now.Sub(fresh.FailingSince) < DisableAfter {
		return nil
	}
	reason := "Every delivery failed for " + DisableAfter.String() + "."
	if err := tx.SetWebhookEndpointHealth(ctx, ep.ID, fresh.FailingSince, true, reason, now); err != nil {
		return err
	}
	if err := tx.Notify(ctx, Changed(ep.OrgID)); err != nil {
		return err
	}
	w.Log.Warn("webhooks: endpoint disabled after failing for a day", "endpoint_id", ep.ID, "org_id", ep.OrgID)
	summary, _ := json.Marshal(map[string]any{"url": ep.URL, "reason": reason, "failing_since": fresh.FailingSince})
	e := &gatehouse.AuditEvent{OrgID: ep.OrgID, ActorKind: gatehouse.ActorSystem, Action: "webhook_endpoint.disabled",
		TargetType: "webhook_endpoint", TargetID: ep.ID, Summary: summary, CreatedAt: now}
	if err := tx.WriteAudit(ctx, e); err != nil {
		return err
	}
	_, err = tx.EnqueueWebhooks(ctx, e)
	return err
}

// post sends the signed request. It returns the status code (0 when none
// came), a short excerpt of a non-2xx answer's body, and the transport error.
func (w *Worker) post(ctx context.Context, ep *gatehouse.WebhookEndpoint, d *gatehouse.WebhookDelivery) (int, string, error) {
	now := w.Now()
	sig, err := SignatureHeader(ep.Secrets(now), d.EventID, now, d.Payload)
	if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks/"+gatehouse.Version)
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, "", nil
	}
	excerpt := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		excerpt += " (redirects are not followed)"
	}
	if b := bytes.ToValidUTF8(body, nil); len(b) > 0 && utf8.Valid(b) {
		excerpt += ": " + string(b)
	}
	return resp.StatusCode, excerpt, nil
}

// jitter varies d by ±20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
