package storetest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// planRows is how many rows each list holds in the plan test: past 10,000,
// where a sort of the whole list or a full scan would show.
const planRows = 10_050

// runListPlans seeds every paged list past 10,000 rows and checks the plan
// of each list query, as the store builds it, for a full scan or a sort:
// every page must be read through an index in the list's order.
func runListPlans(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	org, other := newID(), newID()
	owner := mustCreateUser(t, s, "owner@example.com")
	t0 := baseTime
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	actions := []string{"member.added", "member.removed", "invitation.sent", "key.created"}
	targets := []string{"member", "invitation", "api_key"}
	statuses := []string{gatehouse.InvitationPending, gatehouse.InvitationAccepted, gatehouse.InvitationRevoked, gatehouse.InvitationExpired}
	mustTx(t, s, func(tx *store.Conn) error {
		for _, id := range []string{org, other} {
			if err := tx.CreateOrg(ctx, &gatehouse.Organization{ID: id, Name: "Org " + id, CreatedBy: owner.ID, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		for i := range planRows {
			for _, o := range []string{org, other} {
				if o == other && i%4 != 0 {
					continue
				}
				ev := &gatehouse.AuditEvent{OrgID: o, ActorKind: "user", ActorID: fmt.Sprintf("actor-%d", i%3), Action: actions[i%len(actions)],
					TargetType: targets[i%len(targets)], TargetID: fmt.Sprintf("target-%d", i%25), CreatedAt: at(i)}
				if err := tx.WriteAudit(ctx, ev); err != nil {
					return err
				}
			}
			u := &gatehouse.User{ID: newID(), Email: fmt.Sprintf("member%d@example.com", i), Name: fmt.Sprintf("Member %d", i), CreatedAt: at(i)}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: org, UserID: u.ID, RoleID: gatehouse.RoleOwnerID, CreatedAt: at(i)}); err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, &gatehouse.Session{ID: newID(), UserID: owner.ID, AccessHash: "a" + newID(), RefreshHash: "r" + newID(),
				AccessExpiresAt: at(i + 900), RefreshExpiresAt: at(i + 86400), CreatedAt: at(i), LastUsedAt: at(i)}); err != nil {
				return err
			}
			if err := tx.CreateAPIKey(ctx, &gatehouse.APIKey{ID: newID(), OrgID: org, Name: "key", Prefix: "gh_", SecretHash: newID(), CreatedBy: owner.ID, CreatedAt: at(i)}); err != nil {
				return err
			}
		}
		invs := make([]*gatehouse.Invitation, planRows)
		for i := range invs {
			invs[i] = &gatehouse.Invitation{ID: newID(), OrgID: org, Email: fmt.Sprintf("invitee%d@example.com", i), Authentication: "password",
				Status: statuses[i%len(statuses)], TokenHash: newID(), ValidDays: 7, CreatedBy: owner.ID, UpdatedBy: owner.ID,
				CreatedAt: at(i), UpdatedAt: at(i), ExpiresAt: at(i).Add(7 * 24 * time.Hour), SentAt: at(i)}
		}
		return tx.BulkInsertInvitations(ctx, invs)
	})
	if e.Name == "postgres" {
		// PostgreSQL's autovacuum keeps statistics of a grown table; SQLite
		// is left as deployed, without ANALYZE.
		if err := s.Analyze(ctx, "audit_events", "users", "memberships", "sessions", "api_keys", "invitations"); err != nil {
			t.Fatal(err)
		}
	}

	mid := &gatehouse.Cursor{CreatedAt: at(planRows / 2), ID: "m"}
	now := at(planRows - 100)
	page := gatehouse.PageRequest{Limit: 25}
	deep := gatehouse.PageRequest{Limit: 25, After: mid}
	audit := func(f store.AuditFilter) func(c *store.Conn) error {
		f.OrgID = org
		return func(c *store.Conn) error { _, err := c.ListAudit(ctx, f); return err }
	}
	invitations := func(f store.InvitationFilter) func(c *store.Conn) error {
		f.OrgID, f.Now = org, now
		return func(c *store.Conn) error { _, err := c.ListInvitations(ctx, f); return err }
	}
	cases := []struct {
		name string
		run  func(c *store.Conn) error
	}{
		{"Audit", audit(store.AuditFilter{Page: page})},
		{"AuditDeep", audit(store.AuditFilter{Page: deep})},
		{"AuditActor", audit(store.AuditFilter{ActorID: "actor-1", Page: page})},
		{"AuditActorDeep", audit(store.AuditFilter{ActorID: "actor-1", Page: deep})},
		{"AuditAction", audit(store.AuditFilter{Action: "member.added", Page: page})},
		{"AuditActionPrefix", audit(store.AuditFilter{Action: "member.", Page: page})},
		{"AuditTargetType", audit(store.AuditFilter{TargetType: "invitation", Page: page})},
		{"AuditTargetID", audit(store.AuditFilter{TargetID: "target-3", Page: page})},
		{"AuditTarget", audit(store.AuditFilter{TargetType: "invitation", TargetID: "target-3", Page: page})},
		{"AuditFromTo", audit(store.AuditFilter{From: at(100), To: at(planRows - 100), Page: page})},
		{"AuditActorActionFrom", audit(store.AuditFilter{ActorID: "actor-2", Action: "member.", From: at(100), Page: page})},
		{"Invitations", invitations(store.InvitationFilter{Page: page})},
		{"InvitationsDeep", invitations(store.InvitationFilter{Page: deep})},
		{"InvitationsBefore", invitations(store.InvitationFilter{Page: page, Before: mid})},
		{"InvitationsPending", invitations(store.InvitationFilter{Status: gatehouse.InvitationPending, Page: page})},
		{"InvitationsExpired", invitations(store.InvitationFilter{Status: gatehouse.InvitationExpired, Page: page})},
		{"InvitationsAccepted", invitations(store.InvitationFilter{Status: gatehouse.InvitationAccepted, Page: deep})},
		{"InvitationsEmail", invitations(store.InvitationFilter{Email: "invitee77@example.com", Page: page})},
		{"InvitationsListed", invitations(store.InvitationFilter{Listed: true, Page: page})},
		{"Members", func(c *store.Conn) error { _, err := c.ListMemberships(ctx, org, "", page); return err }},
		{"MembersDeep", func(c *store.Conn) error { _, err := c.ListMemberships(ctx, org, "", deep); return err }},
		{"MembersSearch", func(c *store.Conn) error { _, err := c.ListMemberships(ctx, org, "member", page); return err }},
		{"Sessions", func(c *store.Conn) error { _, err := c.ListUserSessions(ctx, owner.ID, page); return err }},
		{"SessionsDeep", func(c *store.Conn) error { _, err := c.ListUserSessions(ctx, owner.ID, deep); return err }},
		{"APIKeys", func(c *store.Conn) error { _, err := c.ListAPIKeys(ctx, org, page); return err }},
		{"APIKeysDeep", func(c *store.Conn) error { _, err := c.ListAPIKeys(ctx, org, deep); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var queries []string
			var args [][]any
			c := s.Traced(func(q string, a []any) { queries, args = append(queries, q), append(args, a) })
			if err := tc.run(c); err != nil {
				t.Fatal(err)
			}
			if len(queries) != 1 {
				t.Fatalf("%d queries, want one: %q", len(queries), queries)
			}
			plan := explain(t, s, queries[0], args[0])
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
			if tc.name == "InvitationsEmail" {
				// One address's invitations are a handful of rows (one
				// pending at a time per organization): found by the unique
				// index by address, then sorted (migration 00210).
				if !regexp.MustCompile(`invitations_by_email \(email_norm=\?|Index Cond: \(+email_norm = `).MatchString(strings.Join(plan, "\n")) {
					t.Fatalf("the list filtered by address does not search the index by address:\n%s", strings.Join(plan, "\n"))
				}
				plan = slices.DeleteFunc(plan, func(l string) bool { return strings.Contains(l, "USE TEMP B-TREE FOR ORDER BY") })
			}
			if bad := badPlan(e.Name, plan); bad != "" {
				t.Fatalf("the list is not read through an ordered index (%s):\n%s\nquery: %s", bad, strings.Join(plan, "\n"), queries[0])
			}
		})
	}
}

// explain returns the plan of q, one line per node.
func explain(tb testing.TB, s *store.Store, q string, args []any) []string {
	tb.Helper()
	ctx := context.Background()
	prefix, col := "EXPLAIN ", 0
	if s.Dialect().Name() == "sqlite" {
		prefix, col = "EXPLAIN QUERY PLAN ", 3
	}
	rows, err := s.ReaderDB().QueryContext(ctx, prefix+q, args...)
	if err != nil {
		tb.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := ScanAny(rows)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals[col]))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// badPlan names what makes a list plan read more than its page: a full
// scan, or a sort (SQLite's temporary B-tree; PostgreSQL's Sort, unless the
// planner expects it to sort at most a page of rows, as for one address's
// invitations), "" when there is none.
func badPlan(engine string, plan []string) string {
	for i, l := range plan {
		l = strings.TrimSpace(l)
		if engine == "sqlite" {
			switch {
			case strings.Contains(l, "USE TEMP B-TREE"):
				return "sort: " + l
			case strings.HasPrefix(l, "SCAN "):
				return "full scan: " + l
			}
			continue
		}
		if strings.Contains(l, "Seq Scan") {
			return "full scan: " + l
		}
		if strings.Contains(l, "Sort") && !strings.Contains(l, "Sort Key") {
			// The rows sorted are those of the scan below it.
			for _, below := range plan[i+1:] {
				if !strings.Contains(below, "Scan") {
					continue
				}
				if m := rowsRe.FindStringSubmatch(below); m == nil || atoi(m[1]) > 26 {
					return "sort of more than a page: " + l + " over " + strings.TrimSpace(below)
				}
				break
			}
		}
	}
	return ""
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 1 << 30
	}
	return n
}

// rowsRe reads a PostgreSQL plan node's estimated row count.
var rowsRe = regexp.MustCompile(` rows=(\d+) `)
