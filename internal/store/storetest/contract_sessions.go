package storetest

import (
	"context"
	"testing"

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
		mustTx(t, s, func(tx *store.Conn) error { return tx.SetSessionOrg(ctx, one.ID, "") })
		if orgOf(one.ID) != "" || orgOf(two.ID) != "org-b" {
			t.Fatalf("after clearing one: %q and %q", orgOf(one.ID), orgOf(two.ID))
		}
	})
}
