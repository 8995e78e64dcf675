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

// SCIM's changes reach webhook endpoints like other membership changes.
func TestSCIMWebhookEvents(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e, apptest.Options{WebhooksAllowPrivate: true})
		a := newOrg(t, s, "owner@hooks.example")
		hook := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: a.owner.Access, Header: apptest.OrgHeader(a.id),
			Body: map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"member.*", "user.*", "scim_token.*"}}})
		c := idp{t, s.URL, a.token}
		id := c.must(201, "POST", "/Users", `{"userName":"eve@hooks.example","active":true}`)["id"].(string)
		c.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
		s.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/scim-tokens", Token: a.owner.Access})
		list := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/webhooks/" + hook["id"].(string) + "/deliveries?limit=100", Token: a.owner.Access, Header: apptest.OrgHeader(a.id)})
		seen := map[string]bool{}
		for _, d := range list["data"].([]any) {
			seen[d.(map[string]any)["event_type"].(string)] = true
		}
		for _, want := range []string{"user.provisioned", "member.added", "member.removed", "scim_token.created"} {
			if !seen[want] {
				t.Fatalf("no %s delivery; saw %v", want, seen)
			}
		}
	})
}

// A SCIM token acts with a person's rights: an API key cannot make one,
// and a token whose creator may no longer manage members stops working.
func TestSCIMTokenCreator(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := newOrg(t, s, "owner@keys.example")
		key := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: a.owner.Access, Header: apptest.OrgHeader(a.id), ContentType: "application/json",
			Body: `{"name":"ops","permissions":[{"entity_type":"organizations","entity_id":"` + a.id + `","name":"members","action":"read+write","permission":[]}]}`})["secret"].(string)
		apptest.Problem(t, s.Do(apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/scim-tokens", Token: key}), 403)

		// An admin's token works while they are an admin, and no longer once
		// they are a viewer (403 in SCIM's shape).
		admin := s.AddStoreMember(a.id, "Admin", "admin@keys.example", "bc3df1fb-ffb9-4081-bf3f-5137caebbd42", nil)
		tok := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations/" + a.id + "/scim-tokens", Token: admin.Token})["token"].(string)
		c := idp{t, s.URL, tok}
		c.must(200, "GET", "/Users", "")
		// Nor may it give more than the admin holds: owner.
		id := c.must(201, "POST", "/Users", `{"userName":"zed@keys.example"}`)["id"].(string)
		scimError(t, c.do("PATCH", "/Groups/9cd7c08e-7a5f-4d6a-8a86-b28b4a538c70", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`), 403, "")
		s.Must(200, apptest.Req{Method: "PUT", Path: "/v1/members/" + admin.UserID + "/permissions", Token: a.owner.Access, Header: apptest.OrgHeader(a.id),
			Body: map[string]any{"role": "viewer", "permissions": []any{}}})
		scimError(t, c.do("GET", "/Users", ""), 403, "")
	})
}
