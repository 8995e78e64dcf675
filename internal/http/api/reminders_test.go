package api_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var rmLinkRe = regexp.MustCompile(`/invitations/([A-Za-z0-9_-]{20,100})`)

// TestInvitationReminders runs two processes on one database with real SMTP
// and one test clock: a reminder goes out once, with the same link, only
// while the invitation is pending and unexpired.
func TestInvitationReminders(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		sink := apptest.StartSMTP(t)
		dsn := e.NewDSN(t)
		a := apptest.New(t, e, apptest.Options{DSN: dsn, SMTPURL: sink.URL()})
		b := apptest.New(t, e, apptest.Options{DSN: dsn, SMTPURL: sink.URL(), Clock: a.Clock})
		ctx := context.Background()
		owner, _ := a.Signup("Olivia Owner", "olivia@example.com")
		org := a.CreateOrg(owner, "Acme Video")
		signIn := func() {
			out := a.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "olivia@example.com", "password": "a long enough password"}})
			owner = out["access_token"].(string)
		}
		do := func(srv *apptest.Server, method, path string, body any) *apptest.Response {
			return srv.Do(apptest.Req{Method: method, Path: path, Token: owner, Header: apptest.OrgHeader(org), Body: body})
		}
		policy := "/v1/organizations/" + org + "/policy"
		deliver := func() {
			t.Helper()
			for _, srv := range []*apptest.Server{a, b} {
				for {
					n, err := srv.Worker.RunOnce(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
			}
		}
		// race runs the reminder round in both processes, 8 times each, at
		// once, and answers how many reminders were sent in all.
		race := func() int {
			t.Helper()
			var mu sync.Mutex
			var wg sync.WaitGroup
			total := 0
			for i := range 16 {
				srv := a
				if i%2 == 1 {
					srv = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := srv.Services.Invitations.SendDueReminders(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}()
			}
			wg.Wait()
			deliver()
			return total
		}
		reminders := func(addr string) []apptest.SMTPMessage {
			var out []apptest.SMTPMessage
			for _, m := range sink.To(addr) {
				if strings.HasPrefix(m.Subject(), "Reminder: ") {
					out = append(out, m)
				}
			}
			return out
		}

		apptest.Status(t, 400, do(a, "PATCH", policy, map[string]any{"remind_after_days": 0}))
		apptest.Status(t, 400, do(a, "PATCH", policy, map[string]any{"remind_after_days": 31}))
		apptest.Status(t, 400, do(a, "PATCH", policy, map[string]any{"remind_after_days": "soon"}))
		p := apptest.Status(t, 200, do(a, "PATCH", policy, map[string]any{"remind_after_days": 2}))
		if p["remind_after_days"] != float64(2) {
			t.Fatalf("policy %v", p)
		}
		apptest.Status(t, 201, do(a, "POST", "/v1/members/invitations", map[string]any{"email": "rita@example.com", "role": "viewer"}))
		apptest.Status(t, 201, do(b, "POST", "/v1/members/invitations", map[string]any{"email": "exp@example.com", "role": "viewer", "expires_in_days": 1}))
		apptest.Status(t, 201, do(a, "POST", "/v1/members/invitations", map[string]any{"email": "acc@example.com", "role": "viewer"}))
		apptest.Status(t, 201, do(a, "POST", "/v1/members/invitations", map[string]any{"email": "rev@example.com", "role": "viewer"}))
		deliver()
		first := sink.To("rita@example.com")
		if len(first) != 1 {
			t.Fatalf("%d invitation mails over SMTP", len(first))
		}
		link := rmLinkRe.FindStringSubmatch(first[0].Text())
		if link == nil {
			t.Fatalf("no link in %s", first[0].Data)
		}

		t.Run("ErrNotBeforeDue", func(t *testing.T) {
			a.Clock.Advance(47 * time.Hour)
			if n := race(); n != 0 {
				t.Fatalf("%d reminders a day early", n)
			}
		})
		// Accepted and revoked invitations are never reminded.
		signIn()
		acc, _ := a.Signup("Acc Eptor", "acc@example.com")
		accLink := rmLinkRe.FindStringSubmatch(sink.To("acc@example.com")[0].Text())
		a.Must(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + accLink[1] + "/accept", Token: acc})
		list := apptest.Status(t, 200, do(a, "GET", "/v1/members/invitations?email=rev@example.com", nil))
		rev := list["data"].([]any)[0].(map[string]any)["id"].(string)
		apptest.Status(t, 204, do(a, "DELETE", "/v1/members/invitations/"+rev, nil))

		t.Run("OnceAcrossProcesses", func(t *testing.T) {
			a.Clock.Advance(2 * time.Hour)
			if n := race(); n != 1 {
				t.Fatalf("%d reminders sent by two processes racing, want 1", n)
			}
			rs := reminders("rita@example.com")
			if len(rs) != 1 {
				t.Fatalf("%d reminders received", len(rs))
			}
			again := rmLinkRe.FindStringSubmatch(rs[0].Text())
			if again == nil || again[1] != link[1] {
				t.Fatalf("the reminder's link differs: %v vs %v", again, link)
			}
			if n := len(a.AuditEvents(org, "invitation.reminded")); n != 1 {
				t.Fatalf("%d audit events", n)
			}
			// The link still works: the reminder is the same invitation.
			a.Must(200, apptest.Req{Method: "GET", Path: "/v1/invitations/" + link[1]})
		})
		t.Run("ErrNeverTwice", func(t *testing.T) {
			a.Clock.Advance(3 * 24 * time.Hour)
			if n := race(); n != 0 {
				t.Fatalf("%d more reminders", n)
			}
			if n := len(reminders("rita@example.com")); n != 1 {
				t.Fatalf("%d reminders received", n)
			}
		})
		t.Run("ErrNotAfterExpiry", func(t *testing.T) {
			// exp@ expired after one day, before its reminder was due.
			if n := len(reminders("exp@example.com")); n != 0 {
				t.Fatalf("%d reminders of an expired invitation", n)
			}
			for _, addr := range []string{"acc@example.com", "rev@example.com"} {
				if n := len(reminders(addr)); n != 0 {
					t.Fatalf("%d reminders to %s", n, addr)
				}
			}
		})
		t.Run("PolicyReschedulesAndTurnsOff", func(t *testing.T) {
			signIn()
			apptest.Status(t, 201, do(a, "POST", "/v1/members/invitations", map[string]any{"email": "late@example.com", "role": "viewer"}))
			apptest.Status(t, 201, do(a, "POST", "/v1/members/invitations", map[string]any{"email": "off@example.com", "role": "viewer"}))
			// Moved to 4 days: nothing at 3.
			apptest.Status(t, 200, do(a, "PATCH", policy, map[string]any{"remind_after_days": 4}))
			a.Clock.Advance(3*24*time.Hour + time.Hour)
			if n := race(); n != 0 {
				t.Fatalf("%d reminders before the new delay", n)
			}
			a.Clock.Advance(24 * time.Hour)
			signIn()
			apptest.Status(t, 200, do(a, "PATCH", policy, map[string]any{"remind_after_days": nil}))
			if n := race(); n != 0 {
				t.Fatalf("%d reminders with reminders off", n)
			}
			apptest.Status(t, 200, do(a, "PATCH", policy, map[string]any{"remind_after_days": 4}))
			if n := race(); n != 2 {
				t.Fatalf("%d reminders once on again, want 2", n)
			}
		})
	})
}
