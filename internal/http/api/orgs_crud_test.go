package api_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestOrgCreateListGetUpdate(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		ctx := context.Background()
		u := srv.SignupMember("Ursula", "ursula@example.com")
		auth := func(method, path string, body any) apptest.Req {
			return apptest.Req{Method: method, Path: path, Token: u.Token, Body: body}
		}
		var first, second string
		t.Run("OK", func(t *testing.T) {
			me := apptest.MustDo(t, srv, 200, auth("GET", "/v1/me", nil))
			if me["current_organization_id"] != nil {
				t.Fatalf("current organization before any: %v", me["current_organization_id"])
			}
			o := apptest.MustDo(t, srv, 201, auth("POST", "/v1/organizations", map[string]any{"name": "  First Org  ", "logo_url": "https://cdn.example.com/l.png"}))
			first = apptest.ID(t, o)
			if o["name"] != "First Org" || o["logo_url"] != "https://cdn.example.com/l.png" || o["created_by"] != u.UserID {
				t.Fatalf("created %v", o)
			}
			m, err := srv.Store.R().Membership(ctx, first, u.UserID)
			if err != nil || m.RoleID != gatehouse.RoleOwnerID {
				t.Fatalf("creator's membership %+v, %v", m, err)
			}
			apptest.HasAudit(t, srv, first, first, "organization.created")
			if me := apptest.MustDo(t, srv, 200, auth("GET", "/v1/me", nil)); me["current_organization_id"] != first {
				t.Fatalf("current organization %v, want the first one", me["current_organization_id"])
			}
			second = apptest.ID(t, apptest.MustDo(t, srv, 201, auth("POST", "/v1/organizations", map[string]any{"name": "Second"})))
			if me := apptest.MustDo(t, srv, 200, auth("GET", "/v1/me", nil)); me["current_organization_id"] != first {
				t.Fatalf("a second organization changed the current one to %v", me["current_organization_id"])
			}
			if o := apptest.MustDo(t, srv, 200, auth("GET", "/v1/organizations/"+second, nil)); o["logo_url"] != nil || o["name"] != "Second" {
				t.Fatalf("second %v", o)
			}
			list := apptest.MustDo(t, srv, 200, auth("GET", "/v1/organizations", nil))
			if ids := apptest.DataIDs(t, list); !slices.Equal(ids, []string{second, first}) || list["next_cursor"] != nil {
				t.Fatalf("list %v", list)
			}
			page := apptest.MustDo(t, srv, 200, auth("GET", "/v1/organizations?limit=1", nil))
			cur, _ := page["next_cursor"].(string)
			if ids := apptest.DataIDs(t, page); !slices.Equal(ids, []string{second}) || cur == "" {
				t.Fatalf("page 1 %v", page)
			}
			page = apptest.MustDo(t, srv, 200, auth("GET", "/v1/organizations?limit=1&cursor="+cur, nil))
			if ids := apptest.DataIDs(t, page); !slices.Equal(ids, []string{first}) || page["next_cursor"] != nil {
				t.Fatalf("page 2 %v", page)
			}
			// Someone else's organizations are not listed.
			other := srv.SignupMember("Other", "other@example.com")
			apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: other.Token, Body: map[string]any{"name": "Theirs"}})
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, auth("GET", "/v1/organizations", nil))); len(ids) != 2 {
				t.Fatalf("list after another user's org: %v", ids)
			}

			o = apptest.MustDo(t, srv, 200, auth("PATCH", "/v1/organizations/"+first, map[string]any{"name": "Renamed"}))
			if o["name"] != "Renamed" || o["logo_url"] != "https://cdn.example.com/l.png" {
				t.Fatalf("renamed %v", o)
			}
			o = apptest.MustDo(t, srv, 200, auth("PATCH", "/v1/organizations/"+first, map[string]any{"logo_url": ""}))
			if o["name"] != "Renamed" || o["logo_url"] != nil {
				t.Fatalf("logo cleared %v", o)
			}
			if got := srv.TargetAuditActions(first, first); !slices.Equal(got, []string{"organization.created", "organization.updated", "organization.updated"}) {
				t.Fatalf("audit %v", got)
			}
			// Nothing changed, nothing written.
			apptest.MustDo(t, srv, 200, auth("PATCH", "/v1/organizations/"+first, map[string]any{"name": "Renamed"}))
			if got := srv.TargetAuditActions(first, first); len(got) != 3 {
				t.Fatalf("no-op update audited: %v", got)
			}
		})
		t.Run("ErrMissingName", func(t *testing.T) {
			apptest.BadField(t, srv.Do(auth("POST", "/v1/organizations", map[string]any{"logo_url": "https://x.example/l.png"})), "name")
			apptest.BadField(t, srv.Do(auth("POST", "/v1/organizations", map[string]any{"name": "   "})), "name")
			apptest.BadField(t, srv.Do(auth("PATCH", "/v1/organizations/"+first, map[string]any{"name": ""})), "name")
		})
		t.Run("ErrWrongType", func(t *testing.T) {
			apptest.BadField(t, srv.Do(auth("POST", "/v1/organizations", map[string]any{"name": 5})), "name")
			apptest.BadField(t, srv.Do(auth("PATCH", "/v1/organizations/"+first, map[string]any{"logo_url": true})), "logo_url")
			r := auth("POST", "/v1/organizations", `["x"]`)
			r.ContentType = "application/json"
			apptest.ProblemCode(t, srv.Do(r), 400, "invalid")
		})
		t.Run("ErrBadLogo", func(t *testing.T) {
			apptest.BadField(t, srv.Do(auth("POST", "/v1/organizations", map[string]any{"name": "L", "logo_url": "javascript:alert(1)"})), "logo_url")
			apptest.BadField(t, srv.Do(auth("PATCH", "/v1/organizations/"+first, map[string]any{"logo_url": "not a url"})), "logo_url")
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			apptest.BadField(t, srv.Do(auth("POST", "/v1/organizations", map[string]any{"name": "X", "owner": "me"})), "owner")
			apptest.BadField(t, srv.Do(auth("PATCH", "/v1/organizations/"+first, map[string]any{"settings": map[string]any{}})), "settings")
		})
		t.Run("ErrMalformed", func(t *testing.T) {
			r := auth("POST", "/v1/organizations", `{"name":`)
			r.ContentType = "application/json"
			apptest.ProblemCode(t, srv.Do(r), 400, "invalid")
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations"}), 401, "")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/organizations", Body: map[string]any{"name": "X"}}), 401, "")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/organizations/" + first}), 401, "")
		})
		t.Run("ErrUnknownID", func(t *testing.T) {
			for _, id := range []string{opUnknownID, "not-a-uuid", "1"} {
				apptest.ProblemCode(t, srv.Do(auth("GET", "/v1/organizations/"+id, nil)), 404, "not_found")
				apptest.ProblemCode(t, srv.Do(auth("PATCH", "/v1/organizations/"+id, map[string]any{"name": "X"})), 404, "not_found")
				apptest.ProblemCode(t, srv.Do(auth("DELETE", "/v1/organizations/"+id, nil)), 404, "not_found")
				apptest.ProblemCode(t, srv.Do(auth("POST", "/v1/organizations/"+id+"/switch", nil)), 404, "not_found")
			}
		})
	})
}

func TestOrgSwitch(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		t.Run("OK", func(t *testing.T) {
			second := apptest.ID(t, apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: w.owner.Token,
				Body: map[string]any{"name": "Second"}}))
			// Without the header, requests act in the current organization.
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: w.owner.Token})); len(ids) != 2 {
				t.Fatalf("projects of Acme: %v", ids)
			}
			o := apptest.MustDo(t, srv, 200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + second + "/switch", Token: w.owner.Token})
			if o["id"] != second || o["name"] != "Second" {
				t.Fatalf("switch answered %v", o)
			}
			apptest.HasAudit(t, srv, "", w.owner.UserID, "user.organization_switched")
			if me := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/me", Token: w.owner.Token}); me["current_organization_id"] != second {
				t.Fatalf("current %v", me["current_organization_id"])
			}
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: w.owner.Token})); len(ids) != 0 {
				t.Fatalf("projects of Second: %v", ids)
			}
			// The header still wins over the current organization.
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", "/v1/projects", nil))); len(ids) != 2 {
				t.Fatalf("projects with the header: %v", ids)
			}
			// A member added without a current organization switches to it.
			apptest.MustDo(t, srv, 200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + w.org + "/switch", Token: w.viewer.Token})
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: w.viewer.Token})); len(ids) != 2 {
				t.Fatalf("viewer's projects after switching: %v", ids)
			}
		})
		t.Run("ErrNoOrganization", func(t *testing.T) {
			// The custom member never switched: no header, no current organization.
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/projects", Token: w.custom.Token}), 400, "no_organization")
		})
		t.Run("ErrNotMember", func(t *testing.T) {
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/" + w.otherOrg + "/switch", Token: w.custom.Token}), 404, "not_found")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/" + w.org + "/switch", Token: w.outsider.Token}), 404, "not_found")
			if me := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/me", Token: w.outsider.Token}); me["current_organization_id"] != w.otherOrg {
				t.Fatalf("a refused switch changed the current organization to %v", me["current_organization_id"])
			}
		})
		t.Run("ErrUnknownID", func(t *testing.T) {
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/" + opUnknownID + "/switch", Token: w.owner.Token}), 404, "not_found")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/nope/switch", Token: w.owner.Token}), 404, "not_found")
		})
	})
}

// TestOrgCrossTenant: another organization's ids, by path or by header,
// answer 404 and never 403, for every kind of member.
func TestOrgCrossTenant(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		for _, m := range []*apptest.Member{w.owner, w.admin, w.viewer, w.custom} {
			t.Run("ErrOtherOrgPath/"+m.Email, func(t *testing.T) {
				for _, r := range []apptest.Req{
					{Method: "GET", Path: "/v1/organizations/" + w.otherOrg},
					{Method: "PATCH", Path: "/v1/organizations/" + w.otherOrg, Body: map[string]any{"name": "Pwned"}},
					{Method: "DELETE", Path: "/v1/organizations/" + w.otherOrg},
					{Method: "POST", Path: "/v1/organizations/" + w.otherOrg + "/switch"},
				} {
					r.Token = m.Token
					apptest.ProblemCode(t, srv.Do(r), 404, "not_found")
				}
			})
			t.Run("ErrOtherOrgHeader/"+m.Email, func(t *testing.T) {
				for _, h := range []string{w.otherOrg, opUnknownID, "not-a-uuid"} {
					for _, r := range []apptest.Req{
						{Method: "GET", Path: "/v1/projects"},
						{Method: "POST", Path: "/v1/projects", Body: map[string]any{"name": "X"}},
						{Method: "GET", Path: "/v1/projects/" + w.otherProject},
						{Method: "GET", Path: "/v1/projects/" + w.otherProject + "/folders/tree"},
						{Method: "DELETE", Path: "/v1/projects/" + w.otherProject + "/folders/" + w.otherFolder},
					} {
						r.Token, r.Header = m.Token, map[string]string{"X-Organization-Id": h}
						apptest.ProblemCode(t, srv.Do(r), 404, "not_found")
					}
				}
			})
		}
		t.Run("OK", func(t *testing.T) {
			// Nothing of the other organization changed.
			o := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/organizations/" + w.otherOrg, Token: w.outsider.Token})
			if o["name"] != "Other" {
				t.Fatalf("other org %v", o)
			}
			apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects/" + w.otherProject + "/folders/" + w.otherFolder, Token: w.outsider.Token})
		})
	})
}

func TestOrgDelete(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		ctx := context.Background()
		w := opNewWorld(t, srv)
		countRows := func(t *testing.T, table string) int {
			t.Helper()
			var n int
			if err := srv.Store.ReaderDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE org_id = $1`, w.org).Scan(&n); err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			return n
		}
		// An invitation and an API key, so that deleting removes them too.
		apptest.MustDo(t, srv, 201, w.req(w.owner, "POST", "/v1/members/invitations", map[string]any{"email": "newbie@acme.test", "role": "viewer"}))
		key := apptest.MustDo(t, srv, 201, w.req(w.owner, "POST", "/v1/api-keys", map[string]any{"name": "ci",
			"permissions": []gatehouse.Grant{apptest.FullAccessGrant(w.p1)}}))
		secret, _ := key["secret"].(string)
		apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects/" + w.p1, Token: secret})

		t.Run("ErrNotOwner", func(t *testing.T) {
			for _, m := range []*apptest.Member{w.admin, w.viewer, w.custom} {
				apptest.ProblemCode(t, w.do(m, "DELETE", "/v1/organizations/"+w.org, nil), 403, "forbidden")
			}
			apptest.MustDo(t, srv, 200, w.req(w.admin, "GET", "/v1/organizations/"+w.org, nil))
			if n := countRows(t, "projects"); n != 2 {
				t.Fatalf("projects after refused deletes: %d", n)
			}
		})
		t.Run("OK", func(t *testing.T) {
			apptest.MustDo(t, srv, 204, w.req(w.owner, "DELETE", "/v1/organizations/"+w.org, nil))
			for _, m := range []*apptest.Member{w.owner, w.admin, w.custom} {
				apptest.ProblemCode(t, w.do(m, "GET", "/v1/organizations/"+w.org, nil), 404, "not_found")
				apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+w.p1, nil), 404, "not_found")
				apptest.ProblemCode(t, w.do(m, "GET", "/v1/projects/"+w.p1+"/folders/"+w.fA, nil), 404, "not_found")
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/projects/" + w.p1, Token: secret}), 401, "")
			for _, table := range []string{"projects", "folders", "memberships", "invitations", "api_keys"} {
				if n := countRows(t, table); n != 0 {
					t.Fatalf("%d rows left in %s", n, table)
				}
			}
			if _, err := srv.Store.R().Project(ctx, w.org, w.p1); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Fatalf("project after delete: %v", err)
			}
			// The owner's current organization is gone with it.
			if me := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/me", Token: w.owner.Token}); me["current_organization_id"] != nil {
				t.Fatalf("current organization %v", me["current_organization_id"])
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/projects", Token: w.owner.Token}), 400, "no_organization")
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/organizations", Token: w.admin.Token})); len(ids) != 0 {
				t.Fatalf("admin still lists %v", ids)
			}
			// Its audit events stay, the deletion last.
			evs, err := srv.Store.R().ListAudit(ctx, store.AuditFilter{OrgID: w.org, Page: gatehouse.PageRequest{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, ev := range evs {
				actions = append(actions, ev.Action)
			}
			for _, want := range []string{"organization.created", "project.created", "folder.created", "invitation.created", "api_key.created", "organization.deleted"} {
				if !slices.Contains(actions, want) {
					t.Fatalf("audit after delete %v lacks %s", actions, want)
				}
			}
			if got := srv.TargetAuditActions(w.org, w.org); !slices.Equal(got, []string{"organization.created", "organization.deleted"}) {
				t.Fatalf("org audit %v", got)
			}
			// The other organization is untouched.
			apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects/" + w.otherProject + "/folders/" + w.otherFolder, Token: w.outsider.Token})
		})
		t.Run("ErrAlreadyDeleted", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.owner, "DELETE", "/v1/organizations/"+w.org, nil), 404, "not_found")
		})
	})
}
