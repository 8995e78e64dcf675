package api_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestAuthStory walks register → verify → login → refresh → logout.
func TestAuthStory(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			out := srv.Must(201, apptest.Post("/v1/auth/register", "name", " Ada Lovelace ", "email", "  Ada@Example.COM \t", "password", apptest.TestPassword))
			u := out["user"].(map[string]any)
			if u["email"] != "Ada@Example.COM" || u["name"] != "Ada Lovelace" || u["email_verified"] != false || u["has_password"] != true || u["id"] == "" {
				t.Fatalf("registered user: %v", u)
			}
			apptest.ProblemCode(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword)), 403, "email_not_verified")

			code := srv.LastCode("ada@example.com")
			v := srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", "ADA@example.com ", "otp", code))
			if vu := v["user"].(map[string]any); vu["email_verified"] != true || vu["id"] != u["id"] {
				t.Fatalf("verified user: %v", vu)
			}

			tok := srv.SignIn(" ada@EXAMPLE.com", apptest.TestPassword)
			if tok.Body["token_type"] != "Bearer" || tok.Body["expires_in"] != float64(900) || tok.User["id"] != u["id"] || tok.User["email_verified"] != true {
				t.Fatalf("login: %v", tok.Body)
			}
			check := srv.Must(200, apptest.GetAs("/v1/auth/api-access-check", tok.Access))
			if check["id"] != u["id"] || check["email"] != "Ada@Example.COM" {
				t.Fatalf("api-access-check: %v", check)
			}

			rot := srv.RefreshTokens(tok.Refresh)
			if rot.Access == tok.Access || rot.Refresh == tok.Refresh || rot.SessionID != tok.SessionID || rot.Body["expires_in"] != float64(900) {
				t.Fatalf("refresh did not rotate: %v", rot.Body)
			}
			apptest.TokenAlive(t, srv, tok.Access, false)
			apptest.TokenAlive(t, srv, rot.Access, true)

			if resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: rot.Access}); resp.Status != 204 {
				t.Fatalf("logout: %d %s", resp.Status, resp.Body)
			}
			apptest.TokenAlive(t, srv, rot.Access, false)
			apptest.RefreshRefused(t, srv, rot.Refresh)
			// The account itself still works.
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
	})
}

func TestAuthRegister(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			out := srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			id := out["user"].(map[string]any)["id"].(string)

			var hash string
			if err := srv.Store.ReaderDB().QueryRow(`SELECT password_hash FROM users WHERE id = $1`, id).Scan(&hash); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{32,}$`).MatchString(hash) {
				t.Fatalf("password hash %q is not argon2id in PHC format", hash)
			}
			ms := srv.MailTo("ada@example.com")
			if len(ms) != 1 || ms[0].Kind != "user" || ms[0].RefID != id {
				t.Fatalf("want one verification mail about the user, got %+v", ms)
			}
			if !regexp.MustCompile(`\b\d{6}\b`).MatchString(ms[0].Text) {
				t.Fatalf("no 6-digit code in %q", ms[0].Text)
			}
		})
		t.Run("OKPasswordLengthBounds", func(t *testing.T) {
			srv := apptest.New(t, e)
			for i, pw := range []string{
				"k7#pQ2!zLm",                     // 10 characters
				strings.Repeat("xY7$", 32),       // 128 characters
				"ñøþ€ßðæ¿¡§",                     // 10 characters, 24 bytes
				strings.Repeat("€b3", 42) + "zz", // 128 characters, 296 bytes
			} {
				email := fmt.Sprintf("u%d@example.com", i)
				srv.Must(201, apptest.Post("/v1/auth/register", "name", "U", "email", email, "password", pw))
				srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", email, "otp", srv.LastCode(email)))
				srv.SignIn(email, pw)
			}
		})
		t.Run("ErrEmailTaken", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			for _, email := range []string{"ada@example.com", "ADA@Example.Com", "  ada@example.com  "} {
				apptest.ProblemCode(t, srv.Do(apptest.Post("/v1/auth/register", "name", "Eve", "email", email, "password", "another long password")), 409, "email_taken")
			}
			// The first account is untouched.
			srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
			srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.LoginRefused(t, srv, "ada@example.com", "another long password")
		})
		t.Run("ErrEmailTakenConcurrently", func(t *testing.T) {
			srv := apptest.New(t, e)
			const n = 6
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					email := "race@example.com"
					if i%2 == 1 {
						email = "RACE@example.com"
					}
					statuses[i] = srv.Do(apptest.Post("/v1/auth/register", "name", "R", "email", email, "password", apptest.TestPassword)).Status
				})
			}
			wg.Wait()
			created := 0
			for _, s := range statuses {
				switch s {
				case 201:
					created++
				case 409:
				default:
					t.Fatalf("statuses %v: want only 201 and 409", statuses)
				}
			}
			if created != 1 {
				t.Fatalf("statuses %v: want exactly one 201", statuses)
			}
		})
		t.Run("ErrPassword", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, tc := range []struct{ name, pw string }{
				{"empty", ""},
				{"9 characters", "k7#pQ2!zL"},
				{"9 characters in 18 bytes", "ñøþ€ßðæ¿¡"},
				{"129 characters", strings.Repeat("xY7$", 32) + "q"},
				{"common", "qwertyuiop"},
				{"common in other case", "PassWord1234"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", tc.pw)), 400)
					if !strings.Contains(string(auJSON(t, p["errors"])), `"field":"password"`) {
						t.Fatalf("errors do not name password: %v", p["errors"])
					}
				})
			}
			if ms := srv.MailTo("ada@example.com"); len(ms) != 0 {
				t.Fatalf("refused registrations queued mail: %v", ms)
			}
			// Nothing was created: the address is still free.
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
		})
	})
}

func TestAuthOTP(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		register := func(t *testing.T, srv *apptest.Server, email string) string {
			t.Helper()
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", email, "password", apptest.TestPassword))
			return srv.LastCode(email)
		}
		verify := func(srv *apptest.Server, email, code string) *apptest.Response {
			return srv.Do(apptest.Post("/v1/auth/verify-email", "email", email, "otp", code))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			var stored string
			if err := srv.Store.ReaderDB().QueryRow(`SELECT code_hash FROM otps`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored == code || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(stored) {
				t.Fatalf("code stored in clear: %q", stored)
			}
			apptest.Status(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("OKJustBeforeExpiry", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			srv.Clock.Advance(service.OTPTTL - time.Second)
			apptest.Status(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("ErrExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			srv.Clock.Advance(10 * time.Minute)
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)
			// A new code can be asked for and works.
			srv.Must(202, apptest.Post("/v1/auth/resend-otp", "email", "ada@example.com", "purpose", "verify_email"))
			apptest.Status(t, 200, verify(srv, "ada@example.com", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrSingleUse", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			apptest.Status(t, 200, verify(srv, "ada@example.com", code))
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)

			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			reset := srv.LastCode("ada@example.com")
			srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", reset))
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", reset)), 400)
		})
		t.Run("OKFourWrongTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			for range service.OTPMaxAttempts - 1 {
				apptest.Problem(t, verify(srv, "ada@example.com", apptest.WrongCode(code)), 400)
			}
			apptest.Status(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("ErrFiveWrongTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			for range service.OTPMaxAttempts {
				apptest.Problem(t, verify(srv, "ada@example.com", apptest.WrongCode(code)), 400)
			}
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)
			// Not a lock-out: a new code (after the resend interval) works.
			srv.Clock.Advance(time.Minute)
			srv.Must(202, apptest.Post("/v1/auth/resend-otp", "email", "ada@example.com", "purpose", "verify_email"))
			apptest.Status(t, 200, verify(srv, "ada@example.com", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrFiveWrongResetTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			code := srv.LastCode("ada@example.com")
			for range service.OTPMaxAttempts {
				apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", apptest.WrongCode(code))), 400)
			}
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", code)), 400)
			srv.Clock.Advance(time.Minute)
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrPurposesSeparate", func(t *testing.T) {
			srv := apptest.New(t, e)
			verifyCode := register(t, srv, "ada@example.com")
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			resetCode := srv.LastCode("ada@example.com")
			if resetCode == verifyCode {
				t.Skip("the two random codes happen to be equal")
			}
			apptest.Problem(t, verify(srv, "ada@example.com", resetCode), 400)
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", verifyCode)), 400)
			// Each still works for its own purpose.
			apptest.Status(t, 200, verify(srv, "ada@example.com", verifyCode))
			srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", resetCode))
		})
		t.Run("ErrOtherAddress", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			register(t, srv, "eve@example.com")
			apptest.Problem(t, verify(srv, "eve@example.com", code), 400)
			apptest.Problem(t, verify(srv, "nobody@example.com", code), 400)
		})
	})
}

func TestAuthResendOTP(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		resend := func(srv *apptest.Server, email, purpose string) *apptest.Response {
			return srv.Do(apptest.Post("/v1/auth/resend-otp", "email", email, "purpose", purpose))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			srv.Clock.Advance(time.Minute)
			apptest.Status(t, 202, resend(srv, "ADA@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 2 {
				t.Fatalf("%d mails, want 2", n)
			}
			srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("OKOncePerMinuteSilently", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			// Held back, but answered as sent: a refusal would tell that a
			// code went out lately (at sign-up).
			apptest.Status(t, 202, resend(srv, "ada@example.com", "verify_email"))
			srv.Clock.Advance(time.Minute - time.Second)
			apptest.Status(t, 202, resend(srv, " Ada@Example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 1 {
				t.Fatalf("%d mails, want 1 (held-back resends send nothing)", n)
			}
			srv.Clock.Advance(time.Second)
			apptest.Status(t, 202, resend(srv, "ada@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 2 {
				t.Fatalf("%d mails, want 2", n)
			}
		})
		t.Run("OKFivePerHourSilently", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			for range 5 {
				srv.Clock.Advance(time.Minute)
				apptest.Status(t, 202, resend(srv, "ada@example.com", "verify_email"))
			}
			if n := len(srv.MailTo("ada@example.com")); n != 5 {
				t.Fatalf("%d mails, want 5", n)
			}
			// The other purpose and other addresses have budgets of their own.
			apptest.Status(t, 202, resend(srv, "ada@example.com", "reset_password"))
			if n := len(srv.MailTo("ada@example.com")); n != 6 {
				t.Fatalf("%d mails, want 6 (the reset code)", n)
			}
			// An hour after the first code, codes go out again.
			srv.Clock.Advance(55 * time.Minute)
			apptest.Status(t, 202, resend(srv, "ada@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 7 {
				t.Fatalf("%d mails, want 7", n)
			}
			srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("OKUnknownAddressAlike", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, purpose := range []string{"verify_email", "reset_password"} {
				apptest.Status(t, 202, resend(srv, "nobody@example.com", purpose))
				apptest.Status(t, 202, resend(srv, "nobody@example.com", purpose))
			}
			if ms := srv.MailTo("nobody@example.com"); len(ms) != 0 {
				t.Fatalf("mail queued to an unknown address: %v", ms)
			}
		})
		t.Run("OKVerifiedAddressNoMail", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(time.Minute)
			apptest.Status(t, 202, resend(srv, "ada@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 1 {
				t.Fatalf("%d mails, want 1: a verified address gets no new verification code", n)
			}
		})
		t.Run("ErrPurpose", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, p := range []string{"", "login", "VERIFY_EMAIL"} {
				apptest.Problem(t, resend(srv, "ada@example.com", p), 400)
			}
		})
	})
}
