package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func linkToken(t *testing.T, link map[string]any) string {
	t.Helper()
	u, _ := link["url"].(string)
	i := strings.LastIndex(u, "/")
	if i < 0 || len(u)-i < 20 {
		t.Fatalf("url %q", u)
	}
	return u[i+1:]
}

func TestInviteLinks(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		const links = "/v1/members/invite-links"
		join := func(token, user string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/invite-links/" + token + "/join", Token: user})
		}

		t.Run("ErrCreate", func(t *testing.T) {
			viewer, _ := w.member("Vera Viewer", "vera@example.com", apptest.Role("viewer"))
			apptest.ProblemCode(t, w.do("POST", links, viewer, map[string]any{"role": "viewer", "max_uses": 2}), 403, "forbidden")
			admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
			apptest.ProblemCode(t, w.do("POST", links, admin, map[string]any{"role": "owner", "max_uses": 2}), 403, "escalation")
			apptest.ProblemCode(t, w.do("POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 0}), 400, "invalid")
			apptest.ProblemCode(t, w.do("POST", links, w.owner, map[string]any{"max_uses": 2}), 400, "invalid")
			apptest.ProblemCode(t, w.do("POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 2, "allowed_domains": []any{"bad domain"}}), 400, "invalid")
		})

		t.Run("ErrUsedUpUnderRace", func(t *testing.T) {
			link := w.must(t, 201, "POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 3})
			tok := linkToken(t, link)
			if link["uses"] != float64(0) || link["status"] != "active" {
				t.Fatalf("link %v", link)
			}
			users := make([]string, 20)
			for i := range users {
				users[i], _ = srv.Signup(fmt.Sprintf("Racer %d", i), fmt.Sprintf("racer%d@example.com", i))
			}
			codes := make([]int, 20)
			var wg sync.WaitGroup
			for i := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = join(tok, users[i]).Status
				}()
			}
			wg.Wait()
			ok, gone := 0, 0
			for _, c := range codes {
				switch c {
				case 200:
					ok++
				case 410:
					gone++
				}
			}
			if ok != 3 || gone != 17 {
				t.Fatalf("codes %v: %d joined, %d gone; want 3 and 17", codes, ok, gone)
			}
			p := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invite-links/" + tok}), 410, "link_used_up")
			_ = p
			list := w.must(t, 200, "GET", links, w.owner, nil)
			found := false
			for _, it := range list["data"].([]any) {
				l := it.(map[string]any)
				if l["id"] == link["id"] {
					found = l["uses"] == float64(3) && l["status"] == "used_up" && l["url"] == nil
				}
			}
			if !found {
				t.Fatalf("list %v", list)
			}
			if n := len(srv.AuditEvents(w.org, "invitation.link_joined")); n != 3 {
				t.Fatalf("%d link_joined events", n)
			}
		})

		t.Run("ErrDomains", func(t *testing.T) {
			link := w.must(t, 201, "POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 5, "allowed_domains": []any{"acme.example"}})
			tok := linkToken(t, link)
			out, _ := srv.Signup("Out Sider", "out@elsewhere.example")
			apptest.ProblemCode(t, join(tok, out), 403, "domain_not_allowed")
			in, _ := srv.Signup("In Sider", "in@acme.example")
			// The organization's policy narrows further.
			w.must(t, 200, "PATCH", "/v1/organizations/"+w.org+"/policy", w.owner, map[string]any{"allowed_domains": []any{"other.example"}})
			apptest.ProblemCode(t, join(tok, in), 403, "domain_not_allowed")
			w.must(t, 200, "PATCH", "/v1/organizations/"+w.org+"/policy", w.owner, map[string]any{"allowed_domains": []any{}})
			res := apptest.Status(t, 200, join(tok, in))
			if res["membership"].(map[string]any)["organization_id"] != w.org {
				t.Fatalf("join %v", res)
			}
			apptest.ProblemCode(t, join(tok, in), 409, "already_member")
		})

		t.Run("ErrRevokedExpiredOrphaned", func(t *testing.T) {
			link := w.must(t, 201, "POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 5, "expires_in_days": 1})
			tok := linkToken(t, link)
			show := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invite-links/" + tok}))
			if show["organization_name"] != "Acme Video" || show["uses_left"] != float64(5) {
				t.Fatalf("show %v", show)
			}
			// Another organization's link is not found there.
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "DELETE", Path: links + "/" + link["id"].(string), Token: w.owner, Header: apptest.OrgHeader(w.otherOrg)}), 404, "")
			apptest.Status(t, 204, w.do("DELETE", links+"/"+link["id"].(string), w.owner, nil))
			u, _ := srv.Signup("Late Comer", "late@example.com")
			apptest.ProblemCode(t, join(tok, u), 410, "link_revoked")

			l2 := w.must(t, 201, "POST", links, w.owner, map[string]any{"role": "viewer", "max_uses": 5, "expires_in_days": 1})
			w.advance(t, 25*time.Hour)
			u, _ = srv.Signup("Later Comer", "later@example.com")
			apptest.ProblemCode(t, join(linkToken(t, l2), u), 410, "link_expired")

			// A link whose creator lost the right to grant it is revoked at join.
			admin, adminID := w.member("Al Admin", "al@example.com", apptest.Role("admin"))
			l3 := w.must(t, 201, "POST", links, admin, map[string]any{"role": "uploader", "max_uses": 5})
			w.must(t, 200, "PUT", "/v1/members/"+adminID+"/permissions", w.owner, map[string]any{"role": "viewer"})
			u, _ = srv.Signup("Orphan Joiner", "orphan@example.com")
			apptest.ProblemCode(t, join(linkToken(t, l3), u), 410, "link_revoked")
		})
	})
}
