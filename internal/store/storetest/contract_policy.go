package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runPolicy: CountSeats counts members, plus live pending invitations when
// asked; Store.Tx under WithTx runs in a savepoint that a failure rolls back
// alone, keeping the outer transaction's other work.
func runPolicy(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	u := mustCreateUser(t, s, "seat@example.com")
	o := &gatehouse.Organization{ID: newID(), Name: "Seats", Settings: []byte(`{}`), CreatedAt: baseTime, UpdatedAt: baseTime}
	invite := func(tx *store.Conn, email string, expires time.Time) error {
		return tx.CreateInvitation(ctx, &gatehouse.Invitation{ID: newID(), OrgID: o.ID, Email: email, RoleID: "", Grants: []gatehouse.Grant{},
			Authentication: "password", Status: gatehouse.InvitationPending, TokenHash: newID(), ValidDays: 7, CreatedBy: u.ID, UpdatedBy: u.ID,
			CreatedAt: baseTime, UpdatedAt: baseTime, ExpiresAt: expires, SentAt: baseTime})
	}
	mustTx(t, s, func(tx *store.Conn) error {
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		if err := tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: o.ID, UserID: u.ID, Grants: []gatehouse.Grant{}, CreatedAt: baseTime, UpdatedAt: baseTime}); err != nil {
			return err
		}
		if err := invite(tx, "live@example.com", baseTime.Add(time.Hour)); err != nil {
			return err
		}
		return invite(tx, "lapsed@example.com", baseTime.Add(-time.Hour))
	})
	t.Run("CountSeats", func(t *testing.T) {
		if n, err := s.R().CountSeats(ctx, o.ID, false, baseTime); err != nil || n != 1 {
			t.Fatalf("members only: %d, %v", n, err)
		}
		if n, err := s.R().CountSeats(ctx, o.ID, true, baseTime); err != nil || n != 2 {
			t.Fatalf("with pending: %d, %v (want the lapsed one left out)", n, err)
		}
	})
	t.Run("ErrSavepointRollsBackAlone", func(t *testing.T) {
		boom := errors.New("row refused")
		mustTx(t, s, func(tx *store.Conn) error {
			inner := store.WithTx(ctx, tx)
			if err := s.Tx(inner, func(sp *store.Conn) error { return invite(sp, "kept@example.com", baseTime.Add(time.Hour)) }); err != nil {
				return err
			}
			err := s.Tx(inner, func(sp *store.Conn) error {
				if err := invite(sp, "dropped@example.com", baseTime.Add(time.Hour)); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("savepoint error %v", err)
			}
			// A constraint failure inside a savepoint leaves the transaction usable.
			if err := s.Tx(inner, func(sp *store.Conn) error { return invite(sp, "kept@example.com", baseTime.Add(time.Hour)) }); err == nil {
				t.Error("second pending invitation for one address was stored")
			}
			return nil
		})
		if n, err := s.R().CountSeats(ctx, o.ID, true, baseTime); err != nil || n != 3 {
			t.Fatalf("after the savepoints: %d seats, %v; want 3 (kept, not dropped)", n, err)
		}
	})
}
