package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runLocks: LockOrg holds the organization until the transaction ends, so a
// second transaction locking it waits; an unknown organization is not found.
func runLocks(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	o := &gatehouse.Organization{ID: newID(), Name: "Locked", Settings: []byte(`{}`), CreatedAt: baseTime, UpdatedAt: baseTime}
	mustTx(t, s, func(tx *store.Conn) error { return tx.CreateOrg(ctx, o) })

	t.Run("ErrUnknownOrg", func(t *testing.T) {
		err := s.Tx(ctx, func(tx *store.Conn) error { return tx.LockOrg(ctx, newID()) })
		wantCode(t, err, gatehouse.ENOTFOUND)
	})
	t.Run("ErrOutsideTx", func(t *testing.T) {
		wantCode(t, s.R().LockOrg(ctx, o.ID), gatehouse.EINTERNAL)
	})
	t.Run("SecondWaits", func(t *testing.T) {
		var released atomic.Bool
		locked := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Tx(ctx, func(tx *store.Conn) error {
				if err := tx.LockOrg(ctx, o.ID); err != nil {
					return err
				}
				close(locked)
				time.Sleep(300 * time.Millisecond)
				released.Store(true)
				return nil
			})
		}()
		<-locked
		err := s.Tx(ctx, func(tx *store.Conn) error {
			if err := tx.LockOrg(ctx, o.ID); err != nil {
				return err
			}
			if !released.Load() {
				t.Error("two transactions held the organization's lock at once")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
