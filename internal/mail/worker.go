package mail

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/loop"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Worker delivers the outbox. Several workers, in one process or many, may
// share a database: each claims messages under a lease, so a message goes out
// once.
type Worker struct {
	Store       *store.Store
	Sender      Sender
	Log         *slog.Logger
	Interval    time.Duration // how often to look for due mail
	Lease       time.Duration // how long a claim holds
	MaxAttempts int
	BaseBackoff time.Duration // doubled after each failure, with jitter
	MaxBackoff  time.Duration
	Batch       int
	Now         func() time.Time

	// OnResult, when set, observes each attempt (for metrics).
	OnResult func(sent bool, final bool)

	loop loop.Loop
	// Messages this process queued already leased to this worker
	// (HandOff), delivered by the next round without a claim.
	mu      sync.Mutex
	running bool
	handed  []*gatehouse.OutboxMessage
	claimed time.Time // the last claim (wall clock)
	took    time.Time // the last round that took handed-off mail (wall clock)
}

// handOffEvery spaces the rounds that hand-offs wake. Every commit that
// queued mail wakes the worker, and a round per commit recorded two or three
// deliveries per transaction: at 8 connections a quarter of the group
// commit's callers were the worker's (issue 17). A round now starts at least
// this long after the previous one took handed-off mail, unless a full batch
// already waits, and delivers and records up to Batch messages at once.
// Mail leaves at most this much later.
const handOffEvery = 20 * time.Millisecond

// gatherHandOffs waits, when the previous round took handed-off mail less
// than handOffEvery ago and fewer than Batch messages wait, for the rest of
// that time (or until ctx ends).
func (w *Worker) gatherHandOffs(ctx context.Context) {
	w.mu.Lock()
	wait := time.Until(w.took.Add(handOffEvery))
	full := len(w.handed) >= w.Batch
	w.mu.Unlock()
	if wait <= 0 || full {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// maxHanded bounds the messages waiting in memory for a round: past it
// new mail is queued unleased and claimed as usual.
const maxHanded = 1000

// HandOffLease answers until when a message queued now may be leased to this
// worker at once (store.Conn.EnqueueLeasedMail, then HandOff after the
// commit), and false when the worker takes no hand-offs: not started, or
// too many waiting. A handed-off message skips the claim, a transaction
// that rewrote it and read its sealed body back.
func (w *Worker) HandOffLease(now time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || len(w.handed) >= maxHanded {
		return time.Time{}, false
	}
	return now.Add(w.Lease), true
}

// HandOff gives the worker a committed message queued leased to it; the
// next round delivers it.
func (w *Worker) HandOff(m *gatehouse.OutboxMessage) {
	w.mu.Lock()
	w.handed = append(w.handed, m)
	w.mu.Unlock()
	w.Wake()
}

// takeHanded takes up to Batch handed-off messages whose lease still has at
// least half its length to run (time to send them): queued (NextAttemptAt)
// less than Lease/2 ago, as the lease started then. An older one is left to
// the claim of any worker once its lease has run out.
func (w *Worker) takeHanded(now time.Time) []*gatehouse.OutboxMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*gatehouse.OutboxMessage
	if len(w.handed) > 0 {
		w.took = time.Now()
	}
	n := 0
	for _, m := range w.handed {
		if len(out) == w.Batch {
			break
		}
		n++
		if m.NextAttemptAt.Add(w.Lease / 2).After(now) {
			out = append(out, m)
		}
	}
	w.handed = append(w.handed[:0], w.handed[n:]...)
	return out
}

func (w *Worker) defaults() {
	if w.Interval == 0 {
		w.Interval = 2 * time.Second
	}
	if w.Lease == 0 {
		w.Lease = 2 * time.Minute
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = 8
	}
	if w.BaseBackoff == 0 {
		w.BaseBackoff = 10 * time.Second
	}
	if w.MaxBackoff == 0 {
		w.MaxBackoff = time.Hour
	}
	if w.Batch == 0 {
		w.Batch = 20
	}
	if w.Now == nil {
		w.Now = store.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
}

// Start runs the worker until Stop.
func (w *Worker) Start() {
	w.defaults()
	w.mu.Lock()
	w.running = true
	w.mu.Unlock()
	w.loop.Start(w.Interval, func(ctx context.Context) error {
		_, err := w.RunOnce(ctx)
		return err
	}, func(err error) { w.Log.Error("outbox: delivery round failed", "err", err) })
}

// Wake asks a started worker to look for mail now (after a commit).
func (w *Worker) Wake() {
	if w != nil {
		w.loop.Wake()
	}
}

// Stop ends the worker, letting deliveries under way finish. Messages
// handed off and not yet delivered stay leased in the outbox until their
// lease runs out; then any worker claims them.
func (w *Worker) Stop() {
	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
	w.loop.Stop()
}

// RunOnce claims and delivers one batch; it returns how many were sent.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	var claimed int
	var sent int
	w.gatherHandOffs(ctx)
	if ms := w.takeHanded(w.Now()); len(ms) > 0 {
		sent += w.deliver(context.WithoutCancel(ctx), ms)
		w.mu.Lock()
		more := len(w.handed) > 0
		// Rounds woken by hand-offs claim at most once per Interval
		// (other processes' mail, retries): a claim that finds nothing is
		// still a transaction.
		recent := time.Since(w.claimed) < w.Interval
		w.mu.Unlock()
		if more {
			w.Wake()
		}
		if recent {
			return sent, nil
		}
	}
	w.mu.Lock()
	w.claimed = time.Now()
	w.mu.Unlock()
	err := w.Store.Tx(ctx, func(tx *store.Conn) error {
		ms, err := tx.ClaimMail(ctx, w.Now(), w.Lease, w.Batch)
		claimed = len(ms)
		if err != nil {
			return err
		}
		// Deliver after the claim commits, so other workers see the lease.
		tx.AfterCommit(func() {
			// Outcomes are recorded even when Stop cancels ctx meanwhile:
			// a sent message left under lease would go out again.
			sent += w.deliver(context.WithoutCancel(ctx), ms)
		})
		return nil
	})
	if err == nil && claimed == w.Batch {
		w.Wake() // more may be due
	}
	return sent, err
}

// markEvery bounds how long a delivered message waits for its "sent" to be
// written: deliveries are recorded in one transaction per claimed batch
// instead of one transaction per message, but with a slow mail server a batch takes a while, and a message sent but
// not yet recorded goes out again if the process dies before its lease ends.
const markEvery = time.Second

// deliver sends claimed messages and records the outcomes: failures at
// once, deliveries together at the end of the batch or after markEvery.
func (w *Worker) deliver(ctx context.Context, ms []*gatehouse.OutboxMessage) (sent int) {
	var pending []store.MailSent
	var since time.Time
	flush := func() {
		if len(pending) == 0 {
			return
		}
		err := w.Store.Tx(ctx, func(tx *store.Conn) error {
			return tx.MarkMailsSent(ctx, pending, w.Sender.Remote())
		})
		for _, d := range pending {
			if err != nil {
				w.Log.Error("outbox: recording delivery", "message_id", d.ID, "err", err)
			}
			w.observe(true, false)
		}
		pending = pending[:0]
	}
	for _, m := range ms {
		// A send under way finishes even when Stop is called.
		sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
		serr := w.Sender.Send(sendCtx, m)
		cancel()
		now := w.Now()
		if serr == nil {
			sent++
			if len(pending) == 0 {
				since = time.Now()
			}
			pending = append(pending, store.MailSent{ID: m.ID, At: now})
			if time.Since(since) >= markEvery {
				flush()
			}
			continue
		}
		final := m.Attempts >= w.MaxAttempts
		next := now.Add(w.backoff(m.Attempts))
		w.Log.Warn("outbox: delivery failed", "message_id", m.ID, "attempt", m.Attempts, "final", final, "err", serr)
		if err := w.Store.Tx(ctx, func(tx *store.Conn) error {
			return tx.MarkMailFailed(ctx, m.ID, serr.Error(), next, final)
		}); err != nil {
			w.Log.Error("outbox: recording delivery", "message_id", m.ID, "err", err)
		}
		w.observe(false, final)
	}
	flush()
	return sent
}

func (w *Worker) observe(sent, final bool) {
	if w.OnResult != nil {
		w.OnResult(sent, final)
	}
}

// backoff grows exponentially from BaseBackoff with ±20% jitter.
func (w *Worker) backoff(attempts int) time.Duration {
	d := float64(w.BaseBackoff) * math.Pow(2, float64(max(0, attempts-1)))
	d = min(d, float64(w.MaxBackoff))
	return time.Duration(d * (0.8 + 0.4*rand.Float64()))
}
