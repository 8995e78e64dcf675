package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// invitationTo is a pending invitation into orgID by createdBy, created at
// at and expiring an hour later, granting roleID and grants.
func invitationTo(orgID, email, createdBy, roleID string, grants []gatehouse.Grant, at time.Time) *gatehouse.Invitation {
	if grants == nil {
		grants = []gatehouse.Grant{}
	}
	return &gatehouse.Invitation{ID: newID(), OrgID: orgID, Email: email, Name: "Invitee", RoleID: roleID, Grants: grants,
		Authentication: "password", Status: gatehouse.InvitationPending, TokenHash: "h:" + newID(), ValidDays: 7,
		CreatedBy: createdBy, UpdatedBy: createdBy, CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(time.Hour), SentAt: at}
}

func mustInvite(tb testing.TB, s *store.Store, is ...*gatehouse.Invitation) {
	tb.Helper()
	mustTx(tb, s, func(tx *store.Conn) error { return tx.InsertInvitations(context.Background(), is) })
}

func invitationIDs(is []*gatehouse.Invitation) []string {
	out := []string{}
	for _, i := range is {
		out = append(out, i.ID)
	}
	return out
}

// runInvitations: one pending invitation per address (normalized) and
// organization; reads by id (in its organization or not), by token and by
// the token a resend replaced; status moves only from pending, once; the
// management list filters by status (a lapsed pending one counts as
// expired), address and the dialects' listing, and pages both ways; the
// invitee's and the inviter's lists, whether an address is a member or
// invited, the role and folder look-ups that
// orphan revocation starts from, dismissal and the daily quota.
func runInvitations(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	ada := mustCreateUser(t, s, "ada@example.com")
	bob := mustCreateUser(t, s, "bob@example.com")
	org := mustCreateOrg(t, s, "Acme", ada.ID)
	other := mustCreateOrg(t, s, "Other", ada.ID)
	roleID := newID()
	mustTx(t, s, func(tx *store.Conn) error {
		return tx.CreateRole(ctx, org.ID, ada.ID, &gatehouse.Role{ID: roleID, Name: "editor", Grants: []gatehouse.Grant{}, CreatedAt: baseTime, UpdatedAt: baseTime})
	})
	mustJoin(t, s, org.ID, ada.ID, gatehouse.RoleOwnerID, nil, baseTime)
	mustJoin(t, s, org.ID, bob.ID, roleID, nil, baseTime)
	folderGrant := []gatehouse.Grant{{EntityType: gatehouse.EntityProjects, EntityID: newID(), Name: gatehouse.ProjectCustom,
		Permission: []gatehouse.AreaGrant{{Name: gatehouse.AreaFolders, Action: gatehouse.ActionCustom,
			Folders: []gatehouse.FolderGrant{{FolderID: newID(), Action: "read"}}}}}}

	// Oldest first: carol (by Ada, direct folder grant), dan (by Bob, who
	// holds the role), erin (granting the role), fay (lapsed), gus (accepted
	// below), and one to carol in the other organization.
	carol := invitationTo(org.ID, "Carol@Example.com", ada.ID, "", folderGrant, baseTime)
	dan := invitationTo(org.ID, "dan@example.com", bob.ID, "", nil, baseTime.Add(1*time.Second))
	erin := invitationTo(org.ID, "erin@example.com", ada.ID, roleID, nil, baseTime.Add(2*time.Second))
	fay := invitationTo(org.ID, "fay@example.com", ada.ID, "", nil, baseTime.Add(3*time.Second))
	fay.ExpiresAt = baseTime.Add(4 * time.Second)
	gus := invitationTo(org.ID, "gus@example.com", ada.ID, gatehouse.RoleViewerID, nil, baseTime.Add(5*time.Second))
	carolElsewhere := invitationTo(other.ID, "carol@example.com", ada.ID, "", nil, baseTime.Add(6*time.Second))
	mustInvite(t, s, carol, dan, erin, fay, gus, carolElsewhere)
	now := baseTime.Add(10 * time.Second) // fay has lapsed; the others are live

	t.Run("Read", func(t *testing.T) {
		i, err := s.R().Invitation(ctx, org.ID, carol.ID)
		if err != nil || i.Email != "Carol@Example.com" || i.Name != "Invitee" || i.RoleID != "" || len(i.Grants) != 1 ||
			len(i.Grants[0].Permission[0].Folders) != 1 || i.Status != gatehouse.InvitationPending || i.TokenHash != carol.TokenHash ||
			i.ValidDays != 7 || i.CreatedBy != ada.ID || i.AcceptedBy != "" || !equalTime(i.CreatedAt, carol.CreatedAt) ||
			!equalTime(i.ExpiresAt, carol.ExpiresAt) || !equalTime(i.SentAt, carol.SentAt) {
			t.Fatalf("invitation = %+v, %v", i, err)
		}
		if i, err := s.R().Invitation(ctx, org.ID, erin.ID); err != nil || i.RoleID != roleID || i.Grants == nil {
			t.Fatalf("role invitation = %+v, %v", i, err)
		}
		if i, err := s.R().InvitationByID(ctx, carolElsewhere.ID); err != nil || i.OrgID != other.ID {
			t.Fatalf("by id = %+v, %v", i, err)
		}
		if i, err := s.R().InvitationByTokenHash(ctx, dan.TokenHash); err != nil || i.ID != dan.ID {
			t.Fatalf("by token = %+v, %v", i, err)
		}
		// The pending one to an address, whatever its case and spaces.
		if i, err := s.R().PendingInvitationFor(ctx, org.ID, "  CAROL@example.COM "); err != nil || i == nil || i.ID != carol.ID {
			t.Fatalf("pending for carol = %+v, %v", i, err)
		}
		if i, err := s.R().PendingInvitationFor(ctx, org.ID, "nobody@example.com"); err != nil || i != nil {
			t.Fatalf("pending for nobody = %+v, %v", i, err)
		}
		// The organization, member or invited, in one look-up: ada is a
		// member of org; carol is invited to both org and other.
		for _, c := range []struct {
			org, email string
			member     bool
			pending    string
		}{{org.ID, "  CAROL@example.COM ", false, carol.ID}, {other.ID, "carol@example.com", false, carolElsewhere.ID},
			{org.ID, "ADA@example.com", true, ""}, {other.ID, "ada@example.com", false, ""}, {org.ID, "nobody@example.com", false, ""}} {
			o, member, pending, err := s.R().Invitee(ctx, c.org, c.email)
			if err != nil || o.ID != c.org || member != c.member || pending != c.pending {
				t.Fatalf("invitee %q in %s = %v, %v, %q, %v; want %v, %q", c.email, c.org, o, member, pending, err, c.member, c.pending)
			}
		}
		// No such organization: not found.
		_, _, _, err = s.R().Invitee(ctx, newID(), "ada@example.com")
		wantCode(t, err, gatehouse.ENOTFOUND)
	})

	t.Run("ErrOtherOrganization", func(t *testing.T) {
		_, err := s.R().Invitation(ctx, other.ID, carol.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		for _, f := range []func() error{
			func() error { _, err := s.R().InvitationByID(ctx, newID()); return err },
			func() error { _, err := s.R().InvitationByTokenHash(ctx, "h:unknown"); return err },
			func() error { _, err := s.R().InvitationByPrevTokenHash(ctx, carol.TokenHash); return err },
		} {
			wantCode(t, f(), gatehouse.ENOTFOUND)
		}
	})

	t.Run("ErrPendingTwice", func(t *testing.T) {
		err := s.Tx(ctx, func(tx *store.Conn) error {
			return tx.CreateInvitation(ctx, invitationTo(org.ID, "carol@EXAMPLE.com ", ada.ID, "", nil, baseTime))
		})
		wantCode(t, err, gatehouse.ECONFLICT)
		if r := gatehouse.AsError(err).Reason; r != "invitation_pending" {
			t.Fatalf("reason %q, want invitation_pending", r)
		}
	})

	// One pending invitation per organization and address, any number of
	// ended ones (the unique index by address, migration 00210).
	t.Run("OKAgainOnceEnded", func(t *testing.T) {
		again := mustCreateOrg(t, s, "Again", ada.ID)
		for i, status := range []string{gatehouse.InvitationRevoked, gatehouse.InvitationAccepted, ""} {
			inv := invitationTo(again.ID, "again@example.com", ada.ID, "", nil, baseTime.Add(time.Duration(i)*time.Second))
			if err := s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateInvitation(ctx, inv) }); err != nil {
				t.Fatalf("invitation %d: %v", i, err)
			}
			if status == "" {
				break
			}
			mustTx(t, s, func(tx *store.Conn) error {
				ok, err := tx.SetInvitationStatus(ctx, inv.ID, status, ada.ID, baseTime)
				if err == nil && !ok {
					t.Fatalf("%s: invitation was not pending", status)
				}
				return err
			})
		}
		err := s.Tx(ctx, func(tx *store.Conn) error {
			return tx.CreateInvitation(ctx, invitationTo(again.ID, "Again@example.com", ada.ID, "", nil, baseTime))
		})
		wantCode(t, err, gatehouse.ECONFLICT)
		got, err := s.R().ListInvitations(ctx, store.InvitationFilter{OrgID: again.ID, Email: "again@example.com", Now: baseTime, Page: gatehouse.PageRequest{Limit: 10}})
		if err != nil || len(got) != 3 || got[0].Status != gatehouse.InvitationPending || got[2].Status != gatehouse.InvitationRevoked {
			t.Fatalf("again@: invitations, newest first: %d (%v)", len(got), err)
		}
	})

	t.Run("Status", func(t *testing.T) {
		var first, second bool
		mustTx(t, s, func(tx *store.Conn) error {
			var err error
			if first, err = tx.SetInvitationStatus(ctx, gus.ID, gatehouse.InvitationAccepted, bob.ID, now); err != nil {
				return err
			}
			second, err = tx.SetInvitationStatus(ctx, gus.ID, gatehouse.InvitationRevoked, ada.ID, now)
			return err
		})
		if !first || second {
			t.Fatalf("moves from pending: %v, then %v; want only the first", first, second)
		}
		i, err := s.R().Invitation(ctx, org.ID, gus.ID)
		if err != nil || i.Status != gatehouse.InvitationAccepted || i.AcceptedBy != bob.ID || i.UpdatedBy != bob.ID || !equalTime(i.UpdatedAt, now) {
			t.Fatalf("accepted = %+v, %v", i, err)
		}
		// Once not pending, the address may be invited again.
		again := invitationTo(org.ID, "gus@example.com", ada.ID, "", nil, baseTime.Add(7*time.Second))
		mustInvite(t, s, again)
		mustTx(t, s, func(tx *store.Conn) error {
			_, err := tx.SetInvitationStatus(ctx, again.ID, gatehouse.InvitationRevoked, ada.ID, now)
			return err
		})
	})

	t.Run("Renew", func(t *testing.T) {
		old := dan.TokenHash
		renewed := *dan
		renewed.TokenHash, renewed.ExpiresAt, renewed.SentAt, renewed.UpdatedBy = "h:"+newID(), now.Add(time.Hour), now, ada.ID
		var ok bool
		mustTx(t, s, func(tx *store.Conn) error {
			var err error
			ok, err = tx.RenewInvitation(ctx, &renewed)
			return err
		})
		if !ok {
			t.Fatal("pending invitation not renewed")
		}
		if i, err := s.R().InvitationByPrevTokenHash(ctx, old); err != nil || i.ID != dan.ID || i.TokenHash != renewed.TokenHash ||
			!equalTime(i.ExpiresAt, renewed.ExpiresAt) || !equalTime(i.SentAt, now) || i.UpdatedBy != ada.ID {
			t.Fatalf("by previous token = %+v, %v", i, err)
		}
		_, err := s.R().InvitationByTokenHash(ctx, old)
		wantCode(t, err, gatehouse.ENOTFOUND)
		dan.TokenHash, dan.ExpiresAt = renewed.TokenHash, renewed.ExpiresAt
		// An accepted invitation is not renewed.
		accepted := *gus
		accepted.TokenHash = "h:" + newID()
		mustTx(t, s, func(tx *store.Conn) error {
			var err error
			ok, err = tx.RenewInvitation(ctx, &accepted)
			return err
		})
		if ok {
			t.Fatal("accepted invitation renewed")
		}
	})

	t.Run("List", func(t *testing.T) {
		list := func(f store.InvitationFilter) []string {
			t.Helper()
			f.OrgID, f.Now = org.ID, now
			if f.Page.Limit == 0 {
				f.Page.Limit = 20
			}
			is, err := s.R().ListInvitations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return invitationIDs(is)
		}
		againID := list(store.InvitationFilter{Status: gatehouse.InvitationRevoked})
		if len(againID) != 1 {
			t.Fatalf("revoked = %v, want the second invitation to gus", againID)
		}
		for name, c := range map[string]struct {
			f    store.InvitationFilter
			want []string
		}{
			"all":      {store.InvitationFilter{}, []string{againID[0], gus.ID, fay.ID, erin.ID, dan.ID, carol.ID}},
			"pending":  {store.InvitationFilter{Status: gatehouse.InvitationPending}, []string{erin.ID, dan.ID, carol.ID}},
			"expired":  {store.InvitationFilter{Status: gatehouse.InvitationExpired}, []string{fay.ID}},
			"accepted": {store.InvitationFilter{Status: gatehouse.InvitationAccepted}, []string{gus.ID}},
			"email":    {store.InvitationFilter{Email: " GUS@example.com"}, []string{againID[0], gus.ID}},
			"listed":   {store.InvitationFilter{Listed: true}, []string{gus.ID, erin.ID, dan.ID, carol.ID}},
		} {
			if got := list(c.f); !equalStrings(got, c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
		}
		// Pages forwards from a cursor, and backwards (still newest first).
		at := func(id string) *gatehouse.Cursor {
			i, err := s.R().Invitation(ctx, org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return cursorOf(t, gatehouse.Cursor{CreatedAt: i.CreatedAt, ID: i.ID}.Encode())
		}
		if got := list(store.InvitationFilter{Page: gatehouse.PageRequest{Limit: 2, After: at(fay.ID)}}); !equalStrings(got, []string{erin.ID, dan.ID, carol.ID}) {
			t.Errorf("after fay = %v (limit 2 fetches 3)", got)
		}
		// Backwards: the nearest newer rows (limit 2 fetches 3), newest first.
		if got := list(store.InvitationFilter{Page: gatehouse.PageRequest{Limit: 2}, Before: at(dan.ID)}); !equalStrings(got, []string{gus.ID, fay.ID, erin.ID}) {
			t.Errorf("before dan = %v", got)
		}
		// Another organization's list.
		is, err := s.R().ListInvitations(ctx, store.InvitationFilter{OrgID: other.ID, Now: now, Page: gatehouse.PageRequest{Limit: 20}})
		if err != nil || !equalStrings(invitationIDs(is), []string{carolElsewhere.ID}) {
			t.Errorf("other organization = %v, %v", invitationIDs(is), err)
		}
	})

	t.Run("Lookups", func(t *testing.T) {
		check := func(name string, is []*gatehouse.Invitation, err error, want ...string) {
			t.Helper()
			if err != nil || !sameStrings(invitationIDs(is), want) {
				t.Errorf("%s = %v, %v; want %v", name, invitationIDs(is), err, want)
			}
		}
		// Live pending invitations to an address, across organizations.
		is, err := s.R().PendingInvitationsTo(ctx, "carol@example.com", now, gatehouse.PageRequest{Limit: 10})
		check("to carol", is, err, carolElsewhere.ID, carol.ID)
		is, err = s.R().PendingInvitationsTo(ctx, "fay@example.com", now, gatehouse.PageRequest{Limit: 10})
		check("to fay (lapsed)", is, err)
		is, err = s.R().PendingInvitationsBy(ctx, org.ID, bob.ID)
		check("by bob", is, err, dan.ID)
		is, err = s.R().PendingInvitationsBy(ctx, other.ID, bob.ID)
		check("by bob elsewhere", is, err)
		// Granting the role (erin) or sent by one who holds it (Bob: dan).
		is, err = s.R().PendingInvitationsTouchingRole(ctx, org.ID, roleID)
		check("touching the role", is, err, erin.ID, dan.ID)
		is, err = s.R().PendingInvitationsTouchingRole(ctx, other.ID, roleID)
		check("touching the role elsewhere", is, err)
		// Granting folders directly (carol), or through a role (erin).
		is, err = s.R().PendingInvitationsWithFolderGrants(ctx, org.ID, nil)
		check("folder grants", is, err, carol.ID)
		is, err = s.R().PendingInvitationsWithFolderGrants(ctx, org.ID, []string{roleID, newID()})
		check("folder grants or the role", is, err, carol.ID, erin.ID)
	})

	t.Run("Since", func(t *testing.T) {
		n, oldest, err := s.R().InvitationsSince(ctx, org.ID, baseTime.Add(2*time.Second))
		if err != nil || n != 4 || !equalTime(oldest, erin.CreatedAt) { // erin, fay, gus and gus again
			t.Fatalf("since = %d, %v, %v", n, oldest, err)
		}
		n, oldest, err = s.R().InvitationsSince(ctx, org.ID, now)
		if err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("since now = %d, %v, %v", n, oldest, err)
		}
	})

	t.Run("Dismiss", func(t *testing.T) {
		mustTx(t, s, func(tx *store.Conn) error { return tx.DismissInvitation(ctx, gus.ID, now) })
		for id, want := range map[string]bool{gus.ID: true, erin.ID: false} {
			if got, err := s.R().InvitationDismissed(ctx, id); err != nil || got != want {
				t.Errorf("dismissed(%s) = %v, %v", id, got, err)
			}
		}
		is, err := s.R().ListInvitations(ctx, store.InvitationFilter{OrgID: org.ID, Now: now, Listed: true, Page: gatehouse.PageRequest{Limit: 20}})
		if err != nil || !equalStrings(invitationIDs(is), []string{erin.ID, dan.ID, carol.ID}) {
			t.Fatalf("listed after dismissal = %v, %v", invitationIDs(is), err)
		}
	})

	t.Run("Quota", func(t *testing.T) {
		day := 24 * time.Hour
		t0 := baseTime.Truncate(time.Second)
		for _, at := range []time.Time{t0, t0, t0.Add(time.Hour), t0.Add(day + time.Minute)} {
			mustTx(t, s, func(tx *store.Conn) error { return tx.BumpInvitationQuota(ctx, org.ID, at) })
		}
		// A day after t0 + 1 minute: the two at t0 have lapsed.
		n, oldest, err := s.R().CountInvitationQuota(ctx, org.ID, t0.Add(day+time.Minute))
		if err != nil || n != 2 || !oldest.Equal(t0.Add(time.Hour)) {
			t.Fatalf("quota = %d, %v, %v; want 2 since %v", n, oldest, err, t0.Add(time.Hour))
		}
		if n, _, err := s.R().CountInvitationQuota(ctx, other.ID, t0.Add(day)); err != nil || n != 0 {
			t.Fatalf("other organization's quota = %d, %v", n, err)
		}
	})
}
