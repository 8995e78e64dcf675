package service

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Unit tests of the last-owner rule's count and of orphan revocation (an
// inviter's rights shrank or went, a role changed, folders moved), below
// HTTP.

// ownerGrant is organization owner held directly.
func ownerGrant(org string) []gatehouse.Grant {
	return []gatehouse.Grant{{EntityType: gatehouse.EntityOrganizations, EntityID: org, Name: gatehouse.OrgOwner, Permission: []gatehouse.AreaGrant{}}}
}

// inviterGrants is members read+write plus grants: enough to invite.
func inviterGrants(org string, grants ...gatehouse.Grant) []gatehouse.Grant {
	return append([]gatehouse.Grant{{EntityType: gatehouse.EntityOrganizations, EntityID: org, Name: gatehouse.OrgMembers,
		Action: "read+write", Permission: []gatehouse.AreaGrant{}}}, grants...)
}

// folderGrant is action on one folder (and its descendants).
func folderGrant(project, folder, action string) gatehouse.Grant {
	return gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: project, Name: gatehouse.ProjectCustom, Permission: []gatehouse.AreaGrant{
		{Name: gatehouse.AreaFolders, Action: gatehouse.ActionCustom, Folders: []gatehouse.FolderGrant{{FolderID: folder, Action: action}}}}}
}

// invite stores a pending invitation by inviter.
func (w *ruleWorld) invite(t *testing.T, by, role string, grants []gatehouse.Grant) *gatehouse.Invitation {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if grants == nil {
		grants = []gatehouse.Grant{}
	}
	inv := &gatehouse.Invitation{ID: newID(), OrgID: w.org, Email: newID() + "@example.com", RoleID: role, Grants: grants,
		Authentication: "password", Status: gatehouse.InvitationPending, TokenHash: secret.HashToken(newID()), ValidDays: 7,
		CreatedBy: by, UpdatedBy: by, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), SentAt: now}
	if err := w.st.Tx(ctx, func(tx *store.Conn) error { return tx.CreateInvitation(ctx, inv) }); err != nil {
		t.Fatal(err)
	}
	return inv
}

// wantStatuses fails unless each invitation has the status given.
func (w *ruleWorld) wantStatuses(t *testing.T, want map[*gatehouse.Invitation]string) {
	t.Helper()
	for inv, status := range want {
		got, err := w.st.R().Invitation(context.Background(), w.org, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != status {
			t.Errorf("invitation granting role %q, %d grants, by %s: %s, want %s", inv.RoleID, len(inv.Grants), inv.CreatedBy, got.Status, status)
		}
	}
}

// tx runs fn in a transaction, failing the test on error.
func (w *ruleWorld) tx(t *testing.T, fn func(tx *store.Conn) error) {
	t.Helper()
	if err := w.st.Tx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// Owners counted by the last-owner rule are everyone who compiles to owner:
// the owner role, a direct owner grant, a custom role granting owner. The
// count is taken under the organization's lock, so of two owners demoting
// each other with the rights they read before, the second is refused.
func TestLastOwnerCountsEveryOwner(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleOwnerID)
			direct := w.addMember(t, "", ownerGrant(w.org))
			now := time.Now().UTC().Truncate(time.Microsecond)
			custom := &gatehouse.Role{ID: newID(), Name: "co-owner", Grants: ownerGrant(w.org), CreatedAt: now, UpdatedAt: now}
			w.tx(t, func(tx *store.Conn) error { return tx.CreateRole(ctx, w.org, w.user, custom) })
			byRole := w.addMember(t, custom.ID, nil)

			// The role owner and the custom-role owner leave: the direct
			// grant keeps the organization owned, and is then the last.
			for _, u := range []string{w.user, byRole} {
				if err := w.svc.Members.Remove(ctx, w.caller(t, u), u); err != nil {
					t.Fatalf("an owner of several cannot leave: %v", err)
				}
			}
			wantCode(t, w.svc.Members.Remove(ctx, w.caller(t, direct), direct), gatehouse.ECONFLICT, "last_owner")

			// Two owners, each demoting the other with rights read while both
			// were owners: the first demotion passes, the second is refused.
			second := w.addMember(t, gatehouse.RoleOwnerID, nil)
			a, b := w.caller(t, direct), w.caller(t, second)
			if _, err := w.svc.Members.UpdatePermissions(ctx, a, second, UpdateInput{Role: gatehouse.RoleViewer}); err != nil {
				t.Fatalf("demoting one of two owners: %v", err)
			}
			_, err := w.svc.Members.UpdatePermissions(ctx, b, direct, UpdateInput{Role: gatehouse.RoleViewer})
			wantCode(t, err, gatehouse.ECONFLICT, "last_owner")
			if m, err := w.st.R().Membership(ctx, w.org, direct); err != nil || len(m.Grants) != 1 || m.RoleID != "" {
				t.Fatalf("the last owner's rights changed: %+v, %v", m, err)
			}
		})
	}
}

// RevokeOrphaned: an inviter whose rights shrank keeps the invitations they
// still cover and loses the others (audited as inviter_lost_rights); an
// inviter who left loses all; other inviters' invitations stay.
func TestRevokeOrphaned(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			other := w.addMember(t, gatehouse.RoleAdminID, nil)
			kept := w.invite(t, w.user, "", []gatehouse.Grant{folderGrant(w.pj, w.folder, "read")})
			lost := w.invite(t, w.user, gatehouse.RoleViewerID, nil)
			theirs := w.invite(t, other, gatehouse.RoleViewerID, nil)

			// The admin becomes an inviter of one folder only.
			w.tx(t, func(tx *store.Conn) error {
				m := &gatehouse.Membership{OrgID: w.org, UserID: w.user, Grants: inviterGrants(w.org, folderGrant(w.pj, w.folder, "read+write"))}
				if err := tx.UpdateMembership(ctx, m, time.Now()); err != nil {
					return err
				}
				return w.svc.Invitations.RevokeOrphaned(ctx, tx, w.org, w.user)
			})
			w.wantStatuses(t, map[*gatehouse.Invitation]string{kept: gatehouse.InvitationPending, lost: gatehouse.InvitationRevoked,
				theirs: gatehouse.InvitationPending})
			evs, err := w.st.R().ListAudit(ctx, gatehouse.AuditFilter{OrgID: w.org, Action: "invitation.revoked", Page: gatehouse.PageRequest{Limit: 10}})
			if err != nil || len(evs) != 1 || evs[0].TargetID != lost.ID {
				t.Fatalf("revocation audit: %d events, %v", len(evs), err)
			}

			// Gone from the organization: nothing is covered.
			w.tx(t, func(tx *store.Conn) error {
				if err := tx.DeleteMembership(ctx, w.org, w.user); err != nil {
					return err
				}
				return w.svc.Invitations.RevokeOrphaned(ctx, tx, w.org, w.user)
			})
			w.wantStatuses(t, map[*gatehouse.Invitation]string{kept: gatehouse.InvitationRevoked, theirs: gatehouse.InvitationPending})
		})
	}
}

// RevokeOrphanedByRole: a changed role stands in for the stored one, both
// for inviters who hold it and for invitations that grant it.
func TestRevokeOrphanedByRole(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			now := time.Now().UTC().Truncate(time.Microsecond)
			role := &gatehouse.Role{ID: newID(), Name: "inviter", Grants: inviterGrants(w.org, folderGrant(w.pj, w.folder, "read+write")),
				CreatedAt: now, UpdatedAt: now}
			w.tx(t, func(tx *store.Conn) error { return tx.CreateRole(ctx, w.org, w.user, role) })
			holder := w.addMember(t, role.ID, nil)
			byHolder := w.invite(t, holder, "", []gatehouse.Grant{folderGrant(w.pj, w.folder, "read")})
			ofRole := w.invite(t, w.user, role.ID, nil)
			unrelated := w.invite(t, w.user, gatehouse.RoleViewerID, nil)

			revoke := func(changed *gatehouse.Role) {
				t.Helper()
				w.tx(t, func(tx *store.Conn) error { return w.svc.Invitations.RevokeOrphanedByRole(ctx, tx, w.org, changed) })
			}
			// Unchanged: everything is still covered.
			revoke(role)
			w.wantStatuses(t, map[*gatehouse.Invitation]string{byHolder: gatehouse.InvitationPending, ofRole: gatehouse.InvitationPending})
			// Without members write, its holder invites no more; the admin
			// still covers what the smaller role grants.
			smaller := *role
			smaller.Grants = []gatehouse.Grant{folderGrant(w.pj, w.folder, "read+write")}
			revoke(&smaller)
			w.wantStatuses(t, map[*gatehouse.Invitation]string{byHolder: gatehouse.InvitationRevoked, ofRole: gatehouse.InvitationPending})
			// Grown to owner, the role is beyond the admin who granted it.
			grown := *role
			grown.Grants = ownerGrant(w.org)
			revoke(&grown)
			w.wantStatuses(t, map[*gatehouse.Invitation]string{ofRole: gatehouse.InvitationRevoked, unrelated: gatehouse.InvitationPending})
		})
	}
}

// RevokeOrphanedByTree: a folder grant follows its folder, so moving a
// folder out from under an inviter's folder leaves invitations to it
// uncovered; invitations still under the inviter's folder stay.
func TestRevokeOrphanedByTree(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			now := time.Now().UTC().Truncate(time.Microsecond)
			top, stays, moves := newID(), newID(), newID()
			w.tx(t, func(tx *store.Conn) error {
				for _, f := range []*gatehouse.Folder{{ID: top, Name: "top"}, {ID: stays, Name: "stays", ParentID: top}, {ID: moves, Name: "moves", ParentID: top}} {
					f.OrgID, f.ProjectID, f.CreatedAt, f.UpdatedAt = w.org, w.pj, now, now
					if err := tx.CreateFolder(ctx, f); err != nil {
						return err
					}
				}
				return nil
			})
			inviter := w.addMember(t, "", inviterGrants(w.org, folderGrant(w.pj, top, "read+write")))
			toStays := w.invite(t, inviter, "", []gatehouse.Grant{folderGrant(w.pj, stays, "read")})
			toMoves := w.invite(t, inviter, "", []gatehouse.Grant{folderGrant(w.pj, moves, "read")})
			byAdmin := w.invite(t, w.user, "", []gatehouse.Grant{folderGrant(w.pj, moves, "read")})

			w.tx(t, func(tx *store.Conn) error {
				if err := tx.MoveFolder(ctx, &gatehouse.Folder{ID: moves, ParentID: "", UpdatedAt: now}); err != nil {
					return err
				}
				return w.svc.Invitations.RevokeOrphanedByTree(ctx, tx, w.org)
			})
			w.wantStatuses(t, map[*gatehouse.Invitation]string{toStays: gatehouse.InvitationPending, toMoves: gatehouse.InvitationRevoked,
				byAdmin: gatehouse.InvitationPending})
		})
	}
}
