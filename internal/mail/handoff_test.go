package mail_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	gmail "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestWorkerHandOff: a running worker takes mail queued already leased to
// it (store.Conn.EnqueueLeasedMail) and delivers it once, without a claim;
// another worker does not claim it while the lease runs; a hand-off that
// never reaches a worker (the process stopped) is claimed by any worker once
// the lease has run out; a stopped worker takes no hand-offs.
func TestWorkerHandOff(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := e.NewDSN(t)
			s, other := e.OpenAt(t, dsn), e.OpenAt(t, dsn)
			clk := newClock()
			sent := &countingSender{}
			w := &gmail.Worker{Store: s, Sender: sent, Log: quiet, Now: clk.Now, Interval: time.Hour}
			if _, ok := w.HandOffLease(clk.Now()); ok {
				t.Fatal("a worker not started takes hand-offs")
			}
			w.Start()
			leased := func(to string) *gatehouse.OutboxMessage {
				t.Helper()
				until, ok := w.HandOffLease(clk.Now())
				if !ok || !until.Equal(clk.Now().Add(2*time.Minute)) {
					t.Fatalf("HandOffLease = %v, %v", until, ok)
				}
				var msg *gatehouse.OutboxMessage
				if err := s.Tx(ctx, func(tx *store.Conn) (err error) {
					msg, err = tx.EnqueueLeasedMail(ctx, gatehouse.MailMessage{To: to, Subject: "Hi", Text: "t", HTML: "<p>h</p>"}, clk.Now(), until)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return msg
			}
			// Handed off: delivered by the running worker, once.
			first := leased("a@example.com")
			w.HandOff(first)
			deadline := time.Now().Add(10 * time.Second)
			for mailByID(t, s, first.ID).Status != gatehouse.MailSent {
				if time.Now().After(deadline) {
					t.Fatal("the handed-off message was not delivered")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if got := mailByID(t, s, first.ID); got.Attempts != 1 {
				t.Fatalf("delivered message %+v", got)
			}
			// Never handed off (the process stopped after the commit):
			// another worker leaves it alone while the lease runs, claims it
			// after.
			lost := leased("b@example.com")
			w2 := &gmail.Worker{Store: other, Sender: sent, Log: quiet, Now: clk.Now}
			if n := runOnce(t, w2); n != 0 {
				t.Fatalf("another worker sent %d leased messages", n)
			}
			// A hand-off older than half its lease is left to the claim.
			w.Stop()
			if _, ok := w.HandOffLease(clk.Now()); ok {
				t.Fatal("a stopped worker takes hand-offs")
			}
			start := clk.Now()
			clk.Set(start.Add(time.Minute + time.Second))
			w.HandOff(lost)
			if n := runOnce(t, w); n != 0 {
				t.Fatalf("a stale hand-off was sent by the worker it was handed to (%d)", n)
			}
			clk.Set(start.Add(2*time.Minute + time.Second))
			if n := runOnce(t, w2); n != 1 {
				t.Fatalf("after the lease, the other worker sent %d, want 1", n)
			}
			sent.mu.Lock()
			defer sent.mu.Unlock()
			if sent.count[first.ID] != 1 || sent.count[lost.ID] != 1 {
				t.Fatalf("deliveries %v, want each message once", sent.count)
			}
			if got := mailByID(t, s, lost.ID); got.Status != gatehouse.MailSent || got.Attempts != 2 {
				t.Fatalf("claimed message %+v", got)
			}
		})
	}
}

// TestWorkerHandOffStillClaims: while hand-offs keep a worker busy, mail
// queued without one (another process's, a retry) is still claimed and
// sent, at the latest an Interval later.
func TestWorkerHandOffStillClaims(t *testing.T) {
	e := storetest.Engines(t)[0]
	ctx := context.Background()
	s := e.Open(t)
	sent := &countingSender{}
	w := &gmail.Worker{Store: s, Sender: sent, Log: quiet, Interval: 50 * time.Millisecond}
	w.Start()
	defer w.Stop()
	var queued string
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		if i == 20 { // after the worker's first claims
			if err := s.Tx(ctx, func(tx *store.Conn) (err error) {
				queued, err = tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "q@example.com", Subject: "Q"}, store.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		handOffNew(t, s, w)
		sent.mu.Lock()
		done := queued != "" && sent.count[queued] == 1
		sent.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("mail queued without a hand-off was never claimed")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWorkerHandOffRounds: mail handed off commit after commit, 5 ms apart,
// is delivered in rounds at least 20 ms apart (handOffEvery), so that ten
// messages are recorded sent in a few transactions, not one per hand-off;
// each is still sent once, and a full batch waiting goes at once.
func TestWorkerHandOffRounds(t *testing.T) {
	e := storetest.Engines(t)[0]
	s := e.Open(t)
	var mu sync.Mutex
	records := 0
	s.Observe(func(q string, _ []any) {
		if strings.HasPrefix(q, "UPDATE outbox SET status = 'sent'") {
			mu.Lock()
			records++
			mu.Unlock()
		}
	})
	defer s.Observe(nil)
	sent := &countingSender{}
	w := &gmail.Worker{Store: s, Sender: sent, Log: quiet, Interval: time.Hour, Batch: 3}
	w.Start()
	defer w.Stop()
	var ids []string
	for range 10 {
		msg := handOffNew(t, s, w)
		ids = append(ids, msg.ID)
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for mailByID(t, s, id).Status != gatehouse.MailSent {
			if time.Now().After(deadline) {
				t.Fatalf("message %s not delivered", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Ten hand-offs over about 50 ms: a round at once, then one every 20 ms
	// (each taking at most Batch, 3, with a full batch going at once).
	if records > 6 {
		t.Fatalf("10 hand-offs recorded in %d transactions, want at most 6", records)
	}
	sent.mu.Lock()
	defer sent.mu.Unlock()
	for _, id := range ids {
		if sent.count[id] != 1 {
			t.Fatalf("message %s sent %d times", id, sent.count[id])
		}
	}
}

// handOffNew queues a message leased to w, as a request's commit does,
// and hands it off.
func handOffNew(t *testing.T, s *store.Store, w *gmail.Worker) *gatehouse.OutboxMessage {
	t.Helper()
	ctx := context.Background()
	until, ok := w.HandOffLease(store.Now())
	if !ok {
		t.Fatal("no hand-off")
	}
	var msg *gatehouse.OutboxMessage
	if err := s.Tx(ctx, func(tx *store.Conn) (err error) {
		msg, err = tx.EnqueueLeasedMail(ctx, gatehouse.MailMessage{To: "h@example.com", Subject: "H"}, store.Now(), until)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.HandOff(msg)
	return msg
}
