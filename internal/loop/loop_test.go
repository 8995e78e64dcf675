package loop

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A started loop runs a round at once, another on Wake long before the
// ticker, reports round errors, and Stop waits for the round under way.
func TestLoop(t *testing.T) {
	var rounds, errs atomic.Int32
	ran := make(chan struct{}, 10)
	var l Loop
	l.Wake() // before Start: nothing, and no panic
	l.Start(time.Hour, func(ctx context.Context) error {
		rounds.Add(1)
		return errors.New("round failed")
	}, func(error) {
		errs.Add(1)
		ran <- struct{}{} // the round and its report are over
	})
	waitRound := func() {
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("no round")
		}
	}
	waitRound()
	l.Wake()
	waitRound()
	l.Stop()
	if rounds.Load() != 2 || errs.Load() != 2 {
		t.Fatalf("rounds %d, errors %d; want 2 and 2", rounds.Load(), errs.Load())
	}
	var nilLoop *Loop
	nilLoop.Wake() // a nil loop (a worker never built) ignores wakes
}
