package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runMFA covers the second-factor queries: a pending secret is replaced but
// a confirmed one is not, steps only move forward, recovery codes and
// challenges work once.
func runMFA(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	u := mustCreateUser(t, s, "mfa@example.com")
	mustTx(t, s, func(tx *store.Conn) error {
		for i, want := range []bool{true, true} {
			ok, err := tx.PutPendingTOTP(ctx, u.ID, "sealed"+string(rune('0'+i)), baseTime)
			if err != nil || ok != want {
				t.Fatalf("put pending %d: %v %v", i, ok, err)
			}
		}
		if ok, err := tx.ConfirmTOTP(ctx, u.ID, baseTime); err != nil || !ok {
			t.Fatalf("confirm: %v %v", ok, err)
		}
		if ok, err := tx.ConfirmTOTP(ctx, u.ID, baseTime); err != nil || ok {
			t.Fatalf("confirm twice: %v %v", ok, err)
		}
		if ok, err := tx.PutPendingTOTP(ctx, u.ID, "other", baseTime); err != nil || ok {
			t.Fatalf("pending over confirmed: %v %v", ok, err)
		}
		got, err := tx.UserTOTP(ctx, u.ID)
		if err != nil || got == nil || got.SecretSealed != "sealed1" || !got.Confirmed() {
			t.Fatalf("totp %+v %v", got, err)
		}
		for _, c := range []struct {
			step int64
			ok   bool
		}{{100, true}, {100, false}, {99, false}, {101, true}} {
			if ok, err := tx.UseTOTPStep(ctx, u.ID, c.step); err != nil || ok != c.ok {
				t.Fatalf("step %d: %v %v", c.step, ok, err)
			}
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, []string{newID(), newID()}, []string{"h1", "h2"}, baseTime); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := tx.UseRecoveryCode(ctx, u.ID, "h1", baseTime); err != nil || ok != want {
				t.Fatalf("recovery %d: %v %v", i, ok, err)
			}
		}
		if n, err := tx.UnusedRecoveryCodes(ctx, u.ID); err != nil || n != 1 {
			t.Fatalf("unused %d %v", n, err)
		}
		if err := tx.CreateMFAChallenge(ctx, "ch", u.ID, baseTime.Add(5*time.Minute), baseTime); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if id, err := tx.TakeMFAAttempt(ctx, "ch", 2, baseTime); err != nil || id != u.ID {
				t.Fatalf("attempt %d: %q %v", i, id, err)
			}
		}
		if id, err := tx.TakeMFAAttempt(ctx, "ch", 2, baseTime); err != nil || id != "" {
			t.Fatalf("attempt over max: %q %v", id, err)
		}
		if id, err := tx.TakeMFAAttempt(ctx, "ch", 5, baseTime.Add(5*time.Minute)); err != nil || id != "" {
			t.Fatalf("attempt when expired: %q %v", id, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := tx.UseMFAChallenge(ctx, "ch", baseTime); err != nil || ok != want {
				t.Fatalf("use %d: %v %v", i, ok, err)
			}
		}
		if n, err := tx.PurgeMFAChallenges(ctx, baseTime.Add(time.Hour), 10); err != nil || n != 1 {
			t.Fatalf("expired %d %v", n, err)
		}
		if ok, err := tx.DeleteTOTP(ctx, u.ID); err != nil || !ok {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if n, _ := tx.UnusedRecoveryCodes(ctx, u.ID); n != 0 {
			t.Fatalf("recovery codes outlive the secret: %d", n)
		}
		return nil
	})
	// The organization's policy and who it would lock out.
	org := &gatehouse.Organization{ID: newID(), Name: "MFA org", CreatedAt: baseTime, UpdatedAt: baseTime}
	other := mustCreateUser(t, s, "other@example.com")
	mustTx(t, s, func(tx *store.Conn) error {
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		for _, id := range []string{u.ID, other.ID} {
			if err := tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: org.ID, UserID: id, RoleID: "",
				CreatedAt: baseTime, UpdatedAt: baseTime}); err != nil {
				return err
			}
		}
		if _, err := tx.PutPendingTOTP(ctx, u.ID, "s", baseTime); err != nil {
			return err
		}
		_, err := tx.ConfirmTOTP(ctx, u.ID, baseTime)
		return err
	})
	mustTx(t, s, func(tx *store.Conn) error {
		for _, want := range []bool{false, true, false} {
			on, err := tx.OrgRequiresMFA(ctx, org.ID)
			if err != nil || on != want {
				t.Fatalf("require_mfa %v %v, want %v", on, err, want)
			}
			if err := tx.SetOrgRequireMFA(ctx, org.ID, !want, baseTime); err != nil {
				return err
			}
		}
		without, err := tx.MembersWithoutMFA(ctx, org.ID, 10)
		if err != nil || len(without) != 1 || without[0].UserID != other.ID || without[0].Email != "other@example.com" {
			t.Fatalf("without mfa %+v %v", without, err)
		}
		on, err := tx.UsersWithMFA(ctx, []string{u.ID, other.ID})
		if err != nil || !on[u.ID] || on[other.ID] {
			t.Fatalf("users with mfa %v %v", on, err)
		}
		return nil
	})
}
