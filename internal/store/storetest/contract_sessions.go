package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runSessionState covers what a session keeps besides its tokens: the
// organization it acts in.
func runSessionState(t *testing.T, e Engine) {
	ctx := context.Background()
	t.Run("SessionOrg", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		one, two := newSession(u.ID, baseTime), newSession(u.ID, baseTime)
		one.CurrentOrgID = "org-a"
		mustCreateSession(t, s, one)
		mustCreateSession(t, s, two)
		orgOf := func(id string) string {
			t.Helper()
			got, err := s.R().SessionByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return got.CurrentOrgID
		}
		if orgOf(one.ID) != "org-a" || orgOf(two.ID) != "" {
			t.Fatalf("created with %q and %q", orgOf(one.ID), orgOf(two.ID))
		}
		mustTx(t, s, func(tx *store.Conn) error { return tx.SetSessionOrg(ctx, two.ID, "org-b") })
		if orgOf(one.ID) != "org-a" || orgOf(two.ID) != "org-b" {
			t.Fatalf("after setting two: %q and %q", orgOf(one.ID), orgOf(two.ID))
		}
		if got, err := s.R().SessionByAccessHash(ctx, two.AccessHash); err != nil || got.CurrentOrgID != "org-b" {
			t.Fatalf("by access hash: %+v, %v", got, err)
		}
		// The authentication's one query: the session with its user's name.
		three := newSession(u.ID, baseTime)
		three.AMR, three.CurrentOrgID = []string{"pwd", "otp"}, "org-c"
		mustCreateSession(t, s, three)
		p, err := s.R().SessionPrincipalByAccessHash(ctx, three.AccessHash)
		if err != nil || p.SessionID != three.ID || p.UserID != u.ID || p.UserName != u.Name || p.CurrentOrgID != "org-c" ||
			!p.AccessExpiresAt.Equal(three.AccessExpiresAt) || !p.LastUsedAt.Equal(three.LastUsedAt) || strings.Join(p.AMR, " ") != "pwd otp" {
			t.Fatalf("session principal: %+v, %v", p, err)
		}
		if _, err := s.R().SessionPrincipalByAccessHash(ctx, "no such hash"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("unknown hash: %v", err)
		}
		mustTx(t, s, func(tx *store.Conn) error { return tx.SetSessionOrg(ctx, one.ID, "") })
		if orgOf(one.ID) != "" || orgOf(two.ID) != "org-b" {
			t.Fatalf("after clearing one: %q and %q", orgOf(one.ID), orgOf(two.ID))
		}
	})
}

// runThrottles covers the shared throttle counters.
func runThrottles(t *testing.T, e Engine) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := e.Open(t)
		if st, err := s.R().ReadThrottle(ctx, "k"); err != nil || st != (store.ThrottleState{}) {
			t.Fatalf("unknown key: %+v, %v", st, err)
		}
		want := store.ThrottleState{TAT: baseTime.Add(time.Minute), N: 3, Last: baseTime}
		mustTx(t, s, func(tx *store.Conn) error {
			st, err := tx.LockThrottle(ctx, "k", baseTime.Add(time.Hour))
			if err != nil || st != (store.ThrottleState{}) {
				t.Fatalf("new key locked as %+v, %v", st, err)
			}
			return tx.SaveThrottle(ctx, "k", want, baseTime.Add(time.Hour))
		})
		got, err := s.R().ReadThrottle(ctx, "k")
		if err != nil || !got.TAT.Equal(want.TAT) || got.N != 3 || !got.Last.Equal(want.Last) {
			t.Fatalf("read %+v, %v; want %+v", got, err, want)
		}
		mustTx(t, s, func(tx *store.Conn) error {
			st, err := tx.LockThrottle(ctx, "k", baseTime)
			if err != nil || st.N != 3 || !st.TAT.Equal(want.TAT) {
				t.Fatalf("existing key locked as %+v, %v", st, err)
			}
			return tx.DeleteThrottle(ctx, "k")
		})
		if st, _ := s.R().ReadThrottle(ctx, "k"); st != (store.ThrottleState{}) {
			t.Fatalf("after delete: %+v", st)
		}
	})
	t.Run("OKConcurrentIncrementsAllCount", func(t *testing.T) {
		s := e.Open(t)
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Tx(ctx, func(tx *store.Conn) error {
					st, err := tx.LockThrottle(ctx, "c", baseTime)
					if err != nil {
						return err
					}
					st.N++
					return tx.SaveThrottle(ctx, "c", st, baseTime)
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if st, err := s.R().ReadThrottle(ctx, "c"); err != nil || st.N != 20 {
			t.Fatalf("20 concurrent increments gave %d, %v", st.N, err)
		}
	})
}
