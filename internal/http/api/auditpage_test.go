package api_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestAuditFirstPageAtAge times the first page of GET /v1/audits over HTTP
// with 200 events in the organization's chain and again with 30,000: the
// second must cost at most twice the first plus 2 ms (medians of 21). It is
// a measurement, so it runs only with GATEHOUSE_MEASURE=1 (timings on a
// shared machine are not for every test run); the plan test in storetest
// checks the index behind it on every run.
func TestAuditFirstPageAtAge(t *testing.T) {
	if os.Getenv("GATEHOUSE_MEASURE") == "" {
		t.Skip("a timing: set GATEHOUSE_MEASURE=1 to run it")
	}
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		tok, _ := srv.Signup("Ada", "ada@example.com")
		org := srv.CreateOrg(tok, "Acme")
		seed := func(n int) {
			ctx := context.Background()
			for done := 0; done < n; done += 1000 {
				err := srv.Store.Tx(ctx, func(tx *store.Conn) error {
					for i := 0; i < min(1000, n-done); i++ {
						if err := tx.WriteAudit(ctx, &gatehouse.AuditEvent{OrgID: org, ActorKind: "user", ActorID: fmt.Sprint(i % 7),
							Action: "member.updated", TargetType: "member", TargetID: fmt.Sprint(i % 50)}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if e.Name == "postgres" {
				_ = srv.Store.Analyze(ctx, "audit_events")
			}
		}
		median := func(path string) time.Duration {
			var ds []time.Duration
			for range 21 {
				start := time.Now()
				srv.Must(200, apptest.Req{Method: "GET", Path: path, Token: tok, Header: apptest.OrgHeader(org)})
				ds = append(ds, time.Since(start))
			}
			slices.Sort(ds)
			return ds[len(ds)/2]
		}
		measure := func() map[string]time.Duration {
			return map[string]time.Duration{
				"first page":    median("/v1/audits?limit=25"),
				"actor filter":  median("/v1/audits?limit=25&actor_id=3"),
				"action prefix": median("/v1/audits?limit=25&action=member."),
				"target filter": median("/v1/audits?limit=25&target_type=member&target_id=7"),
			}
		}
		seed(200 - 2) // sign-up and organization wrote some already
		small := measure()
		seed(30_000 - 200)
		large := measure()
		for k, s := range small {
			l := large[k]
			t.Logf("%s: %s at ~200 events, %s at ~30,000 (%.2f×)", k, s, l, float64(l)/float64(s))
			if l > 2*s+2*time.Millisecond {
				t.Errorf("%s: %s at 30,000 events is more than twice %s (+2 ms)", k, l, s)
			}
		}
	})
}
