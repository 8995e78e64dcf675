package store_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestEmailIndexPlans: the one index by address (migrations 00190, 00210)
// serves the look-ups by address — an organization's invitations filtered
// by address, newest first (a handful of rows, sorted), pending invitations
// to an address across organizations, and the invitee's pending invitation
// in an organization that every new invitation reads (by the whole unique
// key) — before and after the table is analyzed: on SQLite that index, and
// an organization's unfiltered list keeps its own; on PostgreSQL (whose
// planner sorts a table this small whatever its indexes) an index searched
// by address, never the organization's rows filtered one by one.
func TestEmailIndexPlans(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			now := store.Now()
			if err := st.SeedOrgs(ctx, store.OrgSeed{To: 20, Members: 2, Projects: 1, Folders: 1, TokenHash: secret.HashToken, Now: now}); err != nil {
				t.Fatal(err)
			}
			var invs []*gatehouse.Invitation
			for i := range 400 {
				org := store.SeedOrgID(i % 20)
				invs = append(invs, &gatehouse.Invitation{ID: store.SeedUserID(900000 + i), OrgID: org, Email: "inv" + itoa(i%150) + "@example.com",
					RoleID: "viewer", TokenHash: secret.HashToken("inv" + itoa(i)), ValidDays: 7, CreatedBy: store.SeedUserID((i % 20) * store.SeedUsersPerOrg),
					Status:    []string{gatehouse.InvitationPending, gatehouse.InvitationAccepted}[min(i/150, 1)],
					CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), SentAt: now})
			}
			if err := st.Tx(ctx, func(tx *store.Conn) error { return tx.BulkInsertInvitations(ctx, invs) }); err != nil {
				t.Fatal(err)
			}
			// The queries as the store builds them.
			var got []recorded
			st.Observe(func(q string, args []any) { got = append(got, recorded{"", q, append([]any(nil), args...)}) })
			r := st.R()
			if _, err := r.ListInvitations(ctx, store.InvitationFilter{OrgID: store.SeedOrgID(3), Email: "inv3@example.com", Now: now, Page: gatehouse.PageRequest{Limit: 25}}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.PendingInvitationsTo(ctx, "inv3@example.com", now, gatehouse.PageRequest{Limit: 25}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ListInvitations(ctx, store.InvitationFilter{OrgID: store.SeedOrgID(3), Now: now, Page: gatehouse.PageRequest{Limit: 25}}); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := r.Invitee(ctx, store.SeedOrgID(3), "inv3@example.com"); err != nil {
				t.Fatal(err)
			}
			st.Observe(nil)
			if len(got) != 4 {
				t.Fatalf("recorded %d queries, want 4", len(got))
			}
			want := []string{`invitations_by_email\b`, `invitations_by_email\b`, `invitations_org_created\b`,
				`invitations_by_email \(email_norm=\? AND org_id=\? AND <expr>=\?\)`}
			for _, analyzed := range []bool{false, true} {
				if analyzed {
					if err := st.Analyze(ctx, "invitations"); err != nil {
						t.Fatal(err)
					}
				}
				for i, q := range got {
					plan := explain(t, st, e.Name, q)
					switch {
					case e.Name == "postgres" && !analyzed:
						// Its planner guesses at a table never analyzed (autovacuum analyzes).
					case e.Name == "postgres" && i < 2:
						if !regexp.MustCompile(`Index Cond: \(+email_norm = `).MatchString(plan) {
							t.Errorf("analyzed %v: %s does not search an index by address:\n%s", analyzed, oneLine(q.query), plan)
						}
					case e.Name == "postgres" && i == 3:
						if !regexp.MustCompile(`invitations_by_email on invitations.*\n.*Index Cond: \(+email_norm = .*org_id = .*CASE`).MatchString(plan) {
							t.Errorf("analyzed %v: %s does not search the index by address by its whole key:\n%s", analyzed, oneLine(q.query), plan)
						}
					case e.Name == "postgres":
					case !regexp.MustCompile(`\b` + want[i]).MatchString(plan):
						t.Errorf("analyzed %v: %s does not use %s:\n%s", analyzed, oneLine(q.query), want[i], plan)
					}
				}
			}
		})
	}
}
