package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

func groupUser(i int) *gatehouse.User {
	now := store.Now()
	return &gatehouse.User{ID: fmt.Sprintf("u-%03d", i), Email: fmt.Sprintf("u%03d@example.com", i), Name: "U", CreatedAt: now, UpdatedAt: now}
}

func visible(t *testing.T, s *store.Store, id string) bool {
	t.Helper()
	_, err := s.R().UserByID(context.Background(), id)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("UserByID(%s): %v", id, err)
	}
	return err == nil
}

// inOneBatch runs caller(0) … caller(n-1) at once so that they share one
// batch: caller 0's transaction function calls hold() first and holds the
// writer until the others have queued behind it (for them hold does
// nothing). It returns when every caller has returned.
func inOneBatch(n int, caller func(i int, hold func())) {
	release, holding := make(chan struct{}), make(chan struct{})
	hold := func() {
		close(holding)
		<-release
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				<-holding
				caller(i, func() {})
				return
			}
			caller(0, hold)
		}()
	}
	<-holding
	time.Sleep(200 * time.Millisecond) // let the others queue
	close(release)
	wg.Wait()
}

// TestGroupCommit: concurrent write transactions share one SQLite
// transaction, yet each is all-or-nothing, a failing one rolls back alone,
// and a caller hears of success (and runs its after-commit functions) only
// once its work is committed.
func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	const n = 40
	var shared atomic.Int32
	last := "" // the user of the last function that succeeded (functions run one at a time)
	errs := make([]error, n)
	committedSeen := make([]bool, n)
	var afterRuns atomic.Int32
	inOneBatch(n, func(i int, hold func()) {
		errs[i] = s.Tx(ctx, func(tx *store.Conn) error {
			hold()
			if i > 0 && last != "" && !visible(t, s, last) {
				// The previous caller's work is done but not yet
				// visible to readers: it is in this same open transaction.
				shared.Add(1)
			}
			if err := tx.CreateUser(ctx, groupUser(i)); err != nil {
				return err
			}
			switch {
			case i%3 == 1:
				return errors.New("refused after writing") // rolled back alone
			case i%7 == 2:
				return tx.CreateUser(ctx, groupUser(0)) // a conflict, after a write
			}
			last = groupUser(i).ID
			tx.AfterCommit(func() {
				afterRuns.Add(1)
				committedSeen[i] = visible(t, s, groupUser(i).ID)
			})
			return nil
		})
	})
	want := 0
	for i := range n {
		fail := i%3 == 1 || i%7 == 2
		if fail != (errs[i] != nil) {
			t.Errorf("caller %d: err %v, want failure %v", i, errs[i], fail)
		}
		if got := visible(t, s, groupUser(i).ID); got == fail {
			t.Errorf("caller %d: its user committed %v, want %v", i, got, !fail)
		}
		if !fail {
			want++
			if !committedSeen[i] {
				t.Errorf("caller %d: after-commit function ran before its work was visible", i)
			}
		}
	}
	if int(afterRuns.Load()) != want {
		t.Errorf("after-commit functions ran %d times, want %d", afterRuns.Load(), want)
	}
	if shared.Load() == 0 {
		t.Errorf("no caller ran inside the first caller's open transaction: nothing was batched")
	}
	if errs[4] == nil || gatehouse.ErrorCode(errs[2]) != gatehouse.ECONFLICT {
		t.Errorf("errors kept: %v, %v", errs[4], errs[2])
	}
}

// TestGroupCommitPanicAndCancel: a panicking function rolls back alone and
// the panic reaches its own caller; a caller cancelled while waiting gives up
// without stranding the batch; the writer keeps working.
func TestGroupCommitPanicAndCancel(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var firstErr, lastErr, cancelledErr error
	var recovered any
	wg.Add(4)
	go func() {
		defer wg.Done()
		firstErr = s.Tx(ctx, func(tx *store.Conn) error {
			close(holding)
			<-hold
			return tx.CreateUser(ctx, groupUser(1))
		})
	}()
	<-holding
	go func() {
		defer wg.Done()
		defer func() { recovered = recover() }()
		_ = s.Tx(ctx, func(tx *store.Conn) error {
			if err := tx.CreateUser(ctx, groupUser(2)); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		cancelledErr = s.Tx(cctx, func(tx *store.Conn) error { return tx.CreateUser(ctx, groupUser(3)) })
	}()
	go func() {
		defer wg.Done()
		time.Sleep(50 * time.Millisecond)
		lastErr = s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateUser(ctx, groupUser(4)) })
	}()
	time.Sleep(150 * time.Millisecond)
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(hold)
	wg.Wait()
	if firstErr != nil || lastErr != nil {
		t.Fatalf("Tx: %v, %v", firstErr, lastErr)
	}
	if recovered != "boom" {
		t.Errorf("recovered %v, want the panic in its own goroutine", recovered)
	}
	if !errors.Is(cancelledErr, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", cancelledErr)
	}
	for i, want := range map[int]bool{1: true, 2: false, 3: false, 4: true} {
		if got := visible(t, s, groupUser(i).ID); got != want {
			t.Errorf("user %d committed %v, want %v", i, got, want)
		}
	}
	if err := s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateUser(ctx, groupUser(5)) }); err != nil || !visible(t, s, "u-005") {
		t.Fatalf("writer after the panic: %v", err)
	}
}
