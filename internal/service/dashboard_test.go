package service

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Services behind the dashboard's roles, check-access and audit pages.

func fullProject(pid string) gatehouse.Grant {
	return gatehouse.Grant{EntityType: "projects", EntityID: pid, Name: "full-access", Permission: []gatehouse.AreaGrant{}}
}

func orgGrant(org, name, action string) gatehouse.Grant {
	return gatehouse.Grant{EntityType: "organizations", EntityID: org, Name: name, Action: action, Permission: []gatehouse.AreaGrant{}}
}

// Impact says what a role edit changes for its holders and which pending
// invitations it revokes, writes nothing, and refuses what Update refuses.
func TestRoleImpact(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleOwnerID)
			admin := w.caller(t, w.user)
			role, err := w.svc.Roles.Create(ctx, admin, RoleInput{Name: "lead", GrantsSet: true,
				Grants: []gatehouse.Grant{fullProject(w.pj), orgGrant(w.org, "members", ""), orgGrant(w.org, "billing", "read")}})
			if err != nil {
				t.Fatal(err)
			}
			a := w.addMember(t, role.ID, nil)
			w.addMember(t, role.ID, []gatehouse.Grant{orgGrant(w.org, "billing", "read+write")})
			w.addMember(t, "", nil) // holds no role: unaffected
			now := time.Now().UTC().Truncate(time.Microsecond)
			inv := &gatehouse.Invitation{ID: newID(), OrgID: w.org, Email: "x@example.com", Grants: []gatehouse.Grant{fullProject(w.pj)},
				Status: gatehouse.InvitationPending, TokenHash: secret.HashToken(newID()), ValidDays: 7, CreatedBy: a,
				CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}
			if err := w.st.Tx(ctx, func(tx *store.Conn) error { return tx.CreateInvitation(ctx, inv) }); err != nil {
				t.Fatal(err)
			}

			// Marketing becomes read-only folders; members and billing go.
			edit := RoleInput{Name: "lead", GrantsSet: true, Grants: []gatehouse.Grant{{EntityType: "projects", EntityID: w.pj, Name: "custom",
				Permission: []gatehouse.AreaGrant{{Name: "folders", Action: "read"}}}}}
			imp, err := w.svc.Roles.Impact(ctx, admin, role.ID, edit)
			if err != nil {
				t.Fatal(err)
			}
			if len(imp.Members) != 2 {
				t.Fatalf("members affected = %+v, want the 2 holders", imp.Members)
			}
			if len(imp.Revoked) != 1 || imp.Revoked[0].ID != inv.ID {
				t.Fatalf("revoked = %+v, want the holder's invitation", imp.Revoked)
			}
			for _, want := range []string{"2 members lose write, delete on p0 (folders)", "2 members lose read, write, delete on p0 (livestreams)",
				"1 member loses read on the organization's billing", "1 pending invitation will be revoked"} {
				if !slices.Contains(imp.Summary, want) {
					t.Errorf("summary lacks %q: %q", want, imp.Summary)
				}
			}
			// The holder with billing read+write of their own keeps billing.
			for _, m := range imp.Members {
				if m.UserID != a && slices.ContainsFunc(m.Lost, func(s string) bool { return strings.Contains(s, "billing") }) {
					t.Errorf("a member with their own billing grant loses billing: %q", m.Lost)
				}
			}
			// Both holders are listed under the role.
			holders, err := w.svc.Roles.Holders(ctx, admin)
			if err != nil || len(holders[role.ID]) != 2 || len(holders) != 1 {
				t.Fatalf("holders = %+v, %v", holders, err)
			}
			// Nothing was written.
			if r, err := w.svc.Roles.Get(ctx, admin, role.ID); err != nil || len(r.Grants) != 3 {
				t.Fatalf("the role changed: %+v, %v", r, err)
			}
			if got, err := w.st.R().Invitation(ctx, w.org, inv.ID); err != nil || got.Status != gatehouse.InvitationPending {
				t.Fatalf("the invitation changed: %+v, %v", got, err)
			}
			// An edit changing nothing says so.
			same, err := w.svc.Roles.Impact(ctx, admin, role.ID, RoleInput{Name: "lead", GrantsSet: true, Grants: role.Grants})
			if err != nil || same.Changes() || !strings.HasPrefix(same.Summary[0], "No member") {
				t.Fatalf("unchanged role: %+v, %v", same, err)
			}

			// Refusals are Update's.
			_, err = w.svc.Roles.Impact(ctx, admin, gatehouse.RoleViewerID, edit)
			wantCode(t, err, gatehouse.EFORBIDDEN, "builtin_role")
			_, err = w.svc.Roles.Impact(ctx, admin, newID(), edit)
			wantCode(t, err, gatehouse.ENOTFOUND, "")
			_, err = w.svc.Roles.Impact(ctx, admin, role.ID, RoleInput{Name: "Bad Name", GrantsSet: true})
			wantCode(t, err, gatehouse.EINVALID, "")
			viewer := w.caller(t, w.addMember(t, gatehouse.RoleViewerID, nil))
			_, err = w.svc.Roles.Impact(ctx, viewer, role.ID, edit)
			wantCode(t, err, gatehouse.EFORBIDDEN, "")
			_, err = w.svc.Roles.Holders(ctx, viewer)
			wantCode(t, err, gatehouse.EFORBIDDEN, "")
			// Another organization's role is not found.
			other := newRuleWorld(t, e, gatehouse.RoleAdminID)
			_, err = other.svc.Roles.Impact(ctx, other.caller(t, other.user), role.ID, edit)
			wantCode(t, err, gatehouse.ENOTFOUND, "")
		})
	}
}

// Explain answers a member's check with the grants behind it, in words.
func TestExplain(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			admin := w.caller(t, w.user)
			m := w.addMember(t, gatehouse.RoleViewerID, viewerOf(w.org, w.pj, w.folder))
			ex, err := w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "folders", EntityID: w.folder, Name: "folders", Action: "write"})
			if err != nil {
				t.Fatal(err)
			}
			if !ex.Allowed || ex.GrantedBy != "direct.permissions[0]" || len(ex.Via) != 1 ||
				!strings.Contains(strings.Join(ex.Via[0].Words, ""), "folder f3 in project p0 (and its subfolders): read, write") {
				t.Fatalf("explanation = %+v", ex)
			}
			// Read comes from the role and the folder grant.
			ex, err = w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "folders", EntityID: w.folder, Name: "folders", Action: "read"})
			if err != nil || !ex.Allowed || len(ex.Via) != 2 || ex.Via[0].Role != "viewer" {
				t.Fatalf("read: %+v, %v", ex, err)
			}
			// Denied: delete, and what is missing.
			ex, err = w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "folders", EntityID: w.folder, Name: "folders", Action: "write+delete"})
			if err != nil || ex.Allowed || ex.Missing != "delete" || ex.GrantedBy != "" {
				t.Fatalf("write+delete: %+v, %v", ex, err)
			}
			ex, err = w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "organizations", Name: "billing", Action: "read"})
			if err != nil || ex.Allowed || len(ex.Via) != 0 || ex.Missing != "read" {
				t.Fatalf("billing: %+v, %v", ex, err)
			}
			// Wrong input, unknown things, no right.
			_, err = w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "folders", EntityID: w.folder, Name: "folders", Action: "fly"})
			wantCode(t, err, gatehouse.EINVALID, "")
			_, err = w.svc.Lookups.Explain(ctx, admin, m, SubjectQuery{EntityType: "folders", EntityID: newID(), Name: "folders", Action: "read"})
			wantCode(t, err, gatehouse.ENOTFOUND, "")
			_, err = w.svc.Lookups.Explain(ctx, admin, newID(), SubjectQuery{EntityType: "organizations", Name: "billing", Action: "read"})
			wantCode(t, err, gatehouse.ENOTFOUND, "")
			_, err = w.svc.Lookups.Explain(ctx, w.caller(t, m), w.user, SubjectQuery{EntityType: "organizations", Name: "billing", Action: "read"})
			wantCode(t, err, gatehouse.EFORBIDDEN, "")
		})
	}
}

// Stories put events into words with names, never ids.
func TestAuditStories(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleOwnerID)
			owner := w.caller(t, w.user)
			m := w.addMember(t, "", []gatehouse.Grant{orgGrant(w.org, "billing", "read"), fullProject(w.pj)})
			if _, err := w.svc.Members.UpdatePermissions(ctx, owner, m, UpdateInput{Role: "viewer",
				Grants: []gatehouse.Grant{orgGrant(w.org, "billing", "read+write")}}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Folders.Rename(ctx, owner, w.pj, w.folder, "Campaigns"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Folders.Move(ctx, owner, w.pj, []string{w.folder}, ""); err != nil {
				t.Fatal(err)
			}
			// A folder made and deleted here: the page still names it.
			tmp, err := w.svc.Folders.Create(ctx, owner, w.pj, "Temp", "")
			if err != nil {
				t.Fatal(err)
			}
			owner = w.caller(t, w.user) // rights compiled against the tree with Temp
			if _, err := w.svc.Folders.Move(ctx, owner, w.pj, []string{w.folder}, tmp.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Folders.Move(ctx, owner, w.pj, []string{w.folder}, ""); err != nil {
				t.Fatal(err)
			}
			if err := w.svc.Folders.Delete(ctx, owner, w.pj, tmp.ID, false); err != nil {
				t.Fatal(err)
			}
			page, err := w.svc.Audits.List(ctx, owner, gatehouse.AuditFilter{Page: gatehouse.PageRequest{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			stories, err := w.svc.Audits.Stories(ctx, owner, page.Items)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, s := range stories {
				all = append(all, s.Sentence)
				if strings.Contains(s.Sentence, w.folder) || strings.Contains(s.Sentence, m) || strings.Contains(s.Sentence, w.pj) {
					t.Errorf("an id in %q", s.Sentence)
				}
			}
			for _, want := range []string{
				"Other: role no role → viewer; Organization billing read → read, write; lost Full access to project p0",
				"Campaigns: name f3 → Campaigns",
				"Folder Campaigns moved: place folder f2 → the top level",
				"Folder Campaigns moved: place folder Temp (deleted) → the top level",
				"Folder Temp created in the top level of p0",
				"Folder Temp deleted",
			} {
				if !slices.Contains(all, want) {
					t.Errorf("no story %q in %q", want, all)
				}
			}
			for _, s := range stories {
				if s.Event.Action == "member.updated" && (s.Target.Name != "Other" || !s.Target.Exists || len(s.Changes) != 2) {
					t.Errorf("member.updated story: %+v", s)
				}
			}
			// Audit read is needed.
			viewer := w.caller(t, w.addMember(t, gatehouse.RoleViewerID, nil))
			_, err = w.svc.Audits.Stories(ctx, viewer, page.Items)
			wantCode(t, err, gatehouse.EFORBIDDEN, "")
		})
	}
}
