package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// runOTPQuotas: code requests remember their client address; wrong codes
// count per client in a sliding window, old ones are forgotten; the guess
// lock serialises one client's checks.
func runOTPQuotas(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()

	t.Run("OTPRequestsSince", func(t *testing.T) {
		for i, client := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.1"} {
			o := &store.OTP{ID: newID(), Email: "ada@example.com", Purpose: "reset_password", CodeHash: "h",
				ExpiresAt: baseTime.Add(time.Hour), CreatedAt: baseTime.Add(time.Duration(i) * time.Minute), Client: client}
			mustTx(t, s, func(tx *store.Conn) error { return tx.CreateOTP(ctx, o) })
		}
		got, err := s.R().OTPRequestsSince(ctx, "ada@example.com", "reset_password", baseTime.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Client != "192.0.2.1" || !got[0].At.Equal(baseTime.Add(2*time.Minute)) || got[1].Client != "192.0.2.2" {
			t.Fatalf("requests = %+v", got)
		}
		if got, _ := s.R().OTPRequestsSince(ctx, "ada@example.com", "verify_email", baseTime); len(got) != 0 {
			t.Fatalf("another purpose: %+v", got)
		}
	})
	t.Run("WrongCodes", func(t *testing.T) {
		window := 15 * time.Minute
		for i := range 3 {
			mustTx(t, s, func(tx *store.Conn) error {
				return tx.RecordWrongCode(ctx, newID(), "198.51.100.1", baseTime.Add(time.Duration(i)*time.Minute), window)
			})
		}
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.RecordWrongCode(ctx, newID(), "198.51.100.2", baseTime.Add(3*time.Minute), window)
		})
		n, oldest, err := s.R().WrongCodesSince(ctx, "198.51.100.1", baseTime.Add(time.Minute))
		if err != nil || n != 2 || !oldest.Equal(baseTime.Add(time.Minute)) {
			t.Fatalf("WrongCodesSince = %d, %v, %v", n, oldest, err)
		}
		if n, oldest, _ := s.R().WrongCodesSince(ctx, "203.0.113.9", baseTime); n != 0 || !oldest.IsZero() {
			t.Fatalf("an unknown client: %d, %v", n, oldest)
		}
		// A wrong code well after the window forgets every older one.
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.RecordWrongCode(ctx, newID(), "198.51.100.2", baseTime.Add(time.Hour), window)
		})
		if n, _, _ := s.R().WrongCodesSince(ctx, "198.51.100.1", time.Time{}); n != 0 {
			t.Fatalf("old wrong codes kept: %d", n)
		}
	})
	t.Run("GuessLockSerialises", func(t *testing.T) {
		// Ten parallel checks of one client, each reading the count and then
		// adding one: under the lock none reads a stale count.
		var wg sync.WaitGroup
		seen := make([]int, 10)
		errs := make([]error, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Tx(ctx, func(tx *store.Conn) error {
					if err := tx.LockGuessClient(ctx, "192.0.2.50", baseTime); err != nil {
						return err
					}
					n, _, err := tx.WrongCodesSince(ctx, "192.0.2.50", time.Time{})
					if err != nil {
						return err
					}
					seen[i] = n
					return tx.RecordWrongCode(ctx, newID(), "192.0.2.50", baseTime.Add(2*time.Hour), 24*time.Hour)
				})
			}()
		}
		wg.Wait()
		got := map[int]bool{}
		for i, n := range seen {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if got[n] {
				t.Fatalf("two checks read the same count %d: %v", n, seen)
			}
			got[n] = true
		}
	})
}
