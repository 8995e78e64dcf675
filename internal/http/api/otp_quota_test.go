package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func fromIP(ip string) gatehouse.Actor { return gatehouse.Actor{IP: ip} }

// TestOTPQuotas: code quotas count per (address, client address), so
// nobody elsewhere can make the owner wait, under a per-address ceiling
// that stops a mail flood; wrong codes are throttled per client address
// across all accounts, in the database (shared by processes).
func TestOTPQuotas(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		register := func(srv *apptest.Server, email string) {
			srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"name": "Ada", "email": email, "password": "a long enough password"}})
		}
		t.Run("OKOthersDoNotBlockTheOwner", func(t *testing.T) {
			srv := apptest.New(t, e)
			register(srv, "ada@example.com")
			auth := srv.Services.Auth
			// Someone elsewhere asks five times over five minutes.
			for i := range 5 {
				if err := auth.ResendOTP(ctx, fromIP("198.51.100.7"), "ada@example.com", service.PurposeResetPassword); err != nil {
					t.Fatalf("stranger's request %d: %v", i, err)
				}
				srv.Clock.Advance(61 * time.Second)
			}
			// The sixth in the hour is held back: answered alike (no error, so
			// nothing tells that codes went out lately) but not sent.
			sent := len(srv.MailTo("ada@example.com"))
			if err := auth.ResendOTP(ctx, fromIP("198.51.100.7"), "ada@example.com", service.PurposeResetPassword); err != nil {
				t.Fatalf("stranger's sixth request in the hour: %v", err)
			}
			if n := len(srv.MailTo("ada@example.com")); n != sent {
				t.Fatalf("stranger's sixth request in the hour sent a code (%d mails, want %d)", n, sent)
			}
			// The owner, from an address that has not asked, gets a code at once.
			if err := auth.ResendOTP(ctx, fromIP("192.0.2.10"), "ada@example.com", service.PurposeResetPassword); err != nil {
				t.Fatalf("owner's request: %v", err)
			}
			tok := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/forgot-password/verify",
				Body: map[string]string{"email": "ada@example.com", "otp": srv.LastCode("ada@example.com")}})
			if tok["reset_token"] == nil {
				t.Fatalf("reset answer: %v", tok)
			}
		})
		t.Run("ErrAddressCeiling", func(t *testing.T) {
			srv := apptest.New(t, e)
			register(srv, "ada@example.com")
			auth := srv.Services.Auth
			for i := range service.OTPPerAddressHour {
				if err := auth.ResendOTP(ctx, fromIP(fmt.Sprintf("203.0.113.%d", i+1)), "ada@example.com", service.PurposeResetPassword); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			sent := len(srv.MailTo("ada@example.com"))
			if err := auth.ResendOTP(ctx, fromIP("192.0.2.99"), "ada@example.com", service.PurposeResetPassword); err != nil {
				t.Fatalf("request past the per-address ceiling: %v", err)
			}
			if n := len(srv.MailTo("ada@example.com")); n != sent {
				t.Fatalf("request past the per-address ceiling sent a code (%d mails, want %d)", n, sent)
			}
			// Another address is not affected.
			register(srv, "bob@example.com")
			if err := auth.ResendOTP(ctx, fromIP("192.0.2.99"), "bob@example.com", service.PurposeResetPassword); err != nil {
				t.Fatalf("another address: %v", err)
			}
		})
		t.Run("OKKilledCodeReplacedAtOnce", func(t *testing.T) {
			srv := apptest.New(t, e)
			register(srv, "ada@example.com")
			auth := srv.Services.Auth
			for range service.OTPMaxAttempts {
				if _, err := auth.VerifyEmail(ctx, fromIP("198.51.100.7"), "ada@example.com", "000000"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("wrong code: %v", err)
				}
			}
			srv.Clock.Advance(time.Minute) // the owner asked at registration, a minute ago
			srv.Must(202, apptest.Req{Method: "POST", Path: "/v1/auth/resend-otp", Body: map[string]string{"email": "ada@example.com", "purpose": "verify_email"}})
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/verify-email", Body: map[string]string{"email": "ada@example.com", "otp": srv.LastCode("ada@example.com")}})
		})
		t.Run("ErrWrongCodesPerClient", func(t *testing.T) {
			dsn := e.NewDSN(t)
			a := apptest.New(t, e, apptest.Options{DSN: dsn})
			clock := a.Clock
			b := apptest.New(t, e, apptest.Options{DSN: dsn, Clock: clock}) // a second process
			register(a, "victim@example.com")
			code := a.LastCode("victim@example.com")
			// Thirty wrong codes from one client, across accounts and processes.
			for i := range service.WrongCodesPerClient {
				srv := a
				if i%2 == 1 {
					srv = b
				}
				resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/verify-email",
					Body: map[string]string{"email": fmt.Sprintf("user%d@example.com", i%7), "otp": "123456"}})
				apptest.Problem(t, resp, 400)
			}
			for _, srv := range []*apptest.Server{a, b} {
				resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/verify-email", Body: map[string]string{"email": "victim@example.com", "otp": code}})
				apptest.Problem(t, resp, 429)
				if resp.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
			// Another client is not slowed; the owner's code still works.
			if _, err := a.Services.Auth.VerifyEmail(ctx, fromIP("192.0.2.10"), "victim@example.com", code); err != nil {
				t.Fatalf("another client: %v", err)
			}
			// Fifteen minutes on, the client may try again.
			clock.Advance(service.WrongCodesWindow)
			apptest.Problem(t, a.Do(apptest.Req{Method: "POST", Path: "/v1/auth/verify-email",
				Body: map[string]string{"email": "user1@example.com", "otp": "123456"}}), 400)
		})
	})
}
