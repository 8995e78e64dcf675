package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

const auPW = apptest.TestPassword

func auBody(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func auPost(path string, kv ...string) apptest.Req {
	return apptest.Req{Method: "POST", Path: path, Body: auBody(kv...)}
}

// auGet is an authenticated GET.
func auGet(path, token string) apptest.Req {
	return apptest.Req{Method: "GET", Path: path, Token: token}
}

// auStatus fails the test unless resp has status want; it returns the JSON body, if any.
func auStatus(t *testing.T, want int, resp *apptest.Response) map[string]any {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status %d, want %d: %s", resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(t)
}

// auRetryAfter checks a 429 problem and returns its Retry-After.
func auRetryAfter(t *testing.T, resp *apptest.Response) time.Duration {
	t.Helper()
	apptest.Problem(t, resp, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

// auCode checks a problem's machine-readable code.
func auCode(t *testing.T, resp *apptest.Response, status int, code string) {
	t.Helper()
	p := apptest.Problem(t, resp, status)
	if p["code"] != code {
		t.Fatalf("problem code %v, want %s: %s", p["code"], code, resp.Body)
	}
}

// auWrong returns a 6-digit code other than code.
func auWrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func auSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// auAlive asserts that an access token works (or not) on the very next request.
func auAlive(t *testing.T, srv *apptest.Server, token string, want bool) {
	t.Helper()
	resp := srv.Do(auGet("/v1/auth/api-access-check", token))
	switch {
	case want && resp.Status != 200:
		t.Fatalf("token refused: %d %s", resp.Status, resp.Body)
	case !want:
		auCode(t, resp, 401, "invalid_token")
	}
}

// auWarm makes the server see a token twice, so that its session is cached.
func auWarm(t *testing.T, srv *apptest.Server, token string) {
	t.Helper()
	auAlive(t, srv, token, true)
	auAlive(t, srv, token, true)
}

func auRefreshRefused(t *testing.T, srv *apptest.Server, refresh string) {
	t.Helper()
	auCode(t, srv.Do(auPost("/v1/auth/refresh", "refresh_token", refresh)), 401, "invalid_refresh_token")
}

func auLoginRefused(t *testing.T, srv *apptest.Server, email, pw string) {
	t.Helper()
	auCode(t, srv.Do(auPost("/v1/auth/login", "email", email, "password", pw)), 401, "invalid_credentials")
}

// TestAuthStory walks register → verify → login → refresh → logout.
func TestAuthStory(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			out := srv.Must(201, auPost("/v1/auth/register", "name", " Ada Lovelace ", "email", "  Ada@Example.COM \t", "password", auPW))
			u := out["user"].(map[string]any)
			if u["email"] != "Ada@Example.COM" || u["name"] != "Ada Lovelace" || u["email_verified"] != false || u["has_password"] != true || u["id"] == "" {
				t.Fatalf("registered user: %v", u)
			}
			auCode(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW)), 403, "email_not_verified")

			code := srv.LastCode("ada@example.com")
			v := srv.Must(200, auPost("/v1/auth/verify-email", "email", "ADA@example.com ", "otp", code))
			if vu := v["user"].(map[string]any); vu["email_verified"] != true || vu["id"] != u["id"] {
				t.Fatalf("verified user: %v", vu)
			}

			tok := srv.SignIn(" ada@EXAMPLE.com", auPW)
			if tok.Body["token_type"] != "Bearer" || tok.Body["expires_in"] != float64(900) || tok.User["id"] != u["id"] || tok.User["email_verified"] != true {
				t.Fatalf("login: %v", tok.Body)
			}
			check := srv.Must(200, auGet("/v1/auth/api-access-check", tok.Access))
			if check["id"] != u["id"] || check["email"] != "Ada@Example.COM" {
				t.Fatalf("api-access-check: %v", check)
			}

			rot := srv.RefreshTokens(tok.Refresh)
			if rot.Access == tok.Access || rot.Refresh == tok.Refresh || rot.SessionID != tok.SessionID || rot.Body["expires_in"] != float64(900) {
				t.Fatalf("refresh did not rotate: %v", rot.Body)
			}
			auAlive(t, srv, tok.Access, false)
			auAlive(t, srv, rot.Access, true)

			if resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: rot.Access}); resp.Status != 204 {
				t.Fatalf("logout: %d %s", resp.Status, resp.Body)
			}
			auAlive(t, srv, rot.Access, false)
			auRefreshRefused(t, srv, rot.Refresh)
			// The account itself still works.
			srv.SignIn("ada@example.com", auPW)
		})
	})
}

func TestAuthRegister(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			out := srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
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
				srv.Must(201, auPost("/v1/auth/register", "name", "U", "email", email, "password", pw))
				srv.Must(200, auPost("/v1/auth/verify-email", "email", email, "otp", srv.LastCode(email)))
				srv.SignIn(email, pw)
			}
		})
		t.Run("ErrEmailTaken", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			for _, email := range []string{"ada@example.com", "ADA@Example.Com", "  ada@example.com  "} {
				auCode(t, srv.Do(auPost("/v1/auth/register", "name", "Eve", "email", email, "password", "another long password")), 409, "email_taken")
			}
			// The first account is untouched.
			srv.Must(200, auPost("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
			srv.SignIn("ada@example.com", auPW)
			auLoginRefused(t, srv, "ada@example.com", "another long password")
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
					statuses[i] = srv.Do(auPost("/v1/auth/register", "name", "R", "email", email, "password", auPW)).Status
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
					p := apptest.Problem(t, srv.Do(auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", tc.pw)), 400)
					if !strings.Contains(string(auJSON(t, p["errors"])), `"field":"password"`) {
						t.Fatalf("errors do not name password: %v", p["errors"])
					}
				})
			}
			if ms := srv.MailTo("ada@example.com"); len(ms) != 0 {
				t.Fatalf("refused registrations queued mail: %v", ms)
			}
			// Nothing was created: the address is still free.
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
		})
	})
}

func TestAuthOTP(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		register := func(t *testing.T, srv *apptest.Server, email string) string {
			t.Helper()
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", email, "password", auPW))
			return srv.LastCode(email)
		}
		verify := func(srv *apptest.Server, email, code string) *apptest.Response {
			return srv.Do(auPost("/v1/auth/verify-email", "email", email, "otp", code))
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
			auStatus(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("OKJustBeforeExpiry", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			srv.Clock.Advance(service.OTPTTL - time.Second)
			auStatus(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("ErrExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			srv.Clock.Advance(10 * time.Minute)
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)
			// A new code can be asked for and works.
			srv.Must(202, auPost("/v1/auth/resend-otp", "email", "ada@example.com", "purpose", "verify_email"))
			auStatus(t, 200, verify(srv, "ada@example.com", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrSingleUse", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			auStatus(t, 200, verify(srv, "ada@example.com", code))
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)

			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			reset := srv.LastCode("ada@example.com")
			srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", reset))
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", reset)), 400)
		})
		t.Run("OKFourWrongTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			for range service.OTPMaxAttempts - 1 {
				apptest.Problem(t, verify(srv, "ada@example.com", auWrong(code)), 400)
			}
			auStatus(t, 200, verify(srv, "ada@example.com", code))
		})
		t.Run("ErrFiveWrongTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			code := register(t, srv, "ada@example.com")
			for range service.OTPMaxAttempts {
				apptest.Problem(t, verify(srv, "ada@example.com", auWrong(code)), 400)
			}
			apptest.Problem(t, verify(srv, "ada@example.com", code), 400)
			// Not a lock-out: a new code (after the resend interval) works.
			srv.Clock.Advance(time.Minute)
			srv.Must(202, auPost("/v1/auth/resend-otp", "email", "ada@example.com", "purpose", "verify_email"))
			auStatus(t, 200, verify(srv, "ada@example.com", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrFiveWrongResetTries", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			code := srv.LastCode("ada@example.com")
			for range service.OTPMaxAttempts {
				apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", auWrong(code))), 400)
			}
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", code)), 400)
			srv.Clock.Advance(time.Minute)
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("ErrPurposesSeparate", func(t *testing.T) {
			srv := apptest.New(t, e)
			verifyCode := register(t, srv, "ada@example.com")
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			resetCode := srv.LastCode("ada@example.com")
			if resetCode == verifyCode {
				t.Skip("the two random codes happen to be equal")
			}
			apptest.Problem(t, verify(srv, "ada@example.com", resetCode), 400)
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", verifyCode)), 400)
			// Each still works for its own purpose.
			auStatus(t, 200, verify(srv, "ada@example.com", verifyCode))
			srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", resetCode))
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
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		resend := func(srv *apptest.Server, email, purpose string) *apptest.Response {
			return srv.Do(auPost("/v1/auth/resend-otp", "email", email, "purpose", purpose))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			srv.Clock.Advance(time.Minute)
			auStatus(t, 202, resend(srv, "ADA@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 2 {
				t.Fatalf("%d mails, want 2", n)
			}
			srv.Must(200, auPost("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("OKOncePerMinuteSilently", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			// Held back, but answered as sent: a refusal would tell that a
			// code went out lately (at sign-up).
			auStatus(t, 202, resend(srv, "ada@example.com", "verify_email"))
			srv.Clock.Advance(time.Minute - time.Second)
			auStatus(t, 202, resend(srv, " Ada@Example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 1 {
				t.Fatalf("%d mails, want 1 (held-back resends send nothing)", n)
			}
			srv.Clock.Advance(time.Second)
			auStatus(t, 202, resend(srv, "ada@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 2 {
				t.Fatalf("%d mails, want 2", n)
			}
		})
		t.Run("OKFivePerHourSilently", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			for range 5 {
				srv.Clock.Advance(time.Minute)
				auStatus(t, 202, resend(srv, "ada@example.com", "verify_email"))
			}
			if n := len(srv.MailTo("ada@example.com")); n != 5 {
				t.Fatalf("%d mails, want 5", n)
			}
			// The other purpose and other addresses have budgets of their own.
			auStatus(t, 202, resend(srv, "ada@example.com", "reset_password"))
			if n := len(srv.MailTo("ada@example.com")); n != 6 {
				t.Fatalf("%d mails, want 6 (the reset code)", n)
			}
			// An hour after the first code, codes go out again.
			srv.Clock.Advance(55 * time.Minute)
			auStatus(t, 202, resend(srv, "ada@example.com", "verify_email"))
			if n := len(srv.MailTo("ada@example.com")); n != 7 {
				t.Fatalf("%d mails, want 7", n)
			}
			srv.Must(200, auPost("/v1/auth/verify-email", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
		})
		t.Run("OKUnknownAddressAlike", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, purpose := range []string{"verify_email", "reset_password"} {
				auStatus(t, 202, resend(srv, "nobody@example.com", purpose))
				auStatus(t, 202, resend(srv, "nobody@example.com", purpose))
			}
			if ms := srv.MailTo("nobody@example.com"); len(ms) != 0 {
				t.Fatalf("mail queued to an unknown address: %v", ms)
			}
		})
		t.Run("OKVerifiedAddressNoMail", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(time.Minute)
			auStatus(t, 202, resend(srv, "ada@example.com", "verify_email"))
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

func TestAuthLogin(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", auPW)
			// 256-bit HMACs under the secret key; the refresh token names its
			// session and generation.
			tokenRe := regexp.MustCompile(`^(gh_at_|gh_rt_[0-9a-f-]{36}\.0\.)[0-9a-f]{64}$`)
			for _, tok := range []string{a.Access, a.Refresh, b.Access, b.Refresh} {
				if !tokenRe.MatchString(tok) {
					t.Fatalf("token %q is not a prefixed 256-bit token", tok)
				}
			}
			if a.Access == b.Access || a.Refresh == b.Refresh || a.SessionID == b.SessionID {
				t.Fatal("two sign-ins share tokens or a session")
			}
			if !strings.HasPrefix(a.Access, service.AccessTokenPrefix) || !strings.HasPrefix(a.Refresh, service.RefreshTokenPrefix) {
				t.Fatalf("token prefixes: %s %s", a.Access, a.Refresh)
			}
			// Stored only as SHA-256.
			var access, refresh string
			if err := srv.Store.ReaderDB().QueryRow(`SELECT access_hash, refresh_hash FROM sessions WHERE id = $1`, a.SessionID).Scan(&access, &refresh); err != nil {
				t.Fatal(err)
			}
			if access != auSHA(a.Access) || refresh != auSHA(a.Refresh) {
				t.Fatalf("stored %s %s, want the SHA-256 of the tokens", access, refresh)
			}
		})
		t.Run("ErrSameAnswer", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.PasswordlessUser("Pat", "pat@example.com")
			var first *apptest.Response
			var firstBody map[string]any
			for _, tc := range []struct{ name, email, pw string }{
				{"unknown email", "nobody@example.com", auPW},
				{"wrong password", "ada@example.com", "not the password"},
				{"wrong password, other case", "ADA@example.com", "not the password"},
				{"account without password", "pat@example.com", auPW},
			} {
				resp := srv.Do(auPost("/v1/auth/login", "email", tc.email, "password", tc.pw))
				auCode(t, resp, 401, "invalid_credentials")
				body := resp.JSON(t)
				delete(body, "request_id")
				if first == nil {
					first, firstBody = resp, body
					continue
				}
				if fmt.Sprint(body) != fmt.Sprint(firstBody) || resp.Header.Get("Content-Type") != first.Header.Get("Content-Type") ||
					resp.Header.Get("WWW-Authenticate") != first.Header.Get("WWW-Authenticate") {
					t.Fatalf("%s answers %v, unknown email answers %v", tc.name, body, firstBody)
				}
			}
		})
		t.Run("ErrUnverified", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			auCode(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW)), 403, "email_not_verified")
			// Without the right password, nothing is revealed about the account.
			auLoginRefused(t, srv, "ada@example.com", "not the password")
		})
		t.Run("OKEveryFailureCostsAHash", func(t *testing.T) {
			// Not parallel: it measures allocation, and argon2 allocates its
			// whole memory parameter per hash. A failure that skipped the
			// hash would allocate almost nothing.
			testLoginFailuresHash(t, e)
		})
	})
}

// testLoginFailuresHash proves, without timing anything, that an unknown
// email and a wrong password both run the password hasher: with argon2 set
// to 8 MiB, each attempt must allocate at least that much. A throttled
// attempt, which runs no hash, is the control.
func testLoginFailuresHash(t *testing.T, e storetest.Engine) {
	srv := apptest.New(t, e)
	const mem = 8 << 10 // KiB
	svc := service.New(srv.Store, service.Config{BaseURL: srv.Config.BaseURL, Key: srv.Key, Now: srv.Clock.Now,
		Hasher: secret.NewHasher(secret.Argon2Params{Memory: mem, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 2)})
	ctx := context.Background()
	actor := gatehouse.Actor{IP: "192.0.2.1"}
	if _, err := svc.Auth.Register(ctx, actor, service.RegisterInput{Name: "Ada", Email: "ada@example.com", Password: auPW}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Auth.VerifyEmail(ctx, actor, "ada@example.com", srv.LastCode("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	login := func(email, pw string) (allocated uint64, err error) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err = svc.Auth.Login(ctx, actor, email, pw)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, err
	}
	for _, tc := range []struct{ name, email, pw string }{
		{"unknown email", "nobody@example.com", auPW},
		{"wrong password", "ada@example.com", "not the password"},
	} {
		n, err := login(tc.email, tc.pw)
		if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n < mem<<10 {
			t.Fatalf("%s allocated %d bytes: the password hash (%d bytes) did not run", tc.name, n, mem<<10)
		}
	}
	for range 4 {
		if _, err := login("nobody@example.com", auPW); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Fatal(err)
		}
	}
	n, err := login("nobody@example.com", auPW)
	if gatehouse.ErrorCode(err) != gatehouse.ERATELIMITED {
		t.Fatalf("sixth failure: %v, want rate limited", err)
	}
	if n >= mem<<10 {
		t.Fatalf("control: a throttled attempt allocated %d bytes; the measure cannot tell a hash from none", n)
	}
}

func TestAuthLoginThrottle(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("ErrPerAccount", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.SignUpTokens("Bob", "bob@example.com", "")
			for i, email := range []string{"ada@example.com", "ADA@example.com", " ada@example.com", "Ada@Example.Com", "ada@example.com"} {
				if resp := srv.Do(auPost("/v1/auth/login", "email", email, "password", fmt.Sprint("wrong password ", i))); resp.Status != 401 {
					t.Fatalf("failure %d: %d %s", i+1, resp.Status, resp.Body)
				}
			}
			// Even the right password waits now.
			wait := auRetryAfter(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW)))
			if wait > time.Minute {
				t.Fatalf("Retry-After %v, want at most a minute", wait)
			}
			// Another account from the same address is not affected.
			srv.SignIn("bob@example.com", auPW)
			srv.Clock.Advance(wait)
			srv.SignIn("ada@example.com", auPW)
			// Success from this address starts its count again; the next
			// run of failures backs off for longer each time.
			for range 5 {
				auLoginRefused(t, srv, "ada@example.com", "wrong again")
			}
			first := auRetryAfter(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW)))
			srv.Clock.Advance(first)
			auLoginRefused(t, srv, "ada@example.com", "wrong once more")
			if second := auRetryAfter(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW))); second < 2*first-time.Second {
				t.Fatalf("backoff %v after %v: not doubling", second, first)
			}
		})
		t.Run("ErrPerIP", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			for i := range 20 {
				auLoginRefused(t, srv, fmt.Sprintf("nobody%d@example.com", i), auPW)
			}
			wait := auRetryAfter(t, srv.Do(auPost("/v1/auth/login", "email", "ada@example.com", "password", auPW)))
			srv.Clock.Advance(wait)
			srv.SignIn("ada@example.com", auPW)
		})
		t.Run("OKSuccessesNotCounted", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			for range 25 {
				srv.SignIn("ada@example.com", auPW)
			}
		})
	})
}

func TestAuthRefresh(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			auWarm(t, srv, a.Access)
			b := srv.RefreshTokens(a.Refresh)
			if b.User["email"] != "ada@example.com" || b.Body["token_type"] != "Bearer" {
				t.Fatalf("refresh answer: %v", b.Body)
			}
			auAlive(t, srv, a.Access, false) // the old access token dies at once
			auAlive(t, srv, b.Access, true)
			c := srv.RefreshTokens(b.Refresh)
			auAlive(t, srv, c.Access, true)
			// Still one session.
			if list := srv.Must(200, auGet("/v1/auth/sessions", c.Access)); len(list["data"].([]any)) != 1 {
				t.Fatalf("sessions after rotation: %v", list)
			}
		})
		t.Run("ErrReuseEndsSession", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			other := srv.SignIn("ada@example.com", auPW)
			b := srv.RefreshTokens(a.Refresh)
			auWarm(t, srv, b.Access)
			srv.Clock.Advance(service.RefreshGrace + time.Second)
			auRefreshRefused(t, srv, a.Refresh) // reuse
			auAlive(t, srv, b.Access, false)
			auRefreshRefused(t, srv, b.Refresh)
			// Only that session ended.
			auAlive(t, srv, other.Access, true)
			srv.RefreshTokens(other.Refresh)
		})
		t.Run("ErrAccessExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			auWarm(t, srv, a.Access)
			srv.Clock.Advance(service.AccessTokenTTL - time.Second)
			auAlive(t, srv, a.Access, true)
			srv.Clock.Advance(time.Second)
			auAlive(t, srv, a.Access, false)
			b := srv.RefreshTokens(a.Refresh)
			auAlive(t, srv, b.Access, true)
		})
		t.Run("ErrRefreshExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(service.RefreshTokenTTL - time.Minute)
			b := srv.RefreshTokens(a.Refresh)
			srv.Clock.Advance(service.RefreshTokenTTL)
			auRefreshRefused(t, srv, b.Refresh)
		})
		t.Run("ErrWrongToken", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tok := range []string{"nope", a.Access, "gh_rt_" + strings.Repeat("A", 43), strings.TrimPrefix(a.Refresh, "gh_rt_")} {
				auRefreshRefused(t, srv, tok)
			}
			// Tokens are not interchangeable.
			auAlive(t, srv, a.Refresh, false)
			// None of that harmed the session.
			srv.RefreshTokens(a.Refresh)
		})
	})
}

func TestAuthLogout(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			other := srv.SignIn("ada@example.com", auPW)
			auWarm(t, srv, a.Access)
			if resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access}); resp.Status != 204 {
				t.Fatalf("logout: %d %s", resp.Status, resp.Body)
			}
			auAlive(t, srv, a.Access, false)
			auRefreshRefused(t, srv, a.Refresh)
			auAlive(t, srv, other.Access, true)
		})
		t.Run("ErrTwice", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access})
			auCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access}), 401, "invalid_token")
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			auCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout"}), 401, "unauthenticated")
		})
	})
}

func TestAuthSessions(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(time.Minute)
			b := srv.SignIn("ada@example.com", auPW, map[string]string{"User-Agent": "Phone/1.0"})
			srv.Clock.Advance(time.Minute)
			auAlive(t, srv, b.Access, true)

			resp := srv.Do(auGet("/v1/auth/sessions", a.Access))
			if resp.Status != 200 {
				t.Fatalf("list: %d %s", resp.Status, resp.Body)
			}
			for _, secretValue := range []string{a.Access, a.Refresh, b.Access, b.Refresh, auSHA(a.Access), auSHA(b.Refresh)} {
				if strings.Contains(string(resp.Body), secretValue) {
					t.Fatal("the session list shows a token or its hash")
				}
			}
			data := resp.JSON(t)["data"].([]any)
			if len(data) != 2 {
				t.Fatalf("%d sessions, want 2: %s", len(data), resp.Body)
			}
			byID := map[string]map[string]any{}
			for _, d := range data {
				s := d.(map[string]any)
				byID[s["id"].(string)] = s
				for _, k := range []string{"id", "created_at", "last_used_at", "ip", "user_agent", "current"} {
					if _, ok := s[k]; !ok {
						t.Fatalf("session without %s: %v", k, s)
					}
				}
			}
			sa, sb := byID[a.SessionID], byID[b.SessionID]
			if sa == nil || sb == nil {
				t.Fatalf("sessions %v, want %s and %s", byID, a.SessionID, b.SessionID)
			}
			if sa["current"] != true || sb["current"] != false {
				t.Fatalf("current flags: %v %v", sa["current"], sb["current"])
			}
			if sb["ip"] != "127.0.0.1" || sb["user_agent"] != "Phone/1.0" {
				t.Fatalf("session b: %v", sb)
			}
			created, _ := time.Parse(time.RFC3339Nano, sb["created_at"].(string))
			used, _ := time.Parse(time.RFC3339Nano, sb["last_used_at"].(string))
			if !used.After(created) {
				t.Fatalf("last_used_at %v not after created_at %v although the session was used later", used, created)
			}
		})
		t.Run("OKPaging", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for range 2 {
				srv.Clock.Advance(time.Second)
				srv.SignIn("ada@example.com", auPW)
			}
			p1 := srv.Must(200, auGet("/v1/auth/sessions?limit=2", a.Access))
			cursor, _ := p1["next_cursor"].(string)
			if len(p1["data"].([]any)) != 2 || cursor == "" {
				t.Fatalf("page 1: %v", p1)
			}
			p2 := srv.Must(200, auGet("/v1/auth/sessions?limit=2&cursor="+cursor, a.Access))
			if len(p2["data"].([]any)) != 1 || p2["next_cursor"] != nil {
				t.Fatalf("page 2: %v", p2)
			}
		})
		t.Run("OKDeleteOther", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", auPW)
			auWarm(t, srv, b.Access)
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + b.SessionID, Token: a.Access})
			auAlive(t, srv, b.Access, false)
			auRefreshRefused(t, srv, b.Refresh)
			auAlive(t, srv, a.Access, true)
			if list := srv.Must(200, auGet("/v1/auth/sessions", a.Access)); len(list["data"].([]any)) != 1 {
				t.Fatalf("sessions: %v", list)
			}
		})
		t.Run("OKDeleteCurrent", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + a.SessionID, Token: a.Access})
			auAlive(t, srv, a.Access, false)
		})
		t.Run("ErrSomeoneElses", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			eve := srv.SignUpTokens("Eve", "eve@example.com", "")
			auCode(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + a.SessionID, Token: eve.Access}), 404, gatehouse.ENOTFOUND)
			auAlive(t, srv, a.Access, true)
			// Someone else's session is not listed either.
			list := srv.Must(200, auGet("/v1/auth/sessions", eve.Access))
			if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != eve.SessionID {
				t.Fatalf("eve's sessions: %v", list)
			}
		})
		t.Run("ErrUnknown", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, id := range []string{"0190c0de-0000-7000-8000-000000000000", "nope", "%00", "%FF%FE", strings.Repeat("x", 300)} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + id, Token: a.Access}), 404)
			}
			auAlive(t, srv, a.Access, true)
		})
		t.Run("ErrBadPage", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			nulCursor := gatehouse.Cursor{CreatedAt: time.Now(), ID: "\x00"}.Encode()
			badUTF8Cursor := gatehouse.Cursor{CreatedAt: time.Now(), ID: "\xff"}.Encode()
			for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=", "cursor=zzz", "cursor=e30", "cursor=" + nulCursor, "cursor=" + badUTF8Cursor} {
				resp := srv.Do(auGet("/v1/auth/sessions?"+q, a.Access))
				if resp.Status == 200 && (strings.HasSuffix(q, nulCursor) || strings.HasSuffix(q, badUTF8Cursor)) {
					continue // a well-formed cursor naming no row may simply end the list
				}
				if resp.Status != 400 {
					t.Fatalf("?%s: status %d, want 400: %s", q, resp.Status, resp.Body)
				}
				apptest.Problem(t, resp, 400)
			}
		})
	})
}

func TestAuthForgotPassword(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		resetToken := func(t *testing.T, srv *apptest.Server, email string) string {
			t.Helper()
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", email))
			out := srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", email, "otp", srv.LastCode(email)))
			tok, _ := out["reset_token"].(string)
			if !strings.HasPrefix(tok, service.ResetTokenPrefix) || len(tok) < len(service.ResetTokenPrefix)+43 || out["expires_in"] != float64(900) {
				t.Fatalf("reset answer: %v", out)
			}
			return tok
		}
		set := func(srv *apptest.Server, token, pw string) *apptest.Response {
			return srv.Do(auPost("/v1/auth/forgot-password/set", "reset_token", token, "password", pw))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", auPW)
			auWarm(t, srv, a.Access)
			auWarm(t, srv, b.Access)
			tok := resetToken(t, srv, "Ada@Example.com")
			if resp := set(srv, tok, "a brand new password"); resp.Status != 204 {
				t.Fatalf("set: %d %s", resp.Status, resp.Body)
			}
			// Every session ended, on the very next request.
			auAlive(t, srv, a.Access, false)
			auAlive(t, srv, b.Access, false)
			auRefreshRefused(t, srv, a.Refresh)
			auRefreshRefused(t, srv, b.Refresh)
			auLoginRefused(t, srv, "ada@example.com", auPW)
			srv.SignIn("ada@example.com", "a brand new password")
			// The reset token was single use.
			apptest.Problem(t, set(srv, tok, "yet another password"), 400)
			srv.SignIn("ada@example.com", "a brand new password")
		})
		t.Run("OKUnknownEmailAlike", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			known := srv.Do(auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			unknown := srv.Do(auPost("/v1/auth/forgot-password", "email", "nobody@example.com"))
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
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			tok := resetToken(t, srv, "ada@example.com")
			srv.Must(204, auPost("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
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
			srv.SignIn("ada@example.com", auPW)
			srv.RefreshTokens(a.Refresh)
		})
		t.Run("OKResetTokenJustBeforeExpiry", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			tok := resetToken(t, srv, "ada@example.com")
			srv.Clock.Advance(service.ResetTokenTTL - time.Second)
			srv.Must(204, auPost("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
		})
		t.Run("ErrWeakPasswordKeepsToken", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			tok := resetToken(t, srv, "ada@example.com")
			for _, pw := range []string{"", "short", "qwertyuiop", strings.Repeat("x", 129)} {
				apptest.Problem(t, set(srv, tok, pw), 400)
			}
			srv.Must(204, auPost("/v1/auth/forgot-password/set", "reset_token", tok, "password", "a brand new password"))
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
			srv.SignIn("ada@example.com", auPW)
		})
		t.Run("ErrWrongCode", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			code := srv.LastCode("ada@example.com")
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", auWrong(code))), 400)
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "nobody@example.com", "otp", code)), 400)
			srv.Clock.Advance(service.OTPTTL)
			apptest.Problem(t, srv.Do(auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", code)), 400)
		})
	})
}

func TestAuthSetPassword(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			if me := srv.Must(200, auGet("/v1/me", p.Access)); me["has_password"] != false {
				t.Fatalf("me: %v", me)
			}
			auLoginRefused(t, srv, "pat@example.com", "a chosen password")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: auBody("password", "a chosen password")})
			if me := srv.Must(200, auGet("/v1/me", p.Access)); me["has_password"] != true {
				t.Fatalf("me: %v", me)
			}
			srv.SignIn("pat@example.com", "a chosen password")
			auAlive(t, srv, p.Access, true)
		})
		t.Run("ErrAlreadySet", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			auCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: a.Access, Body: auBody("password", "a chosen password")}), 409, "password_already_set")
			srv.SignIn("ada@example.com", auPW)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: auBody("password", "a chosen password")})
			auCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: auBody("password", "another chosen one")}), 409, "password_already_set")
		})
		t.Run("ErrWeakPassword", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			for _, pw := range []string{"", "short", "qwertyuiop", strings.Repeat("x", 129)} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: auBody("password", pw)}), 400)
			}
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: p.Access, Body: auBody("password", "a chosen password")})
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			auCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Body: auBody("password", "a chosen password")}), 401, "unauthenticated")
		})
	})
}

func TestAuthChangePassword(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		change := func(srv *apptest.Server, token, current, next string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: token, Body: auBody("current_password", current, "new_password", next)})
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", auPW)
			auWarm(t, srv, a.Access)
			auWarm(t, srv, b.Access)
			if resp := change(srv, a.Access, auPW, "a brand new password"); resp.Status != 204 {
				t.Fatalf("change: %d %s", resp.Status, resp.Body)
			}
			auAlive(t, srv, b.Access, false) // other sessions end at once
			auRefreshRefused(t, srv, b.Refresh)
			auAlive(t, srv, a.Access, true) // this one stays
			srv.RefreshTokens(a.Refresh)
			auLoginRefused(t, srv, "ada@example.com", auPW)
			srv.SignIn("ada@example.com", "a brand new password")
		})
		t.Run("ErrWrongCurrent", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", auPW)
			auCode(t, change(srv, a.Access, "not the password", "a brand new password"), 403, "wrong_password")
			auAlive(t, srv, b.Access, true)
			srv.SignIn("ada@example.com", auPW)
		})
		t.Run("ErrThrottled", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for range 5 {
				auCode(t, change(srv, a.Access, "not the password", "a brand new password"), 403, "wrong_password")
			}
			wait := auRetryAfter(t, change(srv, a.Access, auPW, "a brand new password"))
			srv.Clock.Advance(wait)
			auStatus(t, 204, change(srv, a.Access, auPW, "a brand new password"))
		})
		t.Run("ErrPasswordless", func(t *testing.T) {
			srv := apptest.New(t, e)
			p := srv.PasswordlessUser("Pat", "pat@example.com")
			auCode(t, change(srv, p.Access, "anything at all", "a brand new password"), 403, "wrong_password")
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tc := range []struct{ name, current, next, field string }{
				{"no current", "", "a brand new password", "current_password"},
				{"no new", auPW, "", "new_password"},
				{"short new", auPW, "short", "new_password"},
				{"long new", auPW, strings.Repeat("x", 129), "new_password"},
				{"common new", auPW, "1q2w3e4r5t", "new_password"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := apptest.Problem(t, change(srv, a.Access, tc.current, tc.next), 400)
					if !strings.Contains(string(auJSON(t, p["errors"])), `"field":"`+tc.field+`"`) {
						t.Fatalf("errors do not name %s: %v", tc.field, p["errors"])
					}
				})
			}
			srv.SignIn("ada@example.com", auPW)
		})
	})
}

func TestAuthAccountExists(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		exists := func(srv *apptest.Server, email string) *apptest.Response {
			return srv.Do(auPost("/v1/auth/account-exists", "email", email))
		}
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", auPW))
			for email, want := range map[string]bool{"ada@example.com": true, " ADA@Example.com ": true, "nobody@example.com": false} {
				if out := auStatus(t, 200, exists(srv, email)); out["exists"] != want {
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
			wait := auRetryAfter(t, resp)
			srv.Clock.Advance(wait)
			auStatus(t, 200, exists(srv, "again@example.com"))
		})
		t.Run("ErrBadEmail", func(t *testing.T) {
			srv := apptest.New(t, e)
			for _, email := range []string{"", "ada", "ada@", "@example.com", "ada@example", "Ada <ada@example.com>", "a\x00@example.com"} {
				apptest.Problem(t, exists(srv, email), 400)
			}
		})
	})
}

func TestAuthAPIAccessCheck(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "Ada@example.com", "")
			out := srv.Must(200, auGet("/v1/auth/api-access-check", a.Access))
			if out["kind"] != "user" || out["id"] != a.User["id"] || out["email"] != "Ada@example.com" || out["name"] != "Ada" {
				t.Fatalf("principal: %v", out)
			}
			if v, ok := out["organization_id"]; !ok || v != nil {
				t.Fatalf("organization_id: %v, want null", out)
			}
			// With a current organization, it is shown.
			org := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: a.Access, Body: auBody("name", "Acme")})
			if out := srv.Must(200, auGet("/v1/auth/api-access-check", a.Access)); out["organization_id"] != org["id"] || org["id"] == nil {
				t.Fatalf("principal: %v, want organization %v", out, org["id"])
			}
			if me := srv.Must(200, auGet("/v1/me", a.Access)); me["current_organization_id"] != org["id"] {
				t.Fatalf("me: %v, want current organization %v", me, org["id"])
			}
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tc := range []struct{ name, auth string }{
				{"no header", ""},
				{"empty bearer", "Bearer "},
				{"basic", "Basic YWRhOnB3"},
				{"garbage", "Bearer junk"},
				{"unknown token", "Bearer gh_at_" + strings.Repeat("A", 43)},
				{"refresh token", "Bearer " + a.Refresh},
				{"token without prefix", "Bearer " + strings.TrimPrefix(a.Access, "gh_at_")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp := srv.Do(apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Header: map[string]string{"Authorization": tc.auth}})
					apptest.Problem(t, resp, 401)
					if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
					}
				})
			}
			// The lower-case scheme is accepted.
			srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Header: map[string]string{"Authorization": "bearer " + a.Access}})
		})
	})
}

// TestAuthMail checks that every code goes out through the outbox and that
// the mail holds the code and no other secret.
func TestAuthMail(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			verifyCode := srv.LastCode("ada@example.com")
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
			resetCode := srv.LastCode("ada@example.com")
			out := srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", resetCode))
			resetToken := out["reset_token"].(string)

			ms := srv.MailTo("ada@example.com")
			if len(ms) != 2 {
				t.Fatalf("%d mails, want 2", len(ms))
			}
			digits := regexp.MustCompile(`\d{6,}`)
			for i, code := range []string{resetCode, verifyCode} { // newest first
				m := ms[i]
				if m.Status != gatehouse.MailQueued || m.Kind != "user" || m.RefID != a.User["id"] {
					t.Fatalf("mail %d: %+v", i, m)
				}
				if got := digits.FindAllString(m.Text, -1); len(got) != 1 || got[0] != code {
					t.Fatalf("mail %d text holds %v, want just the code %s", i, got, code)
				}
				if !strings.Contains(m.HTML, code) {
					t.Fatalf("mail %d HTML lacks the code", i)
				}
				for _, s := range []string{auPW, a.Access, a.Refresh, resetToken, "gh_", auSHA(a.Access)} {
					if strings.Contains(m.Subject+m.Text+m.HTML, s) {
						t.Fatalf("mail %d holds a secret %q", i, s)
					}
				}
			}
		})
	})
}

// TestAuthSecretsAtRest runs the whole story, then reads every text and blob
// value of every table (and on SQLite the raw database files, -wal
// included) looking for any password, token, code or reset token in clear.
func TestAuthSecretsAtRest(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			const email, newPW = "ada.secret@example.com", "Correct-Horse-Battery-Staple-42"
			var secrets []string // high-entropy: searched as substrings
			var codes []string   // six digits: searched as whole numbers
			addTokens := func(ts ...*apptest.AuthTokens) {
				for _, t := range ts {
					secrets = append(secrets, t.Access, t.Refresh,
						strings.TrimPrefix(t.Access, service.AccessTokenPrefix), strings.TrimPrefix(t.Refresh, service.RefreshTokenPrefix))
				}
			}
			secrets = append(secrets, auPW, newPW)

			srv.Must(201, auPost("/v1/auth/register", "name", "Ada", "email", email, "password", auPW))
			c := srv.LastCode(email)
			codes = append(codes, c)
			srv.Must(200, auPost("/v1/auth/verify-email", "email", email, "otp", c))
			a := srv.SignIn(email, auPW)
			auWarm(t, srv, a.Access)
			b := srv.RefreshTokens(a.Refresh)
			auAlive(t, srv, b.Access, true)
			c2 := srv.SignIn(email, auPW)
			addTokens(a, b, c2)

			srv.Clock.Advance(time.Minute)
			srv.Must(202, auPost("/v1/auth/forgot-password", "email", email))
			rc := srv.LastCode(email)
			codes = append(codes, rc)
			out := srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", email, "otp", rc))
			rt := out["reset_token"].(string)
			secrets = append(secrets, rt, strings.TrimPrefix(rt, service.ResetTokenPrefix))
			srv.Must(204, auPost("/v1/auth/forgot-password/set", "reset_token", rt, "password", newPW))
			d := srv.SignIn(email, newPW)
			srv.Must(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: d.Access, Body: auBody("current_password", newPW, "new_password", newPW+"!")})
			secrets = append(secrets, newPW+"!")
			d2 := srv.RefreshTokens(d.Refresh)
			addTokens(d, d2)

			codeRes := make([]*regexp.Regexp, len(codes))
			for i, c := range codes {
				codeRes[i] = regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`)
			}
			check := func(where string, v []byte) {
				t.Helper()
				for _, s := range secrets {
					if strings.Contains(string(v), s) {
						t.Errorf("%s holds the secret %q in clear", where, s)
					}
				}
				for i, re := range codeRes {
					if re.Match(v) {
						t.Errorf("%s holds the code %s in clear", where, codes[i])
					}
				}
			}

			values := srv.DBValues()
			var all strings.Builder
			tables := map[string]bool{}
			for _, v := range values {
				check(v.String(), v.Value)
				all.Write(v.Value)
				all.WriteByte('\n')
				tables[v.Table] = true
			}
			// The scan saw what it should: token hashes, the user, the mail.
			for _, want := range []string{auSHA(d2.Access), auSHA(d2.Refresh), email, "$argon2id$"} {
				if !strings.Contains(all.String(), want) {
					t.Fatalf("the scan did not see %q; tables read: %v", want, tables)
				}
			}
			for _, table := range []string{"users", "sessions", "otps", "reset_tokens", "outbox", "audit_events"} {
				if !tables[table] {
					t.Errorf("no values read from %s; tables read: %v", table, tables)
				}
			}

			if e.Name == "sqlite" {
				files := srv.RawDBFiles()
				var raw []byte
				for name, b := range files {
					check("file "+name, b)
					raw = append(raw, b...)
				}
				if !strings.Contains(string(raw), auSHA(d2.Access)) {
					t.Fatalf("the raw files (%d: %v) do not hold the newest session", len(files), auKeys(files))
				}
			}
		})
	})
}

func auKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAuthSessionCache: the middleware answers a recently seen session from
// memory, yet every way of ending a session takes effect on the very next
// request.
func TestAuthSessionCache(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OKServedFromMemory", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			ctx := context.Background()
			if _, err := srv.Services.Auth.Authenticate(ctx, a.Access); err != nil {
				t.Fatal(err)
			}
			// Remove the session behind the service's back: only a lookup
			// that skips the database still finds it.
			if _, err := srv.Store.WriterDB().Exec(`DELETE FROM sessions WHERE id = $1`, a.SessionID); err != nil {
				t.Fatal(err)
			}
			p, err := srv.Services.Auth.Authenticate(ctx, a.Access)
			if err != nil {
				t.Fatalf("a session seen just now went to the database: %v", err)
			}
			if p.SessionID != a.SessionID || p.UserID != a.User["id"] || p.Kind != gatehouse.PrincipalUser {
				t.Fatalf("principal %+v", p)
			}
			// The memory is short.
			srv.Clock.Advance(time.Minute)
			if _, err := srv.Services.Auth.Authenticate(ctx, a.Access); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Fatalf("after a minute: %v, want unauthorized", err)
			}
		})
		for _, tc := range []struct {
			name string
			end  func(t *testing.T, srv *apptest.Server, victim, other *apptest.AuthTokens)
		}{
			{"ErrLogout", func(t *testing.T, srv *apptest.Server, victim, _ *apptest.AuthTokens) {
				srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: victim.Access})
			}},
			{"ErrSessionDeleted", func(t *testing.T, srv *apptest.Server, victim, other *apptest.AuthTokens) {
				srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + victim.SessionID, Token: other.Access})
			}},
			{"ErrRefreshed", func(t *testing.T, srv *apptest.Server, victim, _ *apptest.AuthTokens) {
				srv.RefreshTokens(victim.Refresh)
			}},
			{"ErrRefreshReused", func(t *testing.T, srv *apptest.Server, victim, _ *apptest.AuthTokens) {
				// victim's tokens came from a refresh; replay the refresh token
				// before it, once the grace for concurrent refreshes is over.
				srv.Clock.Advance(service.RefreshGrace + time.Second)
				auRefreshRefused(t, srv, victim.Body["previous_refresh"].(string))
			}},
			{"ErrPasswordChanged", func(t *testing.T, srv *apptest.Server, victim, other *apptest.AuthTokens) {
				srv.Must(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: other.Access, Body: auBody("current_password", auPW, "new_password", "a brand new password")})
			}},
			{"ErrPasswordReset", func(t *testing.T, srv *apptest.Server, _, _ *apptest.AuthTokens) {
				srv.Must(202, auPost("/v1/auth/forgot-password", "email", "ada@example.com"))
				out := srv.Must(200, auPost("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
				srv.Must(204, auPost("/v1/auth/forgot-password/set", "reset_token", out["reset_token"].(string), "password", "a brand new password"))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := apptest.New(t, e)
				first := srv.SignUpTokens("Ada", "ada@example.com", "")
				victim := srv.RefreshTokens(first.Refresh)
				victim.Body["previous_refresh"] = first.Refresh
				other := srv.SignIn("ada@example.com", auPW)
				auWarm(t, srv, victim.Access)
				tc.end(t, srv, victim, other)
				auAlive(t, srv, victim.Access, false)
			})
		}
	})
}

// auBadCase is one malformed request body.
type auBadCase struct {
	name        string
	body        any
	contentType string
	want        int // 0: any 4xx
}

// auGenericBad are malformed bodies every JSON endpoint must refuse.
func auGenericBad() []auBadCase {
	huge := `{"x":"` + strings.Repeat("a", 1<<20) + `"}`
	return []auBadCase{
		{"no body", nil, "", 0},
		{"empty object", "{}", "application/json", 0},
		{"null", "null", "application/json", 0},
		{"array", "[]", "application/json", 400},
		{"string", `"x"`, "application/json", 400},
		{"number", `42`, "application/json", 400},
		{"malformed", `{"email":`, "application/json", 400},
		{"not json", `email=a@example.com`, "application/json", 400},
		{"trailing data", `{} {}`, "application/json", 400},
		{"unknown field", `{"nope":1}`, "application/json", 400},
		{"wrong content type", `{}`, "text/plain", 415},
		{"form content type", `email=a@example.com`, "application/x-www-form-urlencoded", 415},
		{"oversized", huge, "application/json", 413},
	}
}

// auFieldBad makes, for each field, the wrong-type and bad-value cases.
func auFieldBad(valid map[string]any, fields []string, bad map[string][]any) []auBadCase {
	var out []auBadCase
	with := func(field string, v any) map[string]any {
		m := map[string]any{}
		for k, x := range valid {
			m[k] = x
		}
		m[field] = v
		return m
	}
	without := func(field string) map[string]any {
		m := map[string]any{}
		for k, x := range valid {
			if k != field {
				m[k] = x
			}
		}
		return m
	}
	for _, f := range fields {
		out = append(out,
			auBadCase{f + " missing", without(f), "", 0},
			auBadCase{f + " empty", with(f, ""), "", 0},
			auBadCase{f + " number", with(f, 12345678901), "", 400},
			auBadCase{f + " bool", with(f, true), "", 400},
			auBadCase{f + " object", with(f, map[string]any{"a": 1}), "", 400},
			auBadCase{f + " array", with(f, []string{"a"}), "", 400},
			auBadCase{f + " nul", with(f, "a\x00b"), "", 0},
		)
		for i, v := range bad[f] {
			out = append(out, auBadCase{fmt.Sprintf("%s bad %d %.20q", f, i, fmt.Sprint(v)), with(f, v), "", 0})
		}
	}
	return out
}

var (
	auBadEmails    = []any{"ada", "ada@", "@example.com", "ada@example", "Ada <ada@example.com>", "a b@example.com", strings.Repeat("a", 250) + "@example.com", "ada@example.com\x00", "ada@exa\x00mple.com"}
	auBadPasswords = []any{"short", "123456789", strings.Repeat("x", 129), "qwertyuiop", "1234567890"}
	auBadCodes     = []any{"12345", "1234567", "abcdef", "12 345", "１２３４５６", "-12345"}
)

// TestAuthBadInput sends every auth endpoint bad input: each answer must be
// a 4xx problem+json, never a 500.
func TestAuthBadInput(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("Err", func(t *testing.T) {
			srv := apptest.New(t, e)
			token := srv.SignUpTokens("Ada", "ada@example.com", "").Access
			type endpoint struct {
				method, path string
				authed       bool
				valid        map[string]any
				fields       []string
				bad          map[string][]any
			}
			endpoints := []endpoint{
				{"POST", "/v1/auth/register", false, map[string]any{"name": "Eve", "email": "eve@example.com", "password": auPW},
					[]string{"name", "email", "password"}, map[string][]any{"email": auBadEmails, "password": auBadPasswords,
						"name": {"   ", strings.Repeat("n", 101), "two\nlines", "nul\x00"}}},
				{"POST", "/v1/auth/verify-email", false, map[string]any{"email": "ada@example.com", "otp": "123456"},
					[]string{"email", "otp"}, map[string][]any{"email": auBadEmails, "otp": auBadCodes}},
				{"POST", "/v1/auth/resend-otp", false, map[string]any{"email": "ada@example.com", "purpose": "verify_email"},
					[]string{"email", "purpose"}, map[string][]any{"email": auBadEmails, "purpose": {"reset", "verify_email "}}},
				{"POST", "/v1/auth/login", false, map[string]any{"email": "ada@example.com", "password": "wrong password"},
					[]string{"email", "password"}, map[string][]any{"email": auBadEmails, "password": {strings.Repeat("p", 100_000)}}},
				{"POST", "/v1/auth/refresh", false, map[string]any{"refresh_token": "gh_rt_nope"},
					[]string{"refresh_token"}, map[string][]any{"refresh_token": {"nope", strings.Repeat("r", 100_000)}}},
				{"POST", "/v1/auth/forgot-password", false, map[string]any{"email": "ada@example.com"},
					[]string{"email"}, map[string][]any{"email": auBadEmails}},
				{"POST", "/v1/auth/forgot-password/verify", false, map[string]any{"email": "ada@example.com", "otp": "123456"},
					[]string{"email", "otp"}, map[string][]any{"email": auBadEmails, "otp": auBadCodes}},
				{"POST", "/v1/auth/forgot-password/set", false, map[string]any{"reset_token": "gh_rs_nope", "password": "a brand new password"},
					[]string{"reset_token", "password"}, map[string][]any{"password": auBadPasswords}},
				{"POST", "/v1/auth/set-password", true, map[string]any{"password": "a brand new password"},
					[]string{"password"}, map[string][]any{"password": auBadPasswords}},
				{"PUT", "/v1/auth/password", true, map[string]any{"current_password": "not the password", "new_password": "a brand new password"},
					[]string{"current_password", "new_password"}, map[string][]any{"new_password": auBadPasswords}},
				{"POST", "/v1/auth/account-exists", false, map[string]any{"email": "ada@example.com"},
					[]string{"email"}, map[string][]any{"email": auBadEmails}},
			}
			for _, ep := range endpoints {
				t.Run(ep.method+" "+ep.path, func(t *testing.T) {
					cases := append(auGenericBad(), auFieldBad(ep.valid, ep.fields, ep.bad)...)
					for _, tc := range cases {
						r := apptest.Req{Method: ep.method, Path: ep.path, Body: tc.body, ContentType: tc.contentType}
						if ep.authed {
							r.Token = token
						}
						resp := srv.Do(r)
						if resp.Status == http.StatusTooManyRequests {
							// Throttles are fine answers too; start afresh and retry once.
							srv.Clock.Advance(time.Hour)
							token = srv.SignIn("ada@example.com", auPW).Access
							if ep.authed {
								r.Token = token
							}
							resp = srv.Do(r)
						}
						if resp.Status >= 500 || resp.Status < 400 {
							t.Errorf("%s: status %d: %.300s", tc.name, resp.Status, resp.Body)
							continue
						}
						if tc.want != 0 && resp.Status != tc.want {
							t.Errorf("%s: status %d, want %d: %.300s", tc.name, resp.Status, tc.want, resp.Body)
							continue
						}
						apptest.Problem(t, resp, resp.Status)
					}
				})
			}
			// A body without Content-Length is held to the same limit.
			t.Run("chunked oversized", func(t *testing.T) {
				r, err := http.NewRequest("POST", srv.URL+"/v1/auth/login", io.MultiReader(strings.NewReader(`{"email":"`), strings.NewReader(strings.Repeat("a", 2<<20)), strings.NewReader(`"}`)))
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Content-Type", "application/json")
				resp, err := srv.HTTP.Client().Do(r)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				apptest.Problem(t, &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, 413)
			})
			// Nothing above harmed the account.
			srv.SignIn("ada@example.com", auPW)
		})
		t.Run("ErrHeaders", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			// A user agent that is not UTF-8 is stored with the session and
			// the audit events; it must not break the request.
			h := map[string]string{"User-Agent": "Bad\xff\xfeAgent/1.0"}
			resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: auBody("email", "ada@example.com", "password", auPW), Header: h})
			if resp.Status != 200 {
				t.Fatalf("login: %d %s", resp.Status, resp.Body)
			}
			tok := resp.JSON(t)["access_token"].(string)
			resp = srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/register", Body: auBody("name", "Eve", "email", "eve@example.com", "password", auPW), Header: h})
			if resp.Status != 201 {
				t.Fatalf("register: %d %s", resp.Status, resp.Body)
			}
			list := srv.Must(200, auGet("/v1/auth/sessions", tok))
			if !strings.Contains(fmt.Sprint(list), "Agent/1.0") {
				t.Fatalf("sessions: %v", list)
			}
		})
	})
}

func auJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
