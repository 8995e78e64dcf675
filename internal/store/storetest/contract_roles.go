package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runRoles: a custom role's name is unique in its organization (a conflict
// with reason name_taken, on create and on rename) but not across them;
// a role is read by id or name in its organization only; roles list oldest
// first; a role is in use while a member or a pending invitation holds it.
func runRoles(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	ada := mustCreateUser(t, s, "ada@example.com")
	org := mustCreateOrg(t, s, "Acme", ada.ID)
	other := mustCreateOrg(t, s, "Other", ada.ID)
	grants := []gatehouse.Grant{{EntityType: gatehouse.EntityProjects, EntityID: "*", Name: gatehouse.ProjectFullAccess, Action: "read", Permission: []gatehouse.AreaGrant{}}}
	role := func(name string, at time.Time) *gatehouse.Role {
		return &gatehouse.Role{ID: newID(), Name: name, Description: name + " role", Grants: grants, CreatedAt: at, UpdatedAt: at}
	}
	create := func(orgID string, r *gatehouse.Role) error {
		return s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateRole(ctx, orgID, ada.ID, r) })
	}
	editor, reviewer := role("editor", baseTime.Add(time.Second)), role("reviewer", baseTime)
	for _, r := range []*gatehouse.Role{editor, reviewer} {
		if err := create(org.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := role("editor", baseTime) // the same name in another organization
	if err := create(other.ID, elsewhere); err != nil {
		t.Fatalf("same name in another organization: %v", err)
	}

	t.Run("Read", func(t *testing.T) {
		r, err := s.R().Role(ctx, org.ID, editor.ID)
		if err != nil || r.Name != "editor" || r.Description != "editor role" || len(r.Grants) != 1 || r.Grants[0].Action != "read" ||
			r.BuiltIn || !equalTime(r.CreatedAt, editor.CreatedAt) {
			t.Fatalf("role = %+v, %v", r, err)
		}
		if r, err := s.R().RoleByName(ctx, org.ID, "reviewer"); err != nil || r.ID != reviewer.ID {
			t.Fatalf("by name = %+v, %v", r, err)
		}
		if r, err := s.R().RoleByName(ctx, other.ID, "editor"); err != nil || r.ID != elsewhere.ID {
			t.Fatalf("by name elsewhere = %+v, %v", r, err)
		}
	})

	t.Run("ErrOtherOrganization", func(t *testing.T) {
		_, err := s.R().Role(ctx, other.ID, editor.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.R().Role(ctx, org.ID, newID())
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.R().RoleByName(ctx, other.ID, "reviewer")
		wantCode(t, err, gatehouse.ENOTFOUND)
		// Deleting through another organization leaves the role alone.
		mustTx(t, s, func(tx *store.Conn) error { return tx.DeleteRole(ctx, other.ID, editor.ID) })
		if _, err := s.R().Role(ctx, org.ID, editor.ID); err != nil {
			t.Fatalf("deleted through another organization: %v", err)
		}
	})

	t.Run("ErrNameTaken", func(t *testing.T) {
		err := create(org.ID, role("editor", baseTime))
		wantCode(t, err, gatehouse.ECONFLICT)
		if r := gatehouse.AsError(err).Reason; r != "name_taken" {
			t.Fatalf("reason %q, want name_taken", r)
		}
		// Renaming onto a taken name too.
		renamed := *reviewer
		renamed.Name = "editor"
		err = s.Tx(ctx, func(tx *store.Conn) error { return tx.UpdateRole(ctx, org.ID, &renamed) })
		wantCode(t, err, gatehouse.ECONFLICT)
	})

	t.Run("List", func(t *testing.T) {
		rs, err := s.R().ListRoles(ctx, org.ID)
		if err != nil || len(rs) != 2 || rs[0].ID != reviewer.ID || rs[1].ID != editor.ID {
			t.Fatalf("roles = %+v, %v; want reviewer then editor (oldest first)", rs, err)
		}
		if rs, err := s.R().ListRoles(ctx, newID()); err != nil || len(rs) != 0 {
			t.Fatalf("roles of an unknown organization = %+v, %v", rs, err)
		}
	})

	t.Run("Update", func(t *testing.T) {
		changed := *editor
		changed.Name, changed.Description, changed.Grants, changed.UpdatedAt = "writer", "", nil, baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error { return tx.UpdateRole(ctx, org.ID, &changed) })
		r, err := s.R().Role(ctx, org.ID, editor.ID)
		if err != nil || r.Name != "writer" || r.Description != "" || r.Grants == nil || len(r.Grants) != 0 ||
			!equalTime(r.UpdatedAt, changed.UpdatedAt) || !equalTime(r.CreatedAt, editor.CreatedAt) {
			t.Fatalf("updated = %+v, %v", r, err)
		}
		// The old name is free again.
		if err := create(org.ID, role("editor", baseTime.Add(2*time.Second))); err != nil {
			t.Fatalf("old name: %v", err)
		}
	})

	t.Run("InUse", func(t *testing.T) {
		inUse := func(orgID, id string) bool {
			t.Helper()
			used, err := s.R().RoleInUse(ctx, orgID, id)
			if err != nil {
				t.Fatal(err)
			}
			return used
		}
		if inUse(org.ID, reviewer.ID) {
			t.Fatal("an unheld role is in use")
		}
		// A pending invitation holds it; once accepted (and the member gone)
		// it no longer does.
		inv := &gatehouse.Invitation{ID: newID(), OrgID: org.ID, Email: "new@example.com", RoleID: reviewer.ID, Grants: []gatehouse.Grant{},
			Authentication: "password", Status: gatehouse.InvitationPending, TokenHash: newID(), ValidDays: 7, CreatedBy: ada.ID, UpdatedBy: ada.ID,
			CreatedAt: baseTime, UpdatedAt: baseTime, ExpiresAt: baseTime.Add(time.Hour), SentAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateInvitation(ctx, inv) })
		if !inUse(org.ID, reviewer.ID) {
			t.Fatal("a role a pending invitation grants is not in use")
		}
		if inUse(other.ID, reviewer.ID) {
			t.Fatal("in use in another organization")
		}
		mustTx(t, s, func(tx *store.Conn) error {
			_, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationRevoked, ada.ID, baseTime)
			return err
		})
		if inUse(org.ID, reviewer.ID) {
			t.Fatal("a role only a revoked invitation granted is in use")
		}
		// A member holds it.
		bob := mustCreateUser(t, s, "bob@example.com")
		mustJoin(t, s, org.ID, bob.ID, reviewer.ID, nil, baseTime)
		if !inUse(org.ID, reviewer.ID) {
			t.Fatal("a role a member holds is not in use")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		mustTx(t, s, func(tx *store.Conn) error { return tx.DeleteRole(ctx, org.ID, editor.ID) })
		_, err := s.R().Role(ctx, org.ID, editor.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		if _, err := s.R().Role(ctx, other.ID, elsewhere.ID); err != nil {
			t.Fatalf("the other organization's role of the same name went too: %v", err)
		}
	})
}
