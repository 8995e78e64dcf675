package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runAccess covers what a permission check's cache miss reads (OrgShape,
// MemberRights) and the bulk seed of organizations behind the scale run.
func runAccess(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	now := store.Now()
	hash := func(tok string) string { return "h:" + tok }
	if err := s.SeedOrgs(ctx, store.OrgSeed{From: 0, To: 3, Members: 3, Projects: 2, Folders: 6, Sessions: 1, TokenHash: hash, Now: now, OrgsPerTx: 2}); err != nil {
		t.Fatal(err)
	}
	org := store.SeedOrgID(1)

	t.Run("OrgShape", func(t *testing.T) {
		shape, err := s.R().OrgShape(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		if len(shape.ProjectIDs) != 2 || len(shape.Folders) != 6 {
			t.Fatalf("shape: %d projects, %d folders", len(shape.ProjectIDs), len(shape.Folders))
		}
		// Folders in creation order, with parents and projects.
		byID := map[string]gatehouse.Folder{}
		for _, f := range shape.Folders {
			byID[f.ID] = f
		}
		f := byID[store.SeedFolderID(1, 2)] // level 1 of project 0
		if f.ParentID != store.SeedFolderID(1, 0) || f.ProjectID != store.SeedProjectID(1, 0) {
			t.Fatalf("folder 2 = %+v", f)
		}
		other, err := s.R().OrgShape(ctx, newID())
		if err != nil || len(other.ProjectIDs)+len(other.Folders) != 0 {
			t.Fatalf("unknown organization: %+v, %v", other, err)
		}
	})

	t.Run("MemberRights", func(t *testing.T) {
		owner := store.SeedUserID(1 * store.SeedUsersPerOrg)
		m, role, err := s.R().MemberRights(ctx, org, owner)
		if err != nil || m.RoleID != gatehouse.RoleOwner || role != nil {
			t.Fatalf("owner: %+v %+v %v", m, role, err)
		}
		uploader := store.SeedUserID(1*store.SeedUsersPerOrg + 2)
		m, _, err = s.R().MemberRights(ctx, org, uploader)
		if err != nil || len(m.Grants) != 1 || m.UserEmail == "" {
			t.Fatalf("uploader: %+v %v", m, err)
		}
		// Not a member of another organization (of the seed either).
		_, _, err = s.R().MemberRights(ctx, store.SeedOrgID(2), uploader)
		wantCode(t, err, gatehouse.ENOTFOUND)
		// A custom role comes with it; once deleted, the membership stays
		// without it.
		roleID := newID()
		mustTx(t, s, func(tx *store.Conn) error {
			if err := tx.CreateRole(ctx, org, owner, &gatehouse.Role{ID: roleID, Name: "editor", Grants: []gatehouse.Grant{
				{EntityType: "projects", EntityID: "*", Name: "full-access", Action: "read"}}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			m.RoleID = roleID
			return tx.UpdateMembership(ctx, m, time.Now())
		})
		m, role, err = s.R().MemberRights(ctx, org, uploader)
		if err != nil || role == nil || role.Name != "editor" || len(role.Grants) != 1 || m.RoleID != roleID {
			t.Fatalf("custom role: %+v %+v %v", m, role, err)
		}
		// A role of the same id in another organization does not count.
		mustTx(t, s, func(tx *store.Conn) error { return tx.DeleteRole(ctx, org, roleID) })
		m, role, err = s.R().MemberRights(ctx, org, uploader)
		if err != nil || role != nil || m.RoleID != roleID {
			t.Fatalf("deleted role: %+v %+v %v", m, role, err)
		}
	})

	t.Run("SeedSessions", func(t *testing.T) {
		sess, err := s.R().SessionByAccessHash(ctx, hash(store.SeedToken(2*store.SeedUsersPerOrg)))
		if err != nil || sess.UserID != store.SeedUserID(2*store.SeedUsersPerOrg) || !sess.AccessExpiresAt.After(now) {
			t.Fatalf("seeded session: %+v %v", sess, err)
		}
		_, err = s.R().SessionByAccessHash(ctx, hash(store.SeedToken(2*store.SeedUsersPerOrg+1)))
		wantCode(t, err, gatehouse.ENOTFOUND)
	})
}
