package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestReminderTokenLifetime: an invitation keeps its link token (sealed) for
// its reminder in its own row only while a reminder could still go out: the
// UPDATE that moves it out of pending drops the token, and PurgeReminders
// drops the tokens of pending invitations past their expiry, no others.
func TestReminderTokenLifetime(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			now := store.Now()
			if err := st.SeedOrgs(ctx, store.OrgSeed{To: 1, TokenHash: secret.HashToken, Now: now}); err != nil {
				t.Fatal(err)
			}
			org, by := store.SeedOrgID(0), store.SeedUserID(0)
			inv := func(n int, expires time.Time) *gatehouse.Invitation {
				return &gatehouse.Invitation{ID: store.SeedUserID(700 + n), OrgID: org, Email: "r" + itoa(n) + "@example.com", Grants: []gatehouse.Grant{},
					Authentication: gatehouse.AuthPassword, Status: gatehouse.InvitationPending, TokenHash: secret.HashToken("t" + itoa(n)),
					ValidDays: 7, CreatedBy: by, UpdatedBy: by, CreatedAt: now, UpdatedAt: now, ExpiresAt: expires, SentAt: now}
			}
			live, revoked, lapsed := inv(1, now.Add(time.Hour)), inv(2, now.Add(time.Hour)), inv(3, now.Add(-time.Minute))
			if err := st.Tx(ctx, func(tx *store.Conn) error {
				for _, i := range []*gatehouse.Invitation{live, revoked, lapsed} {
					if err := tx.CreateInvitationWithReminder(ctx, i, "link-"+i.ID, now.Add(-time.Second)); err != nil {
						return err
					}
				}
				_, err := tx.SetInvitationStatus(ctx, revoked.ID, gatehouse.InvitationRevoked, by, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			sealed := func(id string) bool {
				var n int
				if err := st.WriterDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM invitations WHERE id = $1 AND token_sealed IS NOT NULL`, id).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n == 1
			}
			if !sealed(live.ID) || sealed(revoked.ID) || !sealed(lapsed.ID) {
				t.Fatalf("tokens kept: live %v revoked %v lapsed %v, want true false true", sealed(live.ID), sealed(revoked.ID), sealed(lapsed.ID))
			}
			var purged int
			if err := st.Tx(ctx, func(tx *store.Conn) (err error) {
				purged, err = tx.PurgeReminders(ctx, now, 100)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if purged != 1 || !sealed(live.ID) || sealed(lapsed.ID) {
				t.Fatalf("purged %d: live kept %v, lapsed kept %v; want 1, true, false", purged, sealed(live.ID), sealed(lapsed.ID))
			}
			// The live one's reminder is due: claimed once, with its link.
			var token string
			var ok bool
			if err := st.Tx(ctx, func(tx *store.Conn) (err error) {
				token, ok, err = tx.ClaimReminder(ctx, live.ID, now)
				return err
			}); err != nil || !ok || token != "link-"+live.ID {
				t.Fatalf("ClaimReminder = %q, %v, %v", token, ok, err)
			}
		})
	}
}
