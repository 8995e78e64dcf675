package scim_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// An account registered but never verified is not linked as it stands:
// whoever registered it loses its password and sessions, and the mailbox's
// owner gets the set-password link.
func TestSCIMUnverifiedAccount(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@corp.example")
		s.Must(201, apptest.Req{Method: "POST", Path: "/v1/auth/register",
			Body: map[string]string{"name": "Squatter", "email": "dana@corp.example", "password": "the squatter's password"}})
		u := idp{t, s.URL, a.token}.must(201, "POST", "/Users", `{"userName":"dana@corp.example","active":true}`)
		apptest.Problem(t, s.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login",
			Body: map[string]string{"email": "dana@corp.example", "password": "the squatter's password"}}), 401)
		var link []string
		for _, m := range s.MailTo("dana@corp.example") {
			if l := setPasswordLink.FindStringSubmatch(m.Text); l != nil {
				link = l
			}
		}
		if link == nil {
			t.Fatal("no set-password link mailed")
		}
		s.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/set", Body: map[string]string{"reset_token": link[1], "password": "dana's real passphrase"}})
		dana := s.SignIn("dana@corp.example", "dana's real passphrase")
		if dana.User["id"] != u["id"] {
			t.Fatalf("signed in as %v, provisioned %v", dana.User["id"], u["id"])
		}
		ev := s.AuditFor(a.id, "user.provisioned", u["id"].(string))
		if ev == nil || ev.ActorKind != "scim_token" {
			t.Fatalf("provisioning audit: %+v", ev)
		}
	})
}

// Providers retry: N concurrent creations of one user make one member; the
// others are 409 uniqueness, never a 500 or a second account.
func TestSCIMConcurrentCreate(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@race.example")
		c := idp{t, s.URL, a.token}
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = c.do("POST", "/Users", fmt.Sprintf(`{"userName":"Race@race.example","externalId":"ext-%d","active":true}`, i)).status
			}()
		}
		wg.Wait()
		created := 0
		for _, st := range statuses {
			switch st {
			case 201:
				created++
			case 409:
			default:
				t.Fatalf("statuses %v", statuses)
			}
		}
		if created != 1 {
			t.Fatalf("%d created: %v", created, statuses)
		}
		if got := total(t, c.must(200, "GET", `/Users?filter=userName+eq+"race@race.example"`, "")); got != 1 {
			t.Fatalf("%d users", got)
		}
		if len(s.AuditEvents(a.id, "member.added")) != 1 {
			t.Fatalf("member.added events: %d", len(s.AuditEvents(a.id, "member.added")))
		}
	})
}
