package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runSCIM covers SCIM's queries: tokens by hash and per organization, the
// users view (members and provisioned users, active while a membership
// exists), its filters and paging, userName uniqueness per organization, and
// ending one organization's sessions and keys of a user.
func runSCIM(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	orgA := &gatehouse.Organization{ID: newID(), Name: "A", CreatedAt: baseTime, UpdatedAt: baseTime}
	orgB := &gatehouse.Organization{ID: newID(), Name: "B", CreatedAt: baseTime, UpdatedAt: baseTime}
	ada := mustCreateUser(t, s, "ada@example.com")
	bob := mustCreateUser(t, s, "bob@example.com")
	cy := mustCreateUser(t, s, "cy@example.com")
	tok := &gatehouse.SCIMToken{ID: newID(), OrgID: orgA.ID, Name: "Entra", Prefix: "gh_scim_abcdef", SecretHash: "hash-a", CreatedBy: ada.ID, CreatedAt: baseTime}
	mustTx(t, s, func(tx *store.Conn) error {
		for _, o := range []*gatehouse.Organization{orgA, orgB} {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		for _, m := range []*gatehouse.Membership{
			{ID: newID(), OrgID: orgA.ID, UserID: ada.ID, RoleID: gatehouse.RoleOwnerID, CreatedAt: baseTime},
			{ID: newID(), OrgID: orgA.ID, UserID: bob.ID, RoleID: gatehouse.RoleViewerID, CreatedAt: baseTime},
			{ID: newID(), OrgID: orgB.ID, UserID: cy.ID, CreatedAt: baseTime},
		} {
			if err := tx.CreateMembership(ctx, m); err != nil {
				return err
			}
		}
		return tx.CreateSCIMToken(ctx, tok)
	})

	// Tokens: by hash, per organization, revoked once.
	r := s.R()
	if got, err := r.SCIMTokenBySecretHash(ctx, "hash-a"); err != nil || got.ID != tok.ID || got.OrgID != orgA.ID {
		t.Fatalf("token by hash: %+v %v", got, err)
	}
	if _, err := r.SCIMToken(ctx, orgB.ID, tok.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("token of another organization: %v", err)
	}
	if ts, err := r.ListSCIMTokens(ctx, orgA.ID, gatehouse.PageRequest{Limit: 10}); err != nil || len(ts) != 1 {
		t.Fatalf("list tokens: %d %v", len(ts), err)
	}
	mustTx(t, s, func(tx *store.Conn) error { return tx.TouchSCIMToken(ctx, tok.ID, baseTime.Add(time.Hour)) })
	if got, _ := s.R().SCIMToken(ctx, orgA.ID, tok.ID); !got.LastUsedAt.Equal(baseTime.Add(time.Hour)) {
		t.Fatalf("last used = %v", got.LastUsedAt)
	}

	// The users view: members of A only; bob provisioned with a userName.
	mustTx(t, s, func(tx *store.Conn) error {
		return tx.PutSCIMUser(ctx, &gatehouse.SCIMUser{OrgID: orgA.ID, UserID: bob.ID, UserName: "Bob.Smith@Corp.example",
			ExternalID: "ext-Bob", GivenName: "Bob", FamilyName: "Smith"}, baseTime)
	})
	all, total, err := s.R().ListSCIMUsers(ctx, orgA.ID, nil, 0, 10)
	if err != nil || total != 2 || len(all) != 2 {
		t.Fatalf("list: %d %d %v", total, len(all), err)
	}
	eq := func(attr, v string) *gatehouse.SCIMFilter {
		return &gatehouse.SCIMFilter{Op: "eq", Attr: attr, Value: v}
	}
	for _, c := range []struct {
		f    *gatehouse.SCIMFilter
		want string
	}{
		{eq("userName", "bob.smith@corp.EXAMPLE"), bob.ID}, // case-insensitive
		{eq("userName", "ada@example.com"), ada.ID},        // a member never provisioned: their email
		{eq("emails.value", "BOB@example.com"), bob.ID},
		{eq("externalId", "ext-Bob"), bob.ID},
		{eq("externalId", "ext-bob"), ""}, // case-exact
		{eq("id", ada.ID), ada.ID},
		{eq("userName", "cy@example.com"), ""}, // another organization's member
		{&gatehouse.SCIMFilter{Op: "and", Left: eq("externalId", "ext-Bob"), Right: eq("active", "true")}, bob.ID},
		{&gatehouse.SCIMFilter{Op: "or", Left: eq("externalId", "nope"), Right: eq("emails.value", "ada@example.com")}, ada.ID},
	} {
		got, n, err := s.R().ListSCIMUsers(ctx, orgA.ID, c.f, 0, 10)
		if err != nil {
			t.Fatalf("filter %+v: %v", c.f, err)
		}
		if c.want == "" && n != 0 || c.want != "" && (n != 1 || got[0].UserID != c.want) {
			t.Fatalf("filter %+v: %d users %+v, want %q", c.f, n, got, c.want)
		}
	}
	if _, _, err := s.R().ListSCIMUsers(ctx, orgA.ID, eq("title", "x"), 0, 10); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("unknown attribute: %v", err)
	}
	// Paging: offset past the end is empty with the total.
	if got, n, err := s.R().ListSCIMUsers(ctx, orgA.ID, nil, 1, 10); err != nil || n != 2 || len(got) != 1 {
		t.Fatalf("page 2: %d %d %v", len(got), n, err)
	}
	if got, n, _ := s.R().ListSCIMUsers(ctx, orgA.ID, nil, 5, 10); n != 2 || len(got) != 0 {
		t.Fatalf("past the end: %d %d", len(got), n)
	}
	if _, err := s.R().SCIMUser(ctx, orgA.ID, cy.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("another organization's user: %v", err)
	}

	// userName is unique per organization, case-insensitively.
	err = s.Tx(ctx, func(tx *store.Conn) error {
		return tx.PutSCIMUser(ctx, &gatehouse.SCIMUser{OrgID: orgA.ID, UserID: ada.ID, UserName: "BOB.SMITH@corp.example"}, baseTime)
	})
	wantCode(t, err, gatehouse.ECONFLICT)

	// Deactivated (membership gone, row kept): inactive, with the role remembered.
	mustTx(t, s, func(tx *store.Conn) error {
		su, err := tx.SCIMUser(ctx, orgA.ID, bob.ID)
		if err != nil {
			return err
		}
		if !su.Active || su.RoleID != gatehouse.RoleViewerID || !su.Provisioned {
			t.Fatalf("before: %+v", su)
		}
		if err := tx.PutSCIMUser(ctx, su, baseTime); err != nil {
			return err
		}
		return tx.DeleteMembership(ctx, orgA.ID, bob.ID)
	})
	su, err := s.R().SCIMUser(ctx, orgA.ID, bob.ID)
	if err != nil || su.Active || su.RoleID != gatehouse.RoleViewerID {
		t.Fatalf("deactivated: %+v %v", su, err)
	}
	if _, n, _ := s.R().ListSCIMUsers(ctx, orgA.ID, eq("active", "false"), 0, 10); n != 1 {
		t.Fatalf("inactive users: %d", n)
	}
	if hs, err := s.R().RoleHolders(ctx, orgA.ID, ""); err != nil || len(hs) != 1 || hs[0].UserID != ada.ID {
		t.Fatalf("role holders: %+v %v", hs, err)
	}

	// A user's sessions acting in A and keys made in A end; others stay.
	mkSession := func(org string) string {
		sess := &gatehouse.Session{ID: newID(), UserID: bob.ID, AccessHash: newID(), RefreshHash: newID(), CurrentOrgID: org,
			AccessExpiresAt: baseTime.Add(time.Hour), RefreshExpiresAt: baseTime.Add(time.Hour), CreatedAt: baseTime, LastUsedAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateSession(ctx, sess) })
		return sess.ID
	}
	inA, inB := mkSession(orgA.ID), mkSession(orgB.ID)
	keyA := &gatehouse.APIKey{ID: newID(), OrgID: orgA.ID, Name: "k", Prefix: "p", SecretHash: newID(), CreatedBy: bob.ID, CreatedAt: baseTime}
	keyB := &gatehouse.APIKey{ID: newID(), OrgID: orgB.ID, Name: "k", Prefix: "p", SecretHash: newID(), CreatedBy: bob.ID, CreatedAt: baseTime}
	mustTx(t, s, func(tx *store.Conn) error {
		if err := tx.CreateAPIKey(ctx, keyA); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, keyB)
	})
	mustTx(t, s, func(tx *store.Conn) error {
		ids, err := tx.DeleteUserOrgSessions(ctx, bob.ID, orgA.ID)
		if err != nil || len(ids) != 1 || ids[0] != inA {
			t.Fatalf("ended sessions %v %v", ids, err)
		}
		keys, err := tx.DeleteUserOrgAPIKeys(ctx, bob.ID, orgA.ID)
		if err != nil || len(keys) != 1 || keys[0] != keyA.ID {
			t.Fatalf("revoked keys %v %v", keys, err)
		}
		return nil
	})
	if _, err := s.R().SessionByID(ctx, inB); err != nil {
		t.Fatalf("the other organization's session ended: %v", err)
	}
	if _, err := s.R().APIKey(ctx, orgB.ID, keyB.ID); err != nil {
		t.Fatalf("the other organization's key revoked: %v", err)
	}

	// Deleting the row forgets the user; the token is revoked once.
	mustTx(t, s, func(tx *store.Conn) error { return tx.DeleteSCIMUser(ctx, orgA.ID, bob.ID) })
	if _, err := s.R().SCIMUser(ctx, orgA.ID, bob.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("deleted user: %v", err)
	}
	mustTx(t, s, func(tx *store.Conn) error {
		if ok, err := tx.DeleteSCIMToken(ctx, orgB.ID, tok.ID); err != nil || ok {
			t.Fatalf("revoke through another organization: %v %v", ok, err)
		}
		if ok, err := tx.DeleteSCIMToken(ctx, orgA.ID, tok.ID); err != nil || !ok {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		return nil
	})
	if _, err := s.R().SCIMTokenBySecretHash(ctx, "hash-a"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("revoked token: %v", err)
	}
}
