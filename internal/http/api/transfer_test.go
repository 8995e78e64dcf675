package api_test

import (
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func transferReq(token, orgID string, body any) apptest.Req {
	return apptest.Req{Method: "POST", Path: "/v1/organizations/" + orgID + "/transfer-ownership", Token: token, Body: body}
}

func memberRole(t *testing.T, srv *apptest.Server, token, orgID, userID string) string {
	t.Helper()
	m := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + userID, Token: token, Header: apptest.OrgHeader(orgID)})
	role, _ := m["role"].(map[string]any)
	name, _ := role["name"].(string)
	return name
}

func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			o := srv.SignUpTokens("Olivia", "olivia@example.com", "")
			org := srv.CreateOrg(o.Access, "Acme")
			mia := srv.AddStoreMember(org, "Mia", "mia@example.com", gatehouse.RoleViewerID, nil)
			out := srv.Must(200, transferReq(o.Access, org, map[string]any{"user_id": mia.UserID}))
			owner, _ := out["owner"].(map[string]any)
			prev, _ := out["previous_owner"].(map[string]any)
			if owner["user_id"] != mia.UserID || prev["user_id"] != o.User["id"] {
				t.Fatalf("answer: %v", out)
			}
			if r := memberRole(t, srv, mia.Token, org, mia.UserID); r != "owner" {
				t.Fatalf("new owner's role %q", r)
			}
			if r := memberRole(t, srv, mia.Token, org, o.User["id"].(string)); r != "admin" {
				t.Fatalf("former owner's role %q", r)
			}
			if len(srv.AuditEvents(org, "organization.ownership_transferred")) != 1 || len(srv.AuditEvents(org, "member.updated")) != 2 {
				t.Fatal("transfer not audited")
			}
			// The former owner, now an admin, can no longer delete the organization or transfer again.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/organizations/" + org, Token: o.Access}), 403)
			apptest.Problem(t, srv.Do(transferReq(o.Access, org, map[string]any{"user_id": mia.UserID})), 403)
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			srv := apptest.New(t, e)
			o := srv.SignUpTokens("Olivia", "olivia@example.com", "")
			org := srv.CreateOrg(o.Access, "Acme")
			other := srv.SignUpTokens("Oscar", "oscar@example.com", "")
			otherOrg := srv.CreateOrg(other.Access, "Other")
			stranger := srv.AddStoreMember(otherOrg, "Sam", "sam@example.com", gatehouse.RoleViewerID, nil)
			co := srv.AddStoreMember(org, "Cora", "cora@example.com", gatehouse.RoleOwnerID, nil)
			for _, tc := range []struct {
				name   string
				body   any
				status int
				code   string
			}{
				{"missing user_id", map[string]any{}, 400, "invalid"},
				{"empty user_id", map[string]any{"user_id": ""}, 400, "invalid"},
				{"number", map[string]any{"user_id": 5}, 400, "invalid"},
				{"unknown field", map[string]any{"user_id": co.UserID, "role": "owner"}, 400, "invalid"},
				{"malformed", `{"user_id":`, 400, "invalid"},
				{"self", map[string]any{"user_id": o.User["id"]}, 400, "invalid"},
				{"not an id", map[string]any{"user_id": "nope"}, 404, "not_found"},
				{"unknown member", map[string]any{"user_id": "0190c0de-0000-7000-8000-000000000000"}, 404, "not_found"},
				{"another organization's member", map[string]any{"user_id": stranger.UserID}, 404, "not_found"},
				{"already owner", map[string]any{"user_id": co.UserID}, 409, "already_owner"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := transferReq(o.Access, org, tc.body)
					if s, ok := tc.body.(string); ok {
						r.Body, r.ContentType = s, "application/json"
					}
					p := apptest.Problem(t, srv.Do(r), tc.status)
					if p["code"] != tc.code {
						t.Fatalf("code %v, want %s", p["code"], tc.code)
					}
				})
			}
			// Someone else's organization: 404, as for anything of another organization.
			apptest.Problem(t, srv.Do(transferReq(o.Access, otherOrg, map[string]any{"user_id": stranger.UserID})), 404)
			if r := memberRole(t, srv, o.Access, org, o.User["id"].(string)); r != "owner" {
				t.Fatalf("a refused transfer changed the caller's role to %q", r)
			}
		})
		t.Run("ErrNotOwner", func(t *testing.T) {
			srv := apptest.New(t, e)
			o := srv.SignUpTokens("Olivia", "olivia@example.com", "")
			org := srv.CreateOrg(o.Access, "Acme")
			admin := srv.AddStoreMember(org, "Adam", "adam@example.com", gatehouse.RoleAdminID, nil)
			mia := srv.AddStoreMember(org, "Mia", "mia@example.com", gatehouse.RoleViewerID, nil)
			apptest.Problem(t, srv.Do(transferReq(admin.Token, org, map[string]any{"user_id": mia.UserID})), 403)
			apptest.Problem(t, srv.Do(transferReq(mia.Token, org, map[string]any{"user_id": mia.UserID})), 403)
			apptest.Problem(t, srv.Do(transferReq("", org, map[string]any{"user_id": mia.UserID})), 401)
			key := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: o.Access, Header: apptest.OrgHeader(org),
				Body: map[string]any{"name": "ci", "permissions": []map[string]any{{"entity_type": "organizations", "entity_id": org, "name": "owner", "action": "", "permission": []any{}}}}})
			if secret, _ := key["key"].(string); secret != "" {
				apptest.Problem(t, srv.Do(transferReq(secret, org, map[string]any{"user_id": mia.UserID})), 403)
			}
		})
		// The same owner hands ownership to two members at once: exactly one
		// transfer wins (the other finds the caller no longer an owner), and
		// the organization has exactly one owner after.
		t.Run("RaceOneWins", func(t *testing.T) {
			srv := apptest.New(t, e)
			o := srv.SignUpTokens("Olivia", "olivia@example.com", "")
			org := srv.CreateOrg(o.Access, "Acme")
			var targets []*apptest.Member
			for _, n := range []string{"a", "b", "c", "d"} {
				targets = append(targets, srv.AddStoreMember(org, "M "+n, n+"@example.com", gatehouse.RoleViewerID, nil))
			}
			statuses := make([]int, len(targets))
			var wg sync.WaitGroup
			for i, m := range targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = srv.Do(transferReq(o.Access, org, map[string]any{"user_id": m.UserID})).Status
				}()
			}
			wg.Wait()
			won := 0
			for _, st := range statuses {
				switch st {
				case 200:
					won++
				case 403:
				default:
					t.Fatalf("statuses %v: want one 200 and 403s", statuses)
				}
			}
			owners := 0
			for _, m := range append(targets, &apptest.Member{UserID: o.User["id"].(string)}) {
				if memberRole(t, srv, o.Access, org, m.UserID) == "owner" {
					owners++
				}
			}
			if won != 1 || owners != 1 {
				t.Fatalf("%d transfers won (statuses %v) and %d owners; want 1 and 1", won, statuses, owners)
			}
		})
	})
}
