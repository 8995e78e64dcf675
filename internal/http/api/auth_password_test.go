package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAuthForgotPassword(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		resetToken := func(t *testing.T, srv *apptest.Server, email string) string {
			t.Helper()
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", email))
			out := srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", email, "otp", srv.LastCode(email)))
			tok, _ := out["reset_token"].(string)
			if !strings.HasPrefix(tok, service.ResetTokenPrefix) || len(tok) < len(service.ResetTokenPrefix)+43 || out["expires_in"] != float64(900) {
				t.Fatalf("reset answer: %v", out)
			}
			return tok
		}
		set := func(srv *apptest.Server, token, pw string) *apptest.Response {
			return srv.Do(apptest.Post("/v1/auth/forgot-password/set", "reset_token", token, "password", pw))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.WarmToken(t, srv, a.Access)
			apptest.WarmToken(t, srv, b.Access)
			tok := resetToken(t, srv, "Ada@Example.com")
			if resp := set(srv, tok, "a brand new password"); resp.Status != 204 {
				t.Fatalf("set: %d %s", resp.Status, resp.Body)
			}
			// Every session ended, on the very next request.
			apptest.TokenAlive(t, srv, a.Access, false)
			apptest.TokenAlive(t, srv, b.Access, false)
			apptest.RefreshRefused(t, srv, a.Refresh)
			apptest.RefreshRefused(t, srv, b.Refresh)
			apptest.LoginRefused(t, srv, "ada@example.com", apptest.TestPassword)
			srv.SignIn("ada@example.com", "a brand new password")
			// The reset token was single use.
			apptest.Problem(t, set(srv, tok, "yet another password"), 400)
			srv.SignIn("ada@example.com", "a brand new password")
		})
		t.Run("OKUnknownEmailAlike", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			known := srv.Do(apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			unknown := srv.Do(apptest.Post("/v1/auth/forgot-password", "email", "nobody@example.com"))
			if known.Status != 202 || unknown.Status != 202 || string(known.Body) != string(unknown.Body) {
				t.Fatalf("known: %d %s; unknown: %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
			}
			if ms := srv.MailTo("nobody@example.com"); len(ms) != 0 {
				t.Fatalf("mail to an unknown address: %v", ms)
			}
			if ms := srv.MailTo("ada@example.com"); len(ms) != 2 {
				t.Fatalf("%d mails to ada, want 2 (verification and reset)", len(ms))
			}
		})
		t.Run("OKUnverifiedAccount", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			tok := resetToken(t, srv, "ada@example.com")
			srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
			// The reset code proved the mailbox.
			srv.SignIn("ada@example.com", "a brand new password")
		})
		t.Run("ErrResetTokenExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			tok := resetToken(t, srv, "ada@example.com")
			srv.Clock.Advance(service.ResetTokenTTL)
			apptest.Problem(t, set(srv, tok, "a brand new password"), 400)
			// Nothing changed: the password and the session still work.
			srv.SignIn("ada@example.com", apptest.TestPassword)
			srv.RefreshTokens(a.Refresh)
		})
		t.Run("OKResetTokenJustBeforeExpiry", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			tok := resetToken(t, srv, "ada@example.com")
			srv.Clock.Advance(service.ResetTokenTTL - time.Second)
			srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
		})
		t.Run("ErrWeakPasswordKeepsToken", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			tok := resetToken(t, srv, "ada@example.com")
			for _, pw := range []string{"", "short", "qwertyuiop", strings.Repeat("x", 129)} {
				apptest.Problem(t, set(srv, tok, pw), 400)
			}
			srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
		})
		t.Run("ErrBadResetToken", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tok := range []string{"", "nope", "gh_rs_" + strings.Repeat("A", 43), "\x00"} {
				p := apptest.Problem(t, set(srv, tok, "a brand new password"), 400)
				if !strings.Contains(string(auJSON(t, p["errors"])), "reset_token") {
					t.Fatalf("errors do not name reset_token: %v", p)
				}
			}
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("ErrWrongCode", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			code := srv.LastCode("ada@example.com")
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", apptest.WrongCode(code))), 400)
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "nobody@example.com", "otp", code)), 400)
			srv.Clock.Advance(service.OTPTTL)
			apptest.Problem(t, srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", code)), 400)
		})
	})
}

func TestAuthSetPassword(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			if me := srv.Must(200, apptest.GetAs("/v1/me", p.Access)); me["has_password"] != false {
				t.Fatalf("me: %v", me)
			}
			apptest.LoginRefused(t, srv, "pat@example.com", "a chosen password")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: apptest.Fields("password", "a chosen password")})
			if me := srv.Must(200, apptest.GetAs("/v1/me", p.Access)); me["has_password"] != true {
				t.Fatalf("me: %v", me)
			}
			srv.SignIn("pat@example.com", "a chosen password")
			apptest.TokenAlive(t, srv, p.Access, true)
		})
		t.Run("ErrAlreadySet", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: a.Access, Body: apptest.Fields("password", "a chosen password")}), 409, "password_already_set")
			srv.SignIn("ada@example.com", apptest.TestPassword)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: apptest.Fields("password", "a chosen password")})
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: apptest.Fields("password", "another chosen one")}), 409, "password_already_set")
		})
		t.Run("ErrWeakPassword", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			for _, pw := range []string{"", "short", "qwertyuiop", strings.Repeat("x", 129)} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: apptest.Fields("password", pw)}), 400)
			}
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: apptest.Fields("password", "a chosen password")})
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Body: apptest.Fields("password", "a chosen password")}), 401, "unauthenticated")
		})
	})
}

func TestAuthChangePassword(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		change := func(srv *apptest.Server, token, current, next string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: token, Body: apptest.Fields("current_password", current, "new_password", next)})
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.WarmToken(t, srv, a.Access)
			apptest.WarmToken(t, srv, b.Access)
			if resp := change(srv, a.Access, apptest.TestPassword, "a brand new password"); resp.Status != 204 {
				t.Fatalf("change: %d %s", resp.Status, resp.Body)
			}
			apptest.TokenAlive(t, srv, b.Access, false) // other sessions end at once
			apptest.RefreshRefused(t, srv, b.Refresh)
			apptest.TokenAlive(t, srv, a.Access, true) // this one stays
			srv.RefreshTokens(a.Refresh)
			apptest.LoginRefused(t, srv, "ada@example.com", apptest.TestPassword)
			srv.SignIn("ada@example.com", "a brand new password")
		})
		t.Run("ErrWrongCurrent", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.ProblemCode(t, change(srv, a.Access, "not the password", "a brand new password"), 403, "wrong_password")
			apptest.TokenAlive(t, srv, b.Access, true)
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("ErrThrottled", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for range 5 {
				apptest.ProblemCode(t, change(srv, a.Access, "not the password", "a brand new password"), 403, "wrong_password")
			}
			wait := apptest.RetryAfter(t, change(srv, a.Access, apptest.TestPassword, "a brand new password"))
			srv.Clock.Advance(wait)
			apptest.Status(t, 204, change(srv, a.Access, apptest.TestPassword, "a brand new password"))
		})
		t.Run("ErrPasswordless", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			apptest.ProblemCode(t, change(srv, p.Access, "anything at all", "a brand new password"), 403, "wrong_password")
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tc := range []struct{ name, current, next, field string }{
				{"no current", "", "a brand new password", "current_password"},
				{"no new", apptest.TestPassword, "", "new_password"},
				{"short new", apptest.TestPassword, "short", "new_password"},
				{"long new", apptest.TestPassword, strings.Repeat("x", 129), "new_password"},
				{"common new", apptest.TestPassword, "1q2w3e4r5t", "new_password"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := apptest.Problem(t, change(srv, a.Access, tc.current, tc.next), 400)
					if !strings.Contains(string(auJSON(t, p["errors"])), `"field":"`+tc.field+`"`) {
						t.Fatalf("errors do not name %s: %v", tc.field, p["errors"])
					}
				})
			}
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
	})
}

func TestAuthAccountExists(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		exists := func(srv *apptest.Server, email string) *apptest.Response {
			return srv.Do(apptest.Post("/v1/auth/account-exists", "email", email))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			for email, want := range map[string]bool{"ada@example.com": true, " ADA@Example.com ": true, "nobody@example.com": false} {
				if out := apptest.Status(t, 200, exists(srv, email)); out["exists"] != want {
					t.Fatalf("%q: %v, want exists %v", email, out, want)
				}
			}
		})
		t.Run("ErrRateLimited", func(t *testing.T) {
			srv := apptest.New(t, e)
			n := 0
			var resp *apptest.Response
			for ; n < 100; n++ {
				if resp = exists(srv, fmt.Sprintf("u%d@example.com", n)); resp.Status != 200 {
					break
				}
			}
			if n < 5 || n == 100 {
				t.Fatalf("%d look-ups allowed, want a limit of at least 5 and below 100", n)
			}
			wait := apptest.RetryAfter(t, resp)
			srv.Clock.Advance(wait)
			apptest.Status(t, 200, exists(srv, "again@example.com"))
		})
		t.Run("ErrBadEmail", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, email := range []string{"", "ada", "ada@", "@example.com", "ada@example", "Ada <ada@example.com>", "a\x00@example.com"} {
				apptest.Problem(t, exists(srv, email), 400)
			}
		})
	})
}
