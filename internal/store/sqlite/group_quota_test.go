package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestGroupCommitInvitationQuota: inside a batch the daily invitation
// budget is counted in memory and written once before the commit
// (store/invitation_quota.go). Thirty callers share one batch against a
// budget of twelve, their seconds alternating (each change of second
// writes and counts again); every third one fails after taking its place
// (its place goes back), and one takes a place in an organization that it
// then deletes (nothing is written for it, the commit holds). Exactly the
// budget is admitted, the table holds exactly what was admitted, per
// second, and the next transaction is refused on that count.
func TestGroupCommitInvitationQuota(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second)
	const n, budget = 30, 12
	if err := s.Tx(ctx, func(tx *store.Conn) error {
		for _, id := range []string{"org-q", "org-gone"} {
			if err := tx.CreateOrg(ctx, &gatehouse.Organization{ID: id, Name: id, CreatedBy: "u", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	take := func(tx *store.Conn, org string, at time.Time) (bool, error) {
		q, err := s.ReserveInvitationQuota(ctx, org, at)
		if err != nil {
			return false, err
		}
		ok, _, err := q.Take(ctx, tx, at, budget)
		return ok, err
	}
	errRefused := errors.New("over budget")
	var mu sync.Mutex
	admitted := map[int64]int{}
	inOneBatch(n, func(i int, hold func()) {
		at := t0.Add(time.Duration(i%2) * time.Second)
		err := s.Tx(ctx, func(tx *store.Conn) error {
			hold()
			if i == 3 {
				// A place taken in an organization deleted in the same batch.
				if _, err := take(tx, "org-gone", at); err != nil {
					return err
				}
				return tx.DeleteOrg(ctx, "org-gone")
			}
			ok, err := take(tx, "org-q", at)
			if err != nil {
				return err
			}
			if !ok {
				return errRefused
			}
			if i%3 == 1 {
				return errors.New("failed after taking its place") // the place goes back
			}
			return nil
		})
		switch {
		case err == nil && i != 3:
			mu.Lock()
			admitted[at.Unix()]++
			mu.Unlock()
		case err == nil, errors.Is(err, errRefused), err != nil && err.Error() == "failed after taking its place":
		default:
			t.Errorf("caller %d: %v", i, err)
		}
	})

	total := admitted[t0.Unix()] + admitted[t0.Unix()+1]
	if total != budget {
		t.Fatalf("%d admitted (%v), want the budget of %d", total, admitted, budget)
	}
	for _, sec := range []int64{t0.Unix(), t0.Unix() + 1} {
		var got int
		err := s.ReaderDB().QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM invitation_quota WHERE org_id = 'org-q' AND second = ?`, sec).Scan(&got)
		if err != nil || got != admitted[sec] {
			t.Errorf("second %d: table counts %d (%v), admitted %d", sec, got, err, admitted[sec])
		}
	}
	var gone int
	if err := s.ReaderDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM invitation_quota WHERE org_id = 'org-gone'`).Scan(&gone); err != nil || gone != 0 {
		t.Errorf("deleted organization's counts: %d rows (%v)", gone, err)
	}
	// The next transaction counts on from the table.
	err := s.Tx(ctx, func(tx *store.Conn) error {
		ok, err := take(tx, "org-q", t0.Add(2*time.Second))
		if err == nil && ok {
			return fmt.Errorf("admitted past the budget")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
