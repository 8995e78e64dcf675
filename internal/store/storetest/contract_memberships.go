package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mustCreateOrg inserts an organization created by userID.
func mustCreateOrg(tb testing.TB, s *store.Store, name, userID string) *gatehouse.Organization {
	tb.Helper()
	o := &gatehouse.Organization{ID: newID(), Name: name, CreatedBy: userID, Settings: []byte(`{}`), CreatedAt: baseTime, UpdatedAt: baseTime}
	mustTx(tb, s, func(tx *store.Conn) error { return tx.CreateOrg(context.Background(), o) })
	return o
}

// mustJoin makes userID a member of orgID with roleID and grants, created at
// the given instant.
func mustJoin(tb testing.TB, s *store.Store, orgID, userID, roleID string, grants []gatehouse.Grant, at time.Time) *gatehouse.Membership {
	tb.Helper()
	m := &gatehouse.Membership{ID: newID(), OrgID: orgID, UserID: userID, RoleID: roleID, Grants: grants, CreatedAt: at, UpdatedAt: at}
	mustTx(tb, s, func(tx *store.Conn) error { return tx.CreateMembership(context.Background(), m) })
	return m
}

// runMemberships: one membership per user and organization; reading one
// back joins its user; updates replace role and grants; deleting clears the
// user's current organization when it was this one; the member list pages
// newest first and searches name and email literally; owner candidates are
// the members with a role or an owner grant, of one organization only.
func runMemberships(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	ada := mustCreateUser(t, s, "ada@example.com")
	bob := mustCreateUser(t, s, "bob_smith@example.com")
	cat := mustCreateUser(t, s, "cat@example.com")
	org := mustCreateOrg(t, s, "Acme", ada.ID)
	other := mustCreateOrg(t, s, "Other", ada.ID)
	read := []gatehouse.Grant{{EntityType: gatehouse.EntityProjects, EntityID: "*", Name: gatehouse.ProjectFullAccess, Action: "read", Permission: []gatehouse.AreaGrant{}}}

	mustJoin(t, s, org.ID, ada.ID, gatehouse.RoleOwnerID, nil, baseTime)
	mustJoin(t, s, org.ID, bob.ID, "", read, baseTime.Add(time.Second))
	mustJoin(t, s, org.ID, cat.ID, "", nil, baseTime.Add(2*time.Second))
	mustJoin(t, s, other.ID, bob.ID, gatehouse.RoleAdminID, nil, baseTime)

	t.Run("Read", func(t *testing.T) {
		m, err := s.R().Membership(ctx, org.ID, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.OrgID != org.ID || m.UserID != bob.ID || m.RoleID != "" || len(m.Grants) != 1 || m.Grants[0].Action != "read" ||
			m.UserEmail != bob.Email || m.UserName != bob.Name || !equalTime(m.CreatedAt, baseTime.Add(time.Second)) {
			t.Fatalf("membership = %+v", m)
		}
		// No grants are stored as an empty list, not null.
		if m, err := s.R().Membership(ctx, org.ID, cat.ID); err != nil || m.Grants == nil || len(m.Grants) != 0 {
			t.Fatalf("grantless membership = %+v, %v", m, err)
		}
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := s.R().Membership(ctx, org.ID, newID())
		wantCode(t, err, gatehouse.ENOTFOUND)
		// A member elsewhere is not a member here.
		_, err = s.R().Membership(ctx, other.ID, cat.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
	})

	t.Run("ErrTwice", func(t *testing.T) {
		err := s.Tx(ctx, func(tx *store.Conn) error {
			return tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: org.ID, UserID: bob.ID, CreatedAt: baseTime, UpdatedAt: baseTime})
		})
		wantCode(t, err, gatehouse.ECONFLICT)
		if r := gatehouse.AsError(err).Reason; r != "already_member" {
			t.Fatalf("reason %q, want already_member", r)
		}
	})

	t.Run("List", func(t *testing.T) {
		all, err := s.R().ListMemberships(ctx, org.ID, "", gatehouse.PageRequest{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := membershipUsers(all); !equalStrings(got, []string{cat.ID, bob.ID, ada.ID}) {
			t.Fatalf("list = %v, want newest first", got)
		}
		// Keyset pages: two, then the rest, through the last row's cursor.
		first, err := s.R().ListMemberships(ctx, org.ID, "", gatehouse.PageRequest{Limit: 2})
		if err != nil || len(first) != 3 { // FetchLimit: one more than asked
			t.Fatalf("first page: %d rows, %v", len(first), err)
		}
		last := first[1]
		rest, err := s.R().ListMemberships(ctx, org.ID, "", gatehouse.PageRequest{Limit: 2,
			After: cursorOf(t, gatehouse.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode())})
		if err != nil || !equalStrings(membershipUsers(rest), []string{ada.ID}) {
			t.Fatalf("second page = %v, %v", membershipUsers(rest), err)
		}
		// Search: a case-insensitive substring of name or email, with LIKE
		// wildcards taken literally.
		for q, want := range map[string][]string{"BOB": {bob.ID}, "_smith": {bob.ID}, "example.com": {cat.ID, bob.ID, ada.ID},
			"%": {}, "b_b": {}, "User cat": {cat.ID}} {
			got, err := s.R().ListMemberships(ctx, org.ID, q, gatehouse.PageRequest{Limit: 10})
			if err != nil || !equalStrings(membershipUsers(got), want) {
				t.Fatalf("search %q = %v, %v; want %v", q, membershipUsers(got), err, want)
			}
		}
		// Another organization's list holds only its own members.
		if got, err := s.R().ListMemberships(ctx, other.ID, "", gatehouse.PageRequest{Limit: 10}); err != nil || !equalStrings(membershipUsers(got), []string{bob.ID}) {
			t.Fatalf("other list = %v, %v", membershipUsers(got), err)
		}
	})

	t.Run("OwnerCandidates", func(t *testing.T) {
		// Ada has a role; Bob only a read grant; Cat nothing.
		got, err := s.R().OwnerCandidates(ctx, org.ID)
		if err != nil || !sameStrings(membershipUsers(got), []string{ada.ID}) {
			t.Fatalf("candidates = %v, %v", membershipUsers(got), err)
		}
		// An owner grant makes Cat one, and so does a custom role for Bob.
		owner := []gatehouse.Grant{{EntityType: gatehouse.EntityOrganizations, EntityID: org.ID, Name: gatehouse.OrgOwner, Permission: []gatehouse.AreaGrant{}}}
		mustTx(t, s, func(tx *store.Conn) error {
			if err := tx.UpdateMembership(ctx, &gatehouse.Membership{OrgID: org.ID, UserID: cat.ID, Grants: owner}, baseTime.Add(time.Minute)); err != nil {
				return err
			}
			return tx.UpdateMembership(ctx, &gatehouse.Membership{OrgID: org.ID, UserID: bob.ID, RoleID: gatehouse.RoleViewerID, Grants: read}, baseTime.Add(time.Minute))
		})
		got, err = s.R().OwnerCandidates(ctx, org.ID)
		if err != nil || !sameStrings(membershipUsers(got), []string{ada.ID, bob.ID, cat.ID}) {
			t.Fatalf("candidates after update = %v, %v", membershipUsers(got), err)
		}
		// Of the other organization: Bob (admin) only.
		if got, err := s.R().OwnerCandidates(ctx, other.ID); err != nil || !sameStrings(membershipUsers(got), []string{bob.ID}) {
			t.Fatalf("other candidates = %v, %v", membershipUsers(got), err)
		}
	})

	t.Run("Update", func(t *testing.T) {
		at := baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error {
			return tx.UpdateMembership(ctx, &gatehouse.Membership{OrgID: org.ID, UserID: cat.ID, RoleID: gatehouse.RoleAdminID}, at)
		})
		m, err := s.R().Membership(ctx, org.ID, cat.ID)
		if err != nil || m.RoleID != gatehouse.RoleAdminID || len(m.Grants) != 0 || m.Grants == nil || !equalTime(m.UpdatedAt, at) ||
			!equalTime(m.CreatedAt, baseTime.Add(2*time.Second)) {
			t.Fatalf("updated = %+v, %v", m, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		// Bob and Cat act in org; deleting Bob's membership there clears his
		// current organization, not Cat's, and deleting a membership that
		// does not exist changes nothing.
		mustTx(t, s, func(tx *store.Conn) error {
			if err := tx.SetCurrentOrg(ctx, bob.ID, org.ID, baseTime); err != nil {
				return err
			}
			return tx.SetCurrentOrg(ctx, cat.ID, org.ID, baseTime)
		})
		mustTx(t, s, func(tx *store.Conn) error {
			if err := tx.DeleteMembership(ctx, org.ID, bob.ID); err != nil {
				return err
			}
			return tx.DeleteMembership(ctx, other.ID, cat.ID) // not a member: nothing happens
		})
		_, err := s.R().Membership(ctx, org.ID, bob.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		if _, err := s.R().Membership(ctx, other.ID, bob.ID); err != nil {
			t.Fatalf("membership elsewhere went too: %v", err)
		}
		if u, err := s.R().UserByID(ctx, bob.ID); err != nil || u.CurrentOrgID != "" {
			t.Fatalf("bob's current organization = %q, %v", u.CurrentOrgID, err)
		}
		if u, err := s.R().UserByID(ctx, cat.ID); err != nil || u.CurrentOrgID != org.ID {
			t.Fatalf("cat's current organization = %q, %v", u.CurrentOrgID, err)
		}
	})
}

func membershipUsers(ms []*gatehouse.Membership) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.UserID)
	}
	return out
}

// equalStrings compares in order.
func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// sameStrings compares as sets of distinct strings.
func sameStrings(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
