package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// env is a running Gatehouse with an owner, an organization and a receiver.
type env struct {
	*apptest.Server
	token, org string
	rc         *receiver
}

func newEnv(t *testing.T, e storetest.Engine, opts ...apptest.Options) *env {
	o := apptest.Options{WebhooksAllowPrivate: true}
	if len(opts) > 0 {
		o = opts[0]
		o.WebhooksAllowPrivate = true
	}
	s := apptest.New(t, e, o)
	s.Webhooks.Interval = 20 * time.Millisecond
	token, _ := s.Signup("Owner", "owner@example.com")
	org := s.CreateOrg(token, "Acme")
	return &env{Server: s, token: token, org: org, rc: newReceiver(t, s.Clock)}
}

// start runs the server's webhook worker until the test ends.
func (v *env) start(t *testing.T) {
	v.Webhooks.Start()
	t.Cleanup(v.Webhooks.Stop)
}

// endpoint creates an endpoint at url for events and gives the receiver its secret.
func (v *env) endpoint(url string, events ...string) map[string]any {
	v.TB.Helper()
	out := v.Must(201, apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: v.token, Header: apptest.OrgHeader(v.org),
		Body: map[string]any{"url": url, "events": events, "description": "test receiver"}})
	v.rc.setSecret(out["secret"].(string))
	return out
}

// relogin signs the owner in again (after the clock jumped past the
// access token's life).
func (v *env) relogin() {
	v.token = v.SignIn("owner@example.com", "a long enough password").Access
}

func (v *env) req(method, path string, body any) apptest.Req {
	return apptest.Req{Method: method, Path: path, Token: v.token, Header: apptest.OrgHeader(v.org), Body: body}
}

// The done criterion: an endpoint subscribed to member.* and invitation.*
// receives, signed and verifiable, every event of the guide's flow —
// invite, accept, permissions edited, removed — each within a second.
func TestSeedFlowDelivered(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		v := newEnv(t, e)
		v.start(t)
		ep := v.endpoint(v.rc.URL+"/hooks", "member.*", "invitation.*")
		project := v.CreateProject(v.token, v.org, "Videos") // project.created: not subscribed

		step := func(action func(), want ...string) {
			t.Helper()
			before := len(v.rc.events())
			start := time.Now()
			action()
			if !waitFor(time.Second, func() bool { return len(v.rc.events()) >= before+len(want) }) {
				t.Logf("logs:\n%s", v.Logs.String())
				t.Fatalf("after 1s the receiver has %d events, want %d more: %+v", len(v.rc.events()), len(want), v.rc.events())
			}
			got := v.rc.events()[before:]
			var types []string
			for _, r := range got {
				if !r.Valid {
					t.Errorf("%s: signature does not verify: %q", r.Type, r.Sigs)
				}
				if r.Payload["organization_id"] != v.org || r.Payload["id"] != r.ID {
					t.Errorf("%s payload %v", r.Type, r.Payload)
				}
				types = append(types, r.Type)
			}
			if strings.Join(types, ",") != strings.Join(want, ",") && !sameSet(types, want) {
				t.Fatalf("received %v, want %v", types, want)
			}
			t.Logf("%v delivered in %v", want, time.Since(start))
		}
		memberToken, member := v.Signup("Mia", "mia@example.com")
		step(func() { v.Invite(v.token, v.org, map[string]any{"email": "mia@example.com", "role": "viewer"}) }, "invitation.created")
		step(func() {
			v.Must(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + v.LastInvitationToken("mia@example.com") + "/accept", Token: memberToken})
		}, "invitation.accepted", "member.added")
		uid := member["id"].(string)
		step(func() {
			v.Must(200, v.req("PUT", "/v1/members/"+uid+"/permissions", map[string]any{"permissions": []any{
				map[string]any{"entity_type": "projects", "entity_id": project, "name": "full-access", "action": "write+read+delete", "permission": []any{}}}}))
		}, "member.updated")
		step(func() { v.Must(204, v.req("DELETE", "/v1/members/"+uid, nil)) }, "member.removed")

		var accepted received
		for _, r := range v.rc.events() {
			if r.Type == "invitation.accepted" {
				accepted = r
			}
		}
		if d := accepted.Payload["data"].(map[string]any); d["object"] != "invitation" || d["email"] != "mia@example.com" {
			t.Errorf("invitation.accepted data %v", d)
		}
		if a := accepted.Payload["actor"].(map[string]any); a["kind"] != "user" || a["id"] != uid {
			t.Errorf("actor %v", a)
		}
		// The log shows each delivery, succeeded on the first attempt.
		var n int
		waitFor(time.Second, func() bool {
			list := v.Must(200, v.req("GET", "/v1/webhooks/"+ep["id"].(string)+"/deliveries?status=succeeded", nil))
			n = len(list["data"].([]any))
			return n == 5
		})
		if n != 5 {
			t.Fatalf("log lists %d succeeded deliveries, want 5", n)
		}
		noSecretLeak(t, v, ep["secret"].(string))
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// noSecretLeak checks that secret appears in no answer after creation, no
// log line and no database row.
func noSecretLeak(t *testing.T, v *env, secret string) {
	t.Helper()
	key := strings.TrimPrefix(secret, webhook.SecretPrefix)
	list := v.Do(v.req("GET", "/v1/webhooks", nil))
	if bytes.Contains(list.Body, []byte(key)) {
		t.Error("secret in the list answer")
	}
	if strings.Contains(v.Logs.String(), key) {
		t.Error("secret in the logs")
	}
	for _, dv := range v.DBValues() {
		if bytes.Contains(dv.Value, []byte(key)) {
			t.Errorf("secret in the database: %s.%s", dv.Table, dv.Column)
		}
	}
}

func TestCreateRefusesPrivateAddresses(t *testing.T) {
	s := apptest.New(t, storetest.SQLite()) // no WebhooksAllowPrivate
	token, _ := s.Signup("Owner", "owner@example.com")
	org := s.CreateOrg(token, "Acme")
	for url, reason := range map[string]string{
		"http://127.0.0.1:8080/hook":          "webhook_url_private",
		"https://127.0.0.1/hook":              "webhook_url_private",
		"https://localhost/hook":              "webhook_url_private",
		"https://10.1.2.3/hook":               "webhook_url_private",
		"https://192.168.0.10/hook":           "webhook_url_private",
		"https://169.254.169.254/latest/meta": "webhook_url_private",
		"https://[::1]/hook":                  "webhook_url_private",
		"https://[fd00:ec2::254]/hook":        "webhook_url_private",
		"https://[::ffff:10.0.0.1]/hook":      "webhook_url_private",
		"https://0.0.0.0/hook":                "webhook_url_private",
		"http://93.184.216.34/hook":           "webhook_url_invalid", // public, but http
		"ftp://93.184.216.34/hook":            "webhook_url_invalid",
		"https://user:pw@93.184.216.34/hook":  "webhook_url_invalid",
		"not a url":                           "webhook_url_invalid",
		"https://name.invalid/hook":           "webhook_url_unresolvable",
	} {
		resp := s.Do(apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: token, Header: apptest.OrgHeader(org),
			Body: map[string]any{"url": url, "events": []string{"*"}}})
		p := apptest.Problem(t, resp, 422)
		if p["code"] != reason {
			t.Errorf("%s: code %v, want %s", url, p["code"], reason)
		}
	}
	for _, events := range [][]string{{}, {"nope"}, {"member"}, {"unknown.*"}, {"member.added", "MEMBER.*"}} {
		resp := s.Do(apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: token, Header: apptest.OrgHeader(org),
			Body: map[string]any{"url": "https://93.184.216.34/hook", "events": events}})
		apptest.Problem(t, resp, 400)
	}
	ok := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/webhooks", Token: token, Header: apptest.OrgHeader(org),
		Body: map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"member.*"}}})
	if !strings.HasPrefix(ok["secret"].(string), "whsec_") {
		t.Fatalf("secret %v", ok["secret"])
	}
	// Another organization's endpoint is 404.
	other := s.CreateOrg(token, "Other")
	resp := s.Do(apptest.Req{Method: "GET", Path: "/v1/webhooks/" + ok["id"].(string), Token: token, Header: apptest.OrgHeader(other)})
	apptest.Problem(t, resp, 404)
	got := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/webhooks/" + ok["id"].(string), Token: token, Header: apptest.OrgHeader(org)})
	if _, has := got["secret"]; has {
		t.Fatal("secret shown after creation")
	}
}

// Delivery refuses private addresses too (DNS may change after the check),
// and never follows redirects.
func TestDeliveryRefusesPrivateAndRedirects(t *testing.T) {
	v := newEnv(t, storetest.SQLite())
	target := newReceiver(t, v.Clock)
	v.rc.answer = func(n int, w http.ResponseWriter) bool {
		w.Header().Set("Location", target.URL+"/elsewhere")
		w.WriteHeader(http.StatusFound)
		return true
	}
	ep := v.endpoint(v.rc.URL, "member.*")
	v.Invite(v.token, v.org, map[string]any{"email": "a@example.com", "role": "viewer"}) // not subscribed
	v.CreateProject(v.token, v.org, "P")
	mustStoreEvent(t, v, "member.updated")
	if _, err := v.Webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(v.rc.events()) != 1 || len(target.events()) != 0 {
		t.Fatalf("receiver %d, redirect target %d: want 1 and 0", len(v.rc.events()), len(target.events()))
	}
	d := onlyDelivery(t, v, ep["id"].(string))
	if d["status"] != "pending" || d["last_status_code"] != float64(302) || !strings.Contains(d["last_error"].(string), "redirects are not followed") {
		t.Fatalf("after a redirect: %v", d)
	}

	// The same endpoint, delivered by a worker that refuses private addresses.
	v.Webhooks.Client = webhook.NewClient(false)
	v.Clock.Advance(time.Minute)
	if _, err := v.Webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(v.rc.events()) != 1 {
		t.Fatal("a private address was reached")
	}
	d = onlyDelivery(t, v, ep["id"].(string))
	if d["attempts"] != float64(2) || !strings.Contains(d["last_error"].(string), "address refused") {
		t.Fatalf("after a refused address: %v", d)
	}
}

// mustStoreEvent commits an audit event and its webhooks directly, as a
// service's audit writer does.
func mustStoreEvent(t *testing.T, v *env, action string) {
	t.Helper()
	err := v.Store.Tx(context.Background(), func(tx *store.Conn) error {
		e := &gatehouse.AuditEvent{OrgID: v.org, ActorKind: gatehouse.ActorSystem, Action: action, TargetType: "member", TargetID: "u1", CreatedAt: v.Clock.Now()}
		if err := tx.WriteAudit(context.Background(), e); err != nil {
			return err
		}
		_, err := tx.EnqueueWebhooks(context.Background(), e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func onlyDelivery(t *testing.T, v *env, endpointID string) map[string]any {
	t.Helper()
	list := v.Must(200, v.req("GET", "/v1/webhooks/"+endpointID+"/deliveries", nil))
	data := list["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("%d deliveries, want 1", len(data))
	}
	id := data[0].(map[string]any)["id"].(string)
	return v.Must(200, v.req("GET", "/v1/webhooks/"+endpointID+"/deliveries/"+id, nil))
}

// Failures first: a receiver that is down, slow, or answers 500 then 200.
func TestDeliveryRetries(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		v := newEnv(t, e)
		client := webhook.NewClient(true)
		client.Timeout = 200 * time.Millisecond
		v.Webhooks.Client = client
		ctx := context.Background()
		run := func() {
			t.Helper()
			if _, err := v.Webhooks.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// 500, then 200: retried after the backoff, one success logged.
		v.rc.answer = func(n int, w http.ResponseWriter) bool {
			if n == 1 {
				http.Error(w, "database on fire", http.StatusInternalServerError)
				return true
			}
			return false
		}
		ep := v.endpoint(v.rc.URL, "member.*")
		epID := ep["id"].(string)
		mustStoreEvent(t, v, "member.updated")
		run()
		d := onlyDelivery(t, v, epID)
		if d["status"] != "pending" || d["last_status_code"] != float64(500) || !strings.Contains(d["last_error"].(string), "database on fire") {
			t.Fatalf("after a 500: %v", d)
		}
		run() // not due yet
		if len(v.rc.events()) != 1 {
			t.Fatalf("retried before the backoff: %d", len(v.rc.events()))
		}
		v.Clock.Advance(10 * time.Second)
		run()
		d = onlyDelivery(t, v, epID)
		log := d["attempt_log"].([]any)
		if d["status"] != "succeeded" || len(log) != 2 || log[1].(map[string]any)["status_code"] != float64(204) {
			t.Fatalf("after 500 then 204: %v", d)
		}
		if got := v.rc.events(); got[0].ID != got[1].ID || !got[1].Valid {
			t.Fatal("the retry is not the same signed event")
		}

		// Slow: the attempt times out and is retried later.
		v.rc.answer = func(n int, w http.ResponseWriter) bool { time.Sleep(time.Second); return false }
		v.Must(204, v.req("DELETE", "/v1/webhooks/"+epID, nil))
		ep = v.endpoint(v.rc.URL, "member.*")
		epID = ep["id"].(string)
		mustStoreEvent(t, v, "member.added")
		run()
		d = onlyDelivery(t, v, epID)
		if d["status"] != "pending" || d["last_status_code"] != nil || !strings.Contains(d["last_error"].(string), "Timeout") {
			t.Fatalf("after a slow receiver: %v", d)
		}

		// Down: nothing listens; the error is logged, status code null.
		v.rc.Close()
		v.Clock.Advance(time.Minute)
		run()
		d = onlyDelivery(t, v, epID)
		if d["attempts"] != float64(2) || d["status"] != "pending" || d["last_error"] == "" {
			t.Fatalf("after a receiver down: %v", d)
		}
		// After 8 attempts it fails for good (a short schedule here, so the
		// endpoint is not disabled first); resend queues it again.
		v.Webhooks.Retry = []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute, time.Minute, time.Minute, time.Minute}
		for range 10 {
			v.Clock.Advance(2 * time.Minute)
			run()
		}
		v.relogin()
		d = onlyDelivery(t, v, epID)
		if d["status"] != "failed" || d["attempts"] != float64(8) {
			t.Fatalf("after every retry: status %v attempts %v", d["status"], d["attempts"])
		}
		out := v.Must(202, v.req("POST", "/v1/webhooks/"+epID+"/resend", map[string]any{"status": "failed"}))
		if out["queued"] != float64(1) {
			t.Fatalf("resend all: %v", out)
		}
		if d = onlyDelivery(t, v, epID); d["status"] != "pending" || d["attempts"] != float64(0) {
			t.Fatalf("after resend: %v", d)
		}
	})
}

// An endpoint failing for a day is disabled, with an audit event and the
// notification that its organization's subscriptions changed (each process
// drops those it keeps); a disabled endpoint gets nothing; enabling it
// again delivers what waited.
func TestDisable(t *testing.T) {
	v := newEnv(t, storetest.SQLite())
	ctx := context.Background()
	var mu sync.Mutex
	announced := 0
	v.Store.Subscribe(func(msg string) {
		if msg == webhook.Changed(v.org) {
			mu.Lock()
			announced++
			mu.Unlock()
		}
	})
	fail := true
	v.rc.answer = func(n int, w http.ResponseWriter) bool {
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return fail
	}
	ep := v.endpoint(v.rc.URL, "*")
	epID := ep["id"].(string)
	mu.Lock()
	created := announced
	mu.Unlock()
	if created == 0 {
		t.Error("creating the endpoint announced no change of subscriptions")
	}
	mustStoreEvent(t, v, "member.updated")
	for range 8 {
		if _, err := v.Webhooks.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		v.Clock.Advance(6 * time.Hour)
	}
	v.relogin()
	got := v.Must(200, v.req("GET", "/v1/webhooks/"+epID, nil))
	if got["enabled"] != false || got["disabled_reason"] == nil {
		t.Fatalf("after a day of failures: %v", got)
	}
	if len(v.AuditEvents(v.org, "webhook_endpoint.disabled")) != 1 {
		t.Fatal("no audit event for the disabling")
	}
	mu.Lock()
	if announced != created+1 {
		t.Errorf("disabling announced %d changes of subscriptions, want 1", announced-created)
	}
	mu.Unlock()
	// Disabled: events queue but nothing is sent.
	n := len(v.rc.events())
	fail = false
	v.CreateProject(v.token, v.org, "While disabled")
	v.Clock.Advance(time.Minute)
	v.Webhooks.RunOnce(ctx)
	if len(v.rc.events()) != n {
		t.Fatal("a disabled endpoint received an event")
	}
	v.Must(200, v.req("PATCH", "/v1/webhooks/"+epID, map[string]any{"enabled": true}))
	v.Webhooks.RunOnce(ctx)
	if len(v.rc.events()) == n {
		t.Fatal("nothing delivered after enabling again")
	}
}

// A change that rolls back sends nothing.
func TestRolledBackChangeSendsNothing(t *testing.T) {
	v := newEnv(t, storetest.SQLite())
	v.endpoint(v.rc.URL, "member.*")
	err := v.Store.Tx(context.Background(), func(tx *store.Conn) error {
		e := &gatehouse.AuditEvent{OrgID: v.org, Action: "member.removed", CreatedAt: v.Clock.Now()}
		if err := tx.WriteAudit(context.Background(), e); err != nil {
			return err
		}
		if n, err := tx.EnqueueWebhooks(context.Background(), e); err != nil || n != 1 {
			return fmt.Errorf("queued %d: %v", n, err)
		}
		return fmt.Errorf("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatal(err)
	}
	v.Webhooks.RunOnce(context.Background())
	if len(v.rc.events()) != 0 {
		t.Fatalf("received %d events from rolled-back changes", len(v.rc.events()))
	}
}

// Rotation: both secrets sign for a day, then only the new one.
func TestRotateSecret(t *testing.T) {
	v := newEnv(t, storetest.SQLite())
	ep := v.endpoint(v.rc.URL, "*")
	old := ep["secret"].(string)
	rot := v.Must(200, v.req("POST", "/v1/webhooks/"+ep["id"].(string)+"/rotate-secret", nil))
	fresh := rot["secret"].(string)
	if fresh == old || rot["previous_secret_expires_at"] == nil {
		t.Fatalf("rotate: %v", rot)
	}
	mustStoreEvent(t, v, "member.updated")
	v.Webhooks.RunOnce(context.Background())
	r := v.rc.events()[len(v.rc.events())-1]
	if len(strings.Fields(r.Sigs)) != 2 || !r.Valid {
		t.Fatalf("signatures during the overlap: %q (old secret verifies: %v)", r.Sigs, r.Valid)
	}
	if !webhook.Verify(fresh, r.ID, r.TS, r.Sigs, r.Body, v.Clock.Now(), time.Minute) {
		t.Fatal("the new secret does not verify during the overlap")
	}
	v.rc.setSecret(fresh)
	v.Clock.Advance(25 * time.Hour)
	mustStoreEvent(t, v, "member.added")
	v.Webhooks.RunOnce(context.Background())
	r = v.rc.events()[len(v.rc.events())-1]
	if len(strings.Fields(r.Sigs)) != 1 || !r.Valid {
		t.Fatalf("after the overlap: %q valid=%v", r.Sigs, r.Valid)
	}
	noSecretLeak(t, v, old)
	noSecretLeak(t, v, fresh)
}

// The default schedule: 8 attempts spread over about a day.
func TestRetrySchedule(t *testing.T) {
	var total time.Duration
	for _, d := range webhook.Retry {
		total += d
	}
	if len(webhook.Retry)+1 != 8 || total < 20*time.Hour || total > 26*time.Hour {
		t.Fatalf("%d attempts over %v", len(webhook.Retry)+1, total)
	}
}

// Two Gatehouse processes on one PostgreSQL database, each with its worker
// running: every event reaches the endpoint exactly once.
func TestTwoWorkersDeliverOnce(t *testing.T) {
	var pg storetest.Engine
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			pg = e
		}
	}
	if pg.Name == "" {
		t.Skip("GATEHOUSE_TEST_DATABASE_URL not set")
	}
	dsn := pg.NewDSN(t)
	clock := apptest.NewClock()
	a := newEnv(t, pg, apptest.Options{DSN: dsn, Clock: clock})
	b := apptest.New(t, pg, apptest.Options{DSN: dsn, Clock: clock, WebhooksAllowPrivate: true})
	b.Webhooks.Interval = 5 * time.Millisecond
	a.Webhooks.Interval = 5 * time.Millisecond
	a.Webhooks.Batch, b.Webhooks.Batch = 3, 3
	a.endpoint(a.rc.URL, "project.*")
	const n = 40
	for i := range n {
		a.CreateProject(a.token, a.org, fmt.Sprintf("P%d", i))
	}
	a.start(t)
	b.Webhooks.Start()
	t.Cleanup(b.Webhooks.Stop)
	if !waitFor(10*time.Second, func() bool { return len(a.rc.events()) >= n }) {
		t.Fatalf("received %d of %d", len(a.rc.events()), n)
	}
	time.Sleep(200 * time.Millisecond) // any duplicate would arrive now
	seen := map[string]int{}
	for _, r := range a.rc.events() {
		seen[r.ID]++
		if !r.Valid {
			t.Errorf("%s: bad signature", r.ID)
		}
	}
	if len(seen) != n || len(a.rc.events()) != n {
		t.Fatalf("%d requests for %d distinct events, want %d each once", len(a.rc.events()), len(seen), n)
	}
}

// /metrics shows attempts by outcome, the queue depth and the oldest
// pending delivery's age.
func TestMetrics(t *testing.T) {
	v := newEnv(t, storetest.SQLite())
	v.rc.answer = func(n int, w http.ResponseWriter) bool { w.WriteHeader(http.StatusInternalServerError); return true }
	v.endpoint(v.rc.URL, "member.*")
	mustStoreEvent(t, v, "member.added")
	mustStoreEvent(t, v, "member.updated")
	v.Webhooks.Batch = 1
	v.Webhooks.RunOnce(context.Background())
	v.Clock.Advance(90 * time.Second)
	resp := v.Do(apptest.Req{Method: "GET", Path: "/metrics"})
	body := string(resp.Body)
	for _, want := range []string{
		`gatehouse_webhook_delivery_attempts_total{outcome="retry"} 1`,
		`gatehouse_webhook_delivery_attempts_total{outcome="succeeded"} 0`,
		"gatehouse_webhook_deliveries_pending 2",
		"gatehouse_webhook_oldest_pending_seconds 90",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
