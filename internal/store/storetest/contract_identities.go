package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runIdentities covers linked identities and sign-in flows.
func runIdentities(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	u := mustCreateUser(t, s, "linked@example.com")
	other := mustCreateUser(t, s, "other@example.com")

	t.Run("LinkOnceListTouchDelete", func(t *testing.T) {
		i := &gatehouse.Identity{ID: newID(), UserID: u.ID, Provider: "google", Subject: "g-1", Email: "linked@example.com", CreatedAt: baseTime, LastUsedAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateIdentity(ctx, i) })
		dup := *i
		dup.ID, dup.UserID = newID(), other.ID
		wantCode(t, s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateIdentity(ctx, &dup) }), gatehouse.ECONFLICT)
		_, err := s.R().IdentityBySubject(ctx, "github", "g-1")
		wantCode(t, err, gatehouse.ENOTFOUND)
		got, err := s.R().IdentityBySubject(ctx, "google", "g-1")
		if err != nil || got.UserID != u.ID || !equalTime(got.CreatedAt, baseTime) {
			t.Fatalf("%+v %v", got, err)
		}
		later := baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error { return tx.TouchIdentity(ctx, i.ID, "new@example.com", later) })
		list, err := s.R().UserIdentities(ctx, u.ID)
		if err != nil || len(list) != 1 || list[0].Email != "new@example.com" || !equalTime(list[0].LastUsedAt, later) {
			t.Fatalf("%+v %v", list, err)
		}
		var ok bool
		mustTx(t, s, func(tx *store.Conn) (err error) { ok, err = tx.DeleteIdentity(ctx, other.ID, i.ID); return })
		if ok {
			t.Fatal("deleted another user's identity")
		}
		mustTx(t, s, func(tx *store.Conn) (err error) { ok, err = tx.DeleteIdentity(ctx, u.ID, i.ID); return })
		if !ok {
			t.Fatal("identity not deleted")
		}
	})

	t.Run("FlowUsedOnceVerifierSealed", func(t *testing.T) {
		f := &store.AuthFlow{StateHash: "state-hash-1", Provider: "google", Nonce: "n", Verifier: "the-pkce-verifier-value",
			RedirectTo: "/x", Mode: "api", ExpiresAt: baseTime.Add(10 * time.Minute), CreatedAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateAuthFlow(ctx, f) })
		var sealed []byte
		if err := s.ReaderDB().QueryRow(`SELECT verifier_sealed FROM auth_flows WHERE state_hash = $1`, f.StateHash).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(f.Verifier)) {
			t.Fatal("verifier stored in clear")
		}
		expired := s.Tx(ctx, func(tx *store.Conn) error {
			_, err := tx.UseAuthFlow(ctx, f.StateHash, baseTime.Add(11*time.Minute))
			return err
		})
		if err := expired; gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("expired flow used: %v", err)
		}
		// Concurrent uses: exactly one wins.
		var wins int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got *store.AuthFlow
				err := s.Tx(ctx, func(tx *store.Conn) (err error) {
					got, err = tx.UseAuthFlow(ctx, f.StateHash, baseTime.Add(time.Minute))
					return
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
					if got.Verifier != f.Verifier || got.Nonce != "n" || got.RedirectTo != "/x" || got.Mode != "api" {
						t.Errorf("flow read back as %+v", got)
					}
				} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("use: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d uses of one flow succeeded", wins)
		}
	})
}
