package api_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAuthLogin(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", apptest.TestPassword)
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
			if access != apptest.SHA256Hex(a.Access) || refresh != apptest.SHA256Hex(a.Refresh) {
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
				{"unknown email", "nobody@example.com", apptest.TestPassword},
				{"wrong password", "ada@example.com", "not the password"},
				{"wrong password, other case", "ADA@example.com", "not the password"},
				{"account without password", "pat@example.com", apptest.TestPassword},
			} {
				resp := srv.Do(apptest.Post("/v1/auth/login", "email", tc.email, "password", tc.pw))
				apptest.ProblemCode(t, resp, 401, "invalid_credentials")
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
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
			apptest.ProblemCode(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword)), 403, "email_not_verified")
			// Without the right password, nothing is revealed about the account.
			apptest.LoginRefused(t, srv, "ada@example.com", "not the password")
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
	if _, err := svc.Auth.Register(ctx, actor, service.RegisterInput{Name: "Ada", Email: "ada@example.com", Password: apptest.TestPassword}); err != nil {
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
		{"unknown email", "nobody@example.com", apptest.TestPassword},
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
		if _, err := login("nobody@example.com", apptest.TestPassword); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Fatal(err)
		}
	}
	n, err := login("nobody@example.com", apptest.TestPassword)
	if gatehouse.ErrorCode(err) != gatehouse.ERATELIMITED {
		t.Fatalf("sixth failure: %v, want rate limited", err)
	}
	if n >= mem<<10 {
		t.Fatalf("control: a throttled attempt allocated %d bytes; the measure cannot tell a hash from none", n)
	}
}

func TestAuthLoginThrottle(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("ErrPerAccount", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.SignUpTokens("Bob", "bob@example.com", "")
			for i, email := range []string{"ada@example.com", "ADA@example.com", " ada@example.com", "Ada@Example.Com", "ada@example.com"} {
				if resp := srv.Do(apptest.Post("/v1/auth/login", "email", email, "password", fmt.Sprint("wrong password ", i))); resp.Status != 401 {
					t.Fatalf("failure %d: %d %s", i+1, resp.Status, resp.Body)
				}
			}
			// Even the right password waits now.
			wait := apptest.RetryAfter(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword)))
			if wait > time.Minute {
				t.Fatalf("Retry-After %v, want at most a minute", wait)
			}
			// Another account from the same address is not affected.
			srv.SignIn("bob@example.com", apptest.TestPassword)
			srv.Clock.Advance(wait)
			srv.SignIn("ada@example.com", apptest.TestPassword)
			// Success from this address starts its count again; the next
			// run of failures backs off for longer each time.
			for range 5 {
				apptest.LoginRefused(t, srv, "ada@example.com", "wrong again")
			}
			first := apptest.RetryAfter(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword)))
			srv.Clock.Advance(first)
			apptest.LoginRefused(t, srv, "ada@example.com", "wrong once more")
			if second := apptest.RetryAfter(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword))); second < 2*first-time.Second {
				t.Fatalf("backoff %v after %v: not doubling", second, first)
			}
		})
		t.Run("ErrPerIP", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			for i := range 20 {
				apptest.LoginRefused(t, srv, fmt.Sprintf("nobody%d@example.com", i), apptest.TestPassword)
			}
			wait := apptest.RetryAfter(t, srv.Do(apptest.Post("/v1/auth/login", "email", "ada@example.com", "password", apptest.TestPassword)))
			srv.Clock.Advance(wait)
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("OKSuccessesNotCounted", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			for range 25 {
				srv.SignIn("ada@example.com", apptest.TestPassword)
			}
		})
	})
}
