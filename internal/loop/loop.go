// Package loop runs a background round on a ticker, woken early on demand
// and stopped cleanly: the one copy of start, wake and stop that the
// outbox workers (mail, webhooks) share.
package loop

import (
	"context"
	"sync"
	"time"
)

// Loop runs one round after another until Stop: at Start, then every
// interval, or at once after Wake.
type Loop struct {
	wake chan struct{}
	stop context.CancelFunc
	done sync.WaitGroup
}

// Start runs round in a goroutine. onErr hears a round's error unless the
// loop is stopping.
func (l *Loop) Start(every time.Duration, round func(context.Context) error, onErr func(error)) {
	if l.wake == nil {
		l.wake = make(chan struct{}, 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := round(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-l.wake:
			}
		}
	}()
}

// Wake asks a started loop for a round now (after a commit); before Start
// it does nothing.
func (l *Loop) Wake() {
	if l == nil || l.wake == nil {
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop, letting a round under way finish.
func (l *Loop) Stop() {
	if l.stop != nil {
		l.stop()
		l.done.Wait()
	}
}
