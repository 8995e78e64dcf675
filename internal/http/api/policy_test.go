package api_test

import (
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestPolicy(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		policy := "/v1/organizations/" + w.org + "/policy"

		t.Run("ErrRights", func(t *testing.T) {
			viewer, _ := w.member("Vera Viewer", "vera@example.com", apptest.Role("viewer"))
			apptest.ProblemCode(t, w.do("GET", policy, viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("PATCH", policy, viewer, map[string]any{"seat_limit": 3}), 403, "forbidden")
			// Another organization's policy is not found.
			stranger, _ := srv.Signup("Sam Stranger", "sam@example.com")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: policy, Token: stranger}), 404, "")
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, body := range []map[string]any{
				{"allowed_domains": []any{"not a domain"}},
				{"invitations_per_day": 0},
				{"max_expiry_days": 31},
				{"default_expiry_days": 10, "max_expiry_days": 5},
				{"seat_limit": 0},
				{"seat_limit": "many"},
				{"who_can_invite": "anyone"},
			} {
				apptest.ProblemCode(t, w.do("PATCH", policy, w.owner, body), 400, "invalid")
			}
		})
		t.Run("Defaults", func(t *testing.T) {
			p := w.must(t, 200, "GET", policy, w.owner, nil)
			if p["invitations_per_day"] != float64(100) || p["default_expiry_days"] != float64(7) || p["max_expiry_days"] != float64(30) ||
				p["seat_limit"] != nil || p["who_can_invite"] != "members_write" || len(p["allowed_domains"].([]any)) != 0 {
				t.Fatalf("default policy %v", p)
			}
		})
		t.Run("ErrDomainRefused", func(t *testing.T) {
			p := w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"allowed_domains": []any{"@Acme.example"}})
			if d := p["allowed_domains"].([]any); len(d) != 1 || d[0] != "acme.example" {
				t.Fatalf("allowed_domains %v", d)
			}
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "eve@evil.example", "role": "viewer"}), 400, "invalid")
			if len(srv.MailTo("eve@evil.example")) != 0 {
				t.Fatal("mail sent to a refused domain")
			}
			w.must(t, 201, "POST", "/v1/members/invitations", w.owner, map[string]any{"email": "ann@acme.example", "role": "viewer"})
			if len(srv.AuditEvents(w.org, "organization.policy_updated")) == 0 {
				t.Fatal("no audit event")
			}
			w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"allowed_domains": []any{}})
		})
		t.Run("ErrExpiry", func(t *testing.T) {
			w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"default_expiry_days": 3, "max_expiry_days": 5})
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "long@example.com", "role": "viewer", "expires_in_days": 6}), 400, "invalid")
			inv := w.must(t, 201, "POST", "/v1/members/invitations", w.owner, map[string]any{"email": "short@example.com", "role": "viewer"})
			if apptest.UTCTime(t, inv["expires_at"]).Sub(apptest.UTCTime(t, inv["created_time"])).Hours() != 72 {
				t.Fatalf("expiry %v → %v", inv["created_time"], inv["expires_at"])
			}
			w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"default_expiry_days": 7, "max_expiry_days": 30})
		})
		t.Run("ErrOwnersOnly", func(t *testing.T) {
			admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
			w.must(t, 201, "POST", "/v1/members/invitations", admin, map[string]any{"email": "first@example.com", "role": "viewer"})
			w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"who_can_invite": "owners"})
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", admin, map[string]any{"email": "second@example.com", "role": "viewer"}), 403, "forbidden")
			w.must(t, 201, "POST", "/v1/members/invitations", w.owner, map[string]any{"email": "second@example.com", "role": "viewer"})
			w.must(t, 200, "PATCH", policy, w.owner, map[string]any{"who_can_invite": "members_write"})
		})
		t.Run("ErrSeatLimit", func(t *testing.T) {
			org := srv.CreateOrg(w.owner, "Tiny Co")
			pol := "/v1/organizations/" + org + "/policy"
			send := func(email string) *apptest.Response {
				return srv.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(org),
					Body: map[string]any{"email": email, "role": "viewer"}})
			}
			// The owner plus two pending invitations fill three seats.
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "PATCH", Path: pol, Token: w.owner, Body: map[string]any{"seat_limit": 3}}))
			a, _ := srv.Signup("Al Accepter", "al@example.com")
			b, _ := srv.Signup("Bo Accepter", "bo@example.com")
			apptest.Status(t, 201, send("al@example.com"))
			apptest.Status(t, 201, send("bo@example.com"))
			p := apptest.ProblemCode(t, send("cy@example.com"), 409, "seat_limit")
			if p["seat_limit"] != float64(3) {
				t.Fatalf("problem %v does not name the limit", p)
			}
			// Lowered to two: one seat left, two accepts race for it.
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "PATCH", Path: pol, Token: w.owner, Body: map[string]any{"seat_limit": 2}}))
			toks := []string{srv.LastInvitationToken("al@example.com"), srv.LastInvitationToken("bo@example.com")}
			users := []string{a, b}
			codes := make([]int, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + toks[i] + "/accept", Token: users[i]}).Status
				}()
			}
			wg.Wait()
			if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
				t.Fatalf("accepts answered %v, want one 200 and one 409", codes)
			}
			// Removing the limit lets the other in.
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "PATCH", Path: pol, Token: w.owner, Body: map[string]any{"seat_limit": nil}}))
			loser := 0
			if codes[0] == 200 {
				loser = 1
			}
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + toks[loser] + "/accept", Token: users[loser]}))
		})
	})
}
