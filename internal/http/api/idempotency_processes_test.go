package api_test

import (
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestIdempotencyAcrossProcesses sends the first use of one key through two
// servers on one database at once: one invitation, one mail, and every
// answer is the created one (first or replayed) or 409 in flight. On SQLite
// the two servers share one file, as two processes would.
func TestIdempotencyAcrossProcesses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		dsn := e.NewDSN(t)
		a := apptest.New(t, e, apptest.Options{DSN: dsn})
		b := apptest.New(t, e, apptest.Options{DSN: dsn, Clock: a.Clock})
		owner, _ := a.Signup("Olivia Owner", "olivia@example.com")
		org := a.CreateOrg(owner, "Acme Video")
		for round, key := range []string{"cross-1", "cross-2", "cross-3"} {
			email := "race" + key + "@example.com"
			body := map[string]any{"email": email, "role": "viewer"}
			const n = 12
			codes := make([]int, n)
			bodies := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				srv := a
				if i%2 == 1 {
					srv = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := srv.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: owner, Body: body,
						Header: map[string]string{"X-Organization-Id": org, "Idempotency-Key": key}})
					codes[i], bodies[i] = r.Status, string(r.Body)
				}()
			}
			close(start)
			wg.Wait()
			created := ""
			for i, c := range codes {
				switch c {
				case 201:
					if created != "" && bodies[i] != created {
						t.Fatalf("round %d: two different 201 answers:\n%s\n%s", round, created, bodies[i])
					}
					created = bodies[i]
				case 409:
				default:
					t.Fatalf("round %d: codes %v: want only 201 and 409 (%s)", round, codes, bodies[i])
				}
			}
			if created == "" {
				t.Fatalf("round %d: nobody got 201: %v", round, codes)
			}
			if got := len(a.MailTo(email)); got != 1 {
				t.Fatalf("round %d: %d invitation mails under one key (codes %v)", round, got, codes)
			}
			list := apptest.Status(t, 200, b.Do(apptest.Req{Method: "GET", Path: "/v1/members/invitations?email=" + email, Token: owner, Header: apptest.OrgHeader(org)}))
			if len(list["data"].([]any)) != 1 {
				t.Fatalf("round %d: list %v", round, list)
			}
			// Afterwards each process replays the stored answer.
			for _, srv := range []*apptest.Server{a, b} {
				r := srv.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: owner, Body: body,
					Header: map[string]string{"X-Organization-Id": org, "Idempotency-Key": key}})
				if r.Status != 201 || string(r.Body) != created || r.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("round %d: replay %d %s", round, r.Status, r.Body)
				}
			}
		}
	})
}
