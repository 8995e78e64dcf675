package api_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// actingOrg returns the organization a request without X-Organization-Id
// acts in, as /v1/me and a scoped list see it ("" for none).
func actingOrg(t *testing.T, srv *apptest.Server, token string) string {
	t.Helper()
	me := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: token})
	cur, _ := me["current_organization_id"].(string)
	check := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: token})
	if got, _ := check["organization_id"].(string); got != cur {
		t.Fatalf("/v1/me says %q, api-access-check says %q", cur, got)
	}
	if cur == "" {
		apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/projects", Token: token}), 400)
		return ""
	}
	list := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/projects", Token: token})
	data := list["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["name"] != "project of "+cur {
		t.Fatalf("projects in the acting organization %s: %v", cur, data)
	}
	return cur
}

func TestCurrentOrganizationPerSession(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		one := srv.SignUpTokens("Ada", "ada@example.com", "")
		orgA := srv.CreateOrg(one.Access, "A")
		srv.CreateProject(one.Access, orgA, "project of "+orgA)
		orgB := srv.CreateOrg(one.Access, "B")
		srv.CreateProject(one.Access, orgB, "project of "+orgB)
		if got := actingOrg(t, srv, one.Access); got != orgA {
			t.Fatalf("the first organization created is not current: %q", got)
		}
		two := srv.SignIn("ada@example.com", apptest.TestPassword)
		if got := actingOrg(t, srv, two.Access); got != orgA {
			t.Fatalf("a new session does not start in the last chosen organization: %q", got)
		}

		t.Run("OKSwitchChangesTheCallingSessionOnly", func(t *testing.T) {
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + orgB + "/switch", Token: two.Access})
			if got := actingOrg(t, srv, two.Access); got != orgB {
				t.Fatalf("session two acts in %q after switching to B", got)
			}
			if got := actingOrg(t, srv, one.Access); got != orgA {
				t.Fatalf("session one moved to %q when session two switched", got)
			}
		})
		t.Run("OKNewSessionStartsInLastChoice", func(t *testing.T) {
			three := srv.SignIn("ada@example.com", apptest.TestPassword)
			if got := actingOrg(t, srv, three.Access); got != orgB {
				t.Fatalf("new session acts in %q, want the last chosen B", got)
			}
		})
		t.Run("OKSurvivesRefresh", func(t *testing.T) {
			fresh := srv.RefreshTokens(two.Refresh)
			two = fresh
			if got := actingOrg(t, srv, two.Access); got != orgB {
				t.Fatalf("after a refresh session two acts in %q", got)
			}
		})
		var orgC string
		t.Run("OKAcceptSwitchesTheAcceptingSessionOnly", func(t *testing.T) {
			other := srv.SignUpTokens("Owner", "owner@example.com", "")
			orgC = srv.CreateOrg(other.Access, "C")
			srv.CreateProject(other.Access, orgC, "project of "+orgC)
			srv.Invite(other.Access, orgC, map[string]any{"email": "ada@example.com", "role": "viewer"})
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("ada@example.com") + "/accept", Token: two.Access})
			if got := actingOrg(t, srv, two.Access); got != orgC {
				t.Fatalf("the accepting session acts in %q, want C", got)
			}
			if got := actingOrg(t, srv, one.Access); got != orgA {
				t.Fatalf("another session moved to %q on accept", got)
			}
		})
		t.Run("OKAPIKeyKeepsItsOrganization", func(t *testing.T) {
			key := srv.CreateKey(one.Access, orgA, map[string]any{"entity_type": "projects", "entity_id": "*", "name": "full-access", "action": "", "permission": []any{}})
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + orgB + "/switch", Token: one.Access})
			check := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: key["secret"].(string)})
			if check["organization_id"] != orgA {
				t.Fatalf("the key acts in %v, want its own A", check["organization_id"])
			}
		})
		t.Run("OKLeavingClearsTheSessionsThere", func(t *testing.T) {
			// Session two is in C; Ada leaves C from session one.
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/" + one.User["id"].(string), Token: one.Access, Header: apptest.OrgHeader(orgC)})
			if got := actingOrg(t, srv, two.Access); got != "" {
				t.Fatalf("session two still acts in %q after leaving it", got)
			}
		})
	})
}

// Two processes on one PostgreSQL: a switch through one reaches the other,
// which had the session cached, as fast as its notification.
func TestCurrentOrganizationAcrossProcesses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		if e.Name != "postgres" {
			t.Skip("processes share a database on PostgreSQL only")
		}
		dsn := e.NewDSN(t)
		one := apptest.New(t, e, apptest.Options{DSN: dsn})
		two := apptest.New(t, e, apptest.Options{DSN: dsn})
		s := one.SignUpTokens("Ada", "ada@example.com", "")
		orgA := one.CreateOrg(s.Access, "A")
		one.CreateProject(s.Access, orgA, "project of "+orgA)
		orgB := one.CreateOrg(s.Access, "B")
		one.CreateProject(s.Access, orgB, "project of "+orgB)
		if got := actingOrg(t, two, s.Access); got != orgA { // now cached in two
			t.Fatalf("acts in %q, want A", got)
		}
		one.Must(200, apptest.Req{Method: "POST", Path: "/v1/organizations/" + orgB + "/switch", Token: s.Access})
		opEventually(t, "the other process still acts in A after the switch", func() bool {
			me := two.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: s.Access})
			return me["current_organization_id"] == orgB
		})
		if got := actingOrg(t, two, s.Access); got != orgB {
			t.Fatalf("acts in %q, want B", got)
		}
	})
}
