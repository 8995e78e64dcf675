package api_test

import (
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		post := func(key string, body any) *apptest.Response {
			r := w.req("POST", "/v1/members/invitations", w.owner, body)
			r.Header = map[string]string{"X-Organization-Id": w.org, "Idempotency-Key": key}
			return srv.Do(r)
		}
		t.Run("ErrReusedWithAnotherBody", func(t *testing.T) {
			first := apptest.Status(t, 201, post("k-mismatch", map[string]any{"email": "idem1@example.com", "role": "viewer"}))
			apptest.ProblemCode(t, post("k-mismatch", map[string]any{"email": "idem2@example.com", "role": "viewer"}), 422, "idempotency_key_reused")
			if len(srv.MailTo("idem2@example.com")) != 0 {
				t.Fatal("the mismatched request ran")
			}
			_ = first
		})
		t.Run("Replay", func(t *testing.T) {
			body := map[string]any{"email": "replay@example.com", "role": "viewer"}
			a := post("k-replay", body)
			b := post("k-replay", body)
			apptest.Status(t, 201, a)
			apptest.Status(t, 201, b)
			if string(a.Body) != string(b.Body) || b.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay differs:\n%s\n%s", a.Body, b.Body)
			}
			if n := len(srv.MailTo("replay@example.com")); n != 1 {
				t.Fatalf("%d mails: the replay ran again", n)
			}
			// Without the key, the second is a real duplicate.
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations", w.owner, body), 409, "invitation_pending")
			// A refusal is kept and replayed too.
			apptest.ProblemCode(t, post("k-refused", map[string]any{"email": "bad"}), 400, "invalid")
			apptest.ProblemCode(t, post("k-refused", map[string]any{"email": "bad"}), 400, "invalid")
		})
		t.Run("ErrConcurrentFirstUse", func(t *testing.T) {
			body := map[string]any{"email": "race@example.com", "role": "viewer"}
			const n = 10
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = post("k-race", body).Status
				}()
			}
			wg.Wait()
			for _, c := range codes {
				if c != 201 && c != 409 {
					t.Fatalf("codes %v: want only 201 (first or replay) and 409 (in flight)", codes)
				}
			}
			if got := len(srv.MailTo("race@example.com")); got != 1 {
				t.Fatalf("%d invitations created under one key (codes %v)", got, codes)
			}
			list := w.must(t, 200, "GET", "/v1/members/invitations?email=race@example.com", w.owner, nil)
			if len(list["data"].([]any)) != 1 {
				t.Fatalf("list %v", list)
			}
		})
		t.Run("PerCaller", func(t *testing.T) {
			// Another caller's same key is theirs alone.
			other, _ := srv.Signup("Otto Other", "otto@example.com")
			r := apptest.Req{Method: "POST", Path: "/v1/organizations", Token: other, Body: map[string]any{"name": "Otto Co"},
				Header: map[string]string{"Idempotency-Key": "k-replay"}}
			apptest.Status(t, 201, srv.Do(r))
			again := srv.Do(r)
			apptest.Status(t, 201, again)
			if again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatal("organization create not replayed")
			}
		})
	})
}
