package api_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestInvitationsExpiry(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		short, shortToken := w.invite(t, "short@example.com", map[string]any{"role": "viewer", "expires_in_days": 1})
		long, longToken := w.invite(t, "long@example.com", apptest.Role("viewer"))
		invitee, _ := srv.Signup("Shorty", "short@example.com")
		show := func(token string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token})
		}

		t.Run("ErrExpired", func(t *testing.T) {
			w.advance(t, 24*time.Hour-time.Second)
			apptest.Status(t, 200, show(shortToken))
			w.advance(t, time.Second)
			invitee = w.signIn(t, "short@example.com")
			id := short["id"].(string)
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/invitations/" + shortToken},
				{Method: "POST", Path: "/v1/invitations/" + shortToken + "/accept", Token: invitee},
				{Method: "POST", Path: "/v1/invitations/" + shortToken + "/reject"},
			} {
				p := apptest.ProblemCode(t, srv.Do(r), 410, "invitation_expired")
				if p["invitation_status"] != "expired" {
					t.Fatalf("%s %s: %v", r.Method, r.Path, p)
				}
			}
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations/"+id+"/resend", w.owner, nil), 409, "invitation_not_pending")
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			if st := w.status(t, id); st != "expired" {
				t.Fatalf("status %s", st)
			}
			pending, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations?status=pending", w.owner, nil))
			expired, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members/invitations?status=expired", w.owner, nil))
			if !reflect.DeepEqual(apptest.IDs(pending, "id"), []string{long["id"].(string)}) || !reflect.DeepEqual(apptest.IDs(expired, "id"), []string{id}) {
				t.Fatalf("pending %v, expired %v", apptest.IDs(pending, "id"), apptest.IDs(expired, "id"))
			}
			apptest.ProblemCode(t, w.do("GET", "/v1/members", invitee, nil), 404, "")
			mine, _ := apptest.Page(t, apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations", Token: invitee})))
			if len(mine) != 0 {
				t.Fatalf("expired invitation listed as mine: %v", mine)
			}
		})
		t.Run("ErrDefaultSevenDays", func(t *testing.T) {
			w.advance(t, 6*24*time.Hour-time.Second)
			apptest.Status(t, 200, show(longToken))
			w.advance(t, time.Second)
			invitee = w.signIn(t, "short@example.com")
			apptest.ProblemCode(t, show(longToken), 410, "invitation_expired")
		})
		t.Run("OKReinvite", func(t *testing.T) {
			_, token := w.invite(t, "short@example.com", apptest.Role("viewer"))
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Token: invitee}))
			if st := w.status(t, short["id"].(string)); st != "expired" {
				t.Fatalf("old invitation %s", st)
			}
		})
	})
}

// TestInvitationsInviterLosesRights: an invitation whose inviter no longer
// holds what it grants is revoked, with an audit event.
func TestInvitationsInviterLosesRights(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		checkRevoked := func(t *testing.T, id, token string) {
			t.Helper()
			if st := w.status(t, id); st != "revoked" {
				t.Fatalf("invitation %s, want revoked", st)
			}
			ev := srv.AuditFor(w.org, "invitation.revoked", id)
			if ev == nil || !strings.Contains(string(ev.Summary), "inviter_lost_rights") {
				t.Fatalf("audit event = %+v", ev)
			}
			p := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		}
		grant := apptest.Permissions(apptest.ProjectGrant(w.proj, "full-access", ""))

		t.Run("ErrRightsReduced", func(t *testing.T) {
			admin, adminID := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
			inv, token := w.inviteAs(t, admin, "x1@example.com", grant)
			keep, _ := w.inviteAs(t, admin, "x1b@example.com", apptest.Role("viewer"))
			// Still members write and every project's read: the viewer one stays.
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, map[string]any{"role": "viewer",
				"permissions": []any{apptest.OrgGrant(w.org, "members", "read+write")}})
			checkRevoked(t, inv["id"].(string), token)
			if st := w.status(t, keep["id"].(string)); st != "pending" {
				t.Fatalf("covered invitation %s, want pending", st)
			}
		})
		t.Run("ErrMembersWriteLost", func(t *testing.T) {
			admin, adminID := w.member("Abe Admin", "abe@example.com", apptest.Role("admin"))
			inv, token := w.inviteAs(t, admin, "x2@example.com", apptest.Role("viewer"))
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, apptest.Role("viewer"))
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrRemoved", func(t *testing.T) {
			admin, adminID := w.member("Ari Admin", "ari@example.com", apptest.Role("admin"))
			inv, token := w.inviteAs(t, admin, "x3@example.com", grant)
			w.must(t, 204, "DELETE", "/v1/members/"+adminID, w.owner, nil)
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrLeft", func(t *testing.T) {
			admin, adminID := w.member("Amy Admin", "amy@example.com", apptest.Role("admin"))
			inv, token := w.inviteAs(t, admin, "x4@example.com", grant)
			w.must(t, 204, "DELETE", "/v1/members/"+adminID, admin, nil)
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrRoleReduced", func(t *testing.T) {
			role := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "recruiter",
				"permissions": []any{apptest.OrgGrant(w.org, "members", ""), apptest.ProjectGrant("*", "full-access", "")}})
			rec, _ := w.member("Rex Recruiter", "rex@example.com", apptest.Role("recruiter"))
			inv, token := w.inviteAs(t, rec, "x5@example.com", grant)
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "recruiter",
				"permissions": []any{apptest.OrgGrant(w.org, "members", "")}})
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrGrantedRoleExpanded", func(t *testing.T) {
			// An invitation to a role that grows past what its inviter holds.
			role := w.must(t, 201, "POST", "/v1/roles", w.owner, map[string]any{"name": "clipper",
				"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.AreaGrant("folders", "read"))}})
			admin, _ := w.member("Axel Admin", "axel@example.com", apptest.Role("admin"))
			inv, token := w.inviteAs(t, admin, "x8@example.com", apptest.Role("clipper"))
			// Growing within the admin's rights keeps it.
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "clipper",
				"permissions": []any{apptest.ProjectGrant("*", "full-access", "")}})
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s, want pending", st)
			}
			w.must(t, 200, "PUT", "/v1/roles/"+role["id"].(string), w.owner, map[string]any{"name": "clipper",
				"permissions": []any{apptest.ProjectGrant("*", "full-access", ""), apptest.OrgGrant(w.org, "billing", "read")}})
			checkRevoked(t, inv["id"].(string), token)
		})
		t.Run("ErrFolderMovedNoAccountMade", func(t *testing.T) {
			// The inviter's folder grant covered the subfolder until it moved
			// out: the move revokes, and accepting makes no account.
			tr, _ := w.member("Tia Trailers", "tia@example.com", apptest.Permissions(apptest.OrgGrant(w.org, "members", ""),
				apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "")))))
			leaf := srv.CreateFolder(w.owner, w.org, w.proj, "Leaf", w.folder)
			leaf2 := srv.CreateFolder(w.owner, w.org, w.proj, "Leaf Two", w.folder)
			inv, token := w.inviteAs(t, tr, "x6@example.com", apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(leaf, "read")))))
			inv2, token2 := w.inviteAs(t, tr, "x6b@example.com", apptest.Permissions(apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(leaf2, "read")))))
			for _, f := range []string{leaf, leaf2} {
				w.must(t, 200, "POST", "/v1/projects/"+w.proj+"/folders/"+f+"/move", w.owner, map[string]any{"parent_id": nil})
			}
			// The move itself revoked both, before anyone looks at a link.
			for _, id := range []string{inv["id"].(string), inv2["id"].(string)} {
				if st := w.status(t, id); st != "revoked" {
					t.Fatalf("after the move, status %s, want revoked", st)
				}
				if ev := srv.AuditFor(w.org, "invitation.revoked", id); ev == nil || !strings.Contains(string(ev.Summary), "inviter_lost_rights") {
					t.Fatalf("no invitation.revoked event for %s: %v", id, ev)
				}
			}
			// Looking at the link says so.
			p2 := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token2}), 410, "invitation_revoked")
			if p2["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p2)
			}
			checkRevoked(t, inv2["id"].(string), token2)
			// Accepting at once, without looking, too; and makes no account.
			p := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept",
				Body: map[string]any{"name": "Xavier", "password": apptest.TestPassword}}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
			checkRevoked(t, inv["id"].(string), token)
			if apptest.AccountExists(t, srv, "x6@example.com") {
				t.Fatal("an account was made by a refused accept")
			}
		})
		t.Run("OKStillCovered", func(t *testing.T) {
			admin, adminID := w.member("Ali Admin", "ali@example.com", apptest.Role("admin"))
			inv, _ := w.inviteAs(t, admin, "x7@example.com", grant)
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, apptest.Permissions(apptest.OrgGrant(w.org, "members", "read+write"),
				apptest.ProjectGrant(w.proj, "full-access", "")))
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s, want pending", st)
			}
			tok, _ := srv.Signup("Xena", "x7@example.com")
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("x7@example.com") + "/accept", Token: tok}))
		})
	})
}

// ---------------------------------------------------------------------------
// Receiving.
