package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

func orgGrant(orgID, name, action string) map[string]any {
	return map[string]any{"entity_type": "organizations", "entity_id": orgID, "name": name, "action": action, "permission": []any{}}
}

func projectGrant(projectID, area, action string) map[string]any {
	return map[string]any{"entity_type": "projects", "entity_id": projectID, "name": "custom", "action": "",
		"permission": []any{map[string]any{"name": area, "action": action}}}
}

// fixture is an organization with a project, a member allowed to read its
// settings, and an API key that manages members.
type fixture struct {
	srv                 *apptest.Server
	owner, org, project string
	devID, key          string
	read, write         client.CheckRequest
}

func newFixture(t *testing.T, e storetest.Engine) *fixture {
	srv := apptest.New(t, e, apptest.Options{WebhooksAllowPrivate: true})
	f := &fixture{srv: srv}
	f.owner, _ = srv.Signup("Owner", "owner@example.com")
	f.org = srv.CreateOrg(f.owner, "Acme")
	f.project = srv.CreateProject(f.owner, f.org, "Videos")
	_, dev := srv.InviteAndAccept(f.owner, f.org, "Dev", "dev@example.com",
		map[string]any{"permissions": []any{projectGrant(f.project, "settings", "read")}})
	f.devID = dev["id"].(string)
	k := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: f.owner, Header: apptest.OrgHeader(f.org),
		Body: map[string]any{"name": "svc", "permissions": []any{orgGrant(f.org, "members", ""),
			map[string]any{"entity_type": "projects", "entity_id": "*", "name": "full-access", "action": "", "permission": []any{}}}}})
	f.key = k["secret"].(string)
	f.read = client.CheckRequest{UserID: f.devID, EntityType: "projects", EntityID: f.project, Name: "settings", Action: "read"}
	f.write = f.read
	f.write.Action = "write"
	return f
}

func TestClientCalls(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		gh := client.New(f.srv.URL+"/", f.key)

		r, err := gh.Check(ctx, f.read)
		if err != nil || !r.Allowed || r.GrantedBy == "" {
			t.Fatalf("check read: %+v %v", r, err)
		}
		if r, err := gh.Check(ctx, f.write); err != nil || r.Allowed || r.GrantedBy != "" {
			t.Fatalf("check write: %+v %v", r, err)
		}
		rs, err := gh.CheckBatch(ctx, []client.CheckRequest{f.write, f.read})
		if err != nil || len(rs) != 2 || rs[0].Allowed || !rs[1].Allowed {
			t.Fatalf("batch: %+v %v", rs, err)
		}
		if _, err := gh.CheckBatch(ctx, make([]client.CheckRequest, client.MaxBatch+1)); err == nil {
			t.Fatal("oversized batch sent")
		}
		// Bad input is Gatehouse's 400 problem, typed.
		_, err = gh.Check(ctx, client.CheckRequest{EntityType: "planets", EntityID: "x", Name: "settings", Action: "read"})
		if ce, ok := err.(*client.Error); !ok || ce.Status != 400 || ce.Code == "" {
			t.Fatalf("bad check: %v", err)
		}
		// A wrong key is 401.
		if _, err := client.New(f.srv.URL, "gh_ak_nope").Check(ctx, f.read); err == nil || err.(*client.Error).Status != 401 {
			t.Fatalf("wrong key: %v", err)
		}

		ms, err := gh.ListMembers(ctx, "", client.ListOptions{Limit: 1})
		if err != nil || len(ms.Data) != 1 || ms.NextCursor == "" {
			t.Fatalf("members page: %+v %v", ms, err)
		}
		ms2, err := gh.ListMembers(ctx, "", client.ListOptions{Limit: 1, Cursor: ms.NextCursor})
		if err != nil || len(ms2.Data) != 1 || ms2.Data[0].UserID == ms.Data[0].UserID {
			t.Fatalf("members page 2: %+v %v", ms2, err)
		}
		if ms, err := gh.ListMembers(ctx, "dev@", client.ListOptions{}); err != nil || len(ms.Data) != 1 || ms.Data[0].UserID != f.devID {
			t.Fatalf("members q: %+v %v", ms, err)
		}
		m, err := gh.GetMember(ctx, f.devID)
		if err != nil || m.Email != "dev@example.com" || len(m.Permissions) != 1 {
			t.Fatalf("member: %+v %v", m, err)
		}
		if _, err := gh.GetMember(ctx, "00000000-0000-0000-0000-000000000000"); !client.IsNotFound(err) {
			t.Fatalf("unknown member: %v", err)
		}

		inv, err := gh.CreateInvitation(ctx, client.InvitationInput{Email: "new@example.com", Role: "viewer"})
		if err != nil || inv.ID == "" || inv.Status != "pending" || inv.OrganizationID != f.org {
			t.Fatalf("invite: %+v %v", inv, err)
		}
		if _, err := gh.CreateInvitation(ctx, client.InvitationInput{Email: "not an address", Role: "viewer"}); err == nil || err.(*client.Error).Status/100 != 4 {
			t.Fatalf("bad invite: %v", err)
		}
		if got, err := gh.GetInvitation(ctx, inv.ID); err != nil || got.Email != "new@example.com" {
			t.Fatalf("get invitation: %+v %v", got, err)
		}
		if p, err := gh.ListInvitations(ctx, "pending", "new@example.com", client.ListOptions{}); err != nil || len(p.Data) != 1 || p.Data[0].ID != inv.ID {
			t.Fatalf("list invitations: %+v %v", p, err)
		}
		if err := gh.RevokeInvitation(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := gh.GetInvitation(ctx, inv.ID); err != nil || got.Status != "revoked" {
			t.Fatalf("revoked invitation: %+v %v", got, err)
		}

		if err := gh.RemoveMember(ctx, f.devID); err != nil {
			t.Fatal(err)
		}
		if r, err := gh.Check(ctx, f.read); !client.IsNotFound(err) || r.Allowed {
			t.Fatalf("removed member: %+v %v", r, err)
		}
	})
}

// The Checker reuses decisions until a signed webhook event drops them;
// forged or stale deliveries change nothing.
func TestCheckerWebhookInvalidation(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		var k *client.Checker
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { k.WebhookHandler().ServeHTTP(w, r) }))
		defer recv.Close()
		ep := f.srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: f.owner, Header: apptest.OrgHeader(f.org),
			Body: map[string]any{"url": recv.URL, "events": []string{"member.*", "role.*"}}})
		secret := ep["secret"].(string)
		gh := client.New(f.srv.URL, f.key)
		var err error
		k, err = client.NewChecker(gh, client.CheckerOptions{TTL: time.Hour, WebhookSecret: secret, Now: f.srv.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := k.Allowed(ctx, f.read); err != nil || !ok {
			t.Fatalf("allowed: %v %v", ok, err)
		}
		if ok, err := k.Allowed(ctx, f.write); err != nil || ok {
			t.Fatalf("write allowed: %v %v", ok, err)
		}
		if k.Len() != 2 {
			t.Fatalf("cached %d decisions", k.Len())
		}

		// Forged and stale deliveries are refused and drop nothing.
		body := []byte(`{"type":"member.removed","data":{"object":"member","id":"` + f.devID + `"}}`)
		post := func(id, ts, sig string, body []byte) int {
			req, _ := http.NewRequest("POST", recv.URL, strings.NewReader(string(body)))
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		now := f.srv.Clock.Now()
		good, _ := webhook.Sign(secret, "evt_1", now, body)
		ts := func(t time.Time) string { return itoa(t.Unix()) }
		other, _ := webhook.Sign(webhook.NewSecret(), "evt_1", now, body)
		stale, _ := webhook.Sign(secret, "evt_1", now.Add(-time.Hour), body)
		for name, code := range map[string]int{
			"other secret":  post("evt_1", ts(now), other, body),
			"tampered body": post("evt_1", ts(now), good, []byte(strings.Replace(string(body), "removed", "updated", 1))),
			"other id":      post("evt_2", ts(now), good, body),
			"stale":         post("evt_1", ts(now.Add(-time.Hour)), stale, body),
			"no signature":  post("evt_1", ts(now), "", body),
		} {
			if code != 401 {
				t.Errorf("%s: status %d, want 401", name, code)
			}
		}
		if k.Len() != 2 {
			t.Fatalf("a refused delivery dropped decisions: %d left", k.Len())
		}

		// The member is removed: the cache still says yes until the
		// webhook arrives, then asks again and hears no.
		if err := gh.RemoveMember(ctx, f.devID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := k.Allowed(ctx, f.read); !ok {
			t.Fatal("cache dropped without an event (TTL is an hour)")
		}
		if _, err := f.srv.Webhooks.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if k.Len() != 0 {
			t.Fatalf("member.removed left %d decisions", k.Len())
		}
		if ok, err := k.Allowed(ctx, f.read); err != nil || ok {
			t.Fatalf("after member.removed: %v %v", ok, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRequirePermission(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		k, err := client.NewChecker(client.New(f.srv.URL, f.key), client.CheckerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resolve := func(r *http.Request) client.CheckRequest {
			q := f.read
			q.Action = r.URL.Query().Get("action")
			return q
		}
		app := httptest.NewServer(k.RequirePermission(resolve)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("secret settings"))
		})))
		defer app.Close()
		dead, _ := client.NewChecker(client.New("http://127.0.0.1:1", f.key), client.CheckerOptions{})
		down := httptest.NewServer(dead.RequirePermission(resolve)(http.NotFoundHandler()))
		defer down.Close()
		for _, c := range []struct {
			url  string
			want int
		}{
			{app.URL + "?action=read", 200},
			{app.URL + "?action=write", 403},
			{app.URL, 403},
			{down.URL + "?action=read", 503},
		} {
			resp, err := http.Get(c.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: %d, want %d", c.url, resp.StatusCode, c.want)
			}
		}
	})
}
