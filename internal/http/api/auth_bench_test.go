package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// BenchmarkAuthenticate measures the authentication middleware's lookup:
// "cached" is a session seen recently (answered from memory, no database
// round trip), "cold" one that is not (looked up and touched in the
// database), "http" a whole GET /v1/auth/api-access-check with a cached
// session.
//
//	go test ./internal/http/api/ -run '^$' -bench Authenticate -benchmem
func BenchmarkAuthenticate(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			srv := apptest.New(b, e)
			tok := srv.SignUpTokens("Ada", "ada@example.com", "")
			auth := srv.Services.Auth
			ctx := context.Background()
			authenticate := func(b *testing.B) {
				p, err := auth.Authenticate(ctx, tok.Access)
				if err != nil || p.SessionID != tok.SessionID {
					b.Fatalf("authenticate: %v %v", p, err)
				}
			}
			b.Run("cached", func(b *testing.B) {
				authenticate(b)
				b.ReportAllocs()
				for b.Loop() {
					authenticate(b)
				}
			})
			b.Run("cold", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					auth.EvictSessions(tok.SessionID)
					authenticate(b)
				}
			})
			b.Run("http", func(b *testing.B) {
				r := apptest.Req{Method: "GET", Path: "/v1/auth/api-access-check", Token: tok.Access}
				b.ReportAllocs()
				for b.Loop() {
					if resp := srv.Do(r); resp.Status != 200 {
						b.Fatalf("%d %s", resp.Status, resp.Body)
					}
				}
			})
		})
	}
}

// BenchmarkLoginFailure compares the two ways a sign-in fails, with the
// production argon2id parameters: an unknown email must cost what a wrong
// password costs (one password hash each; compare ns/op and B/op).
//
//	go test ./internal/http/api/ -run '^$' -bench LoginFailure -benchmem
func BenchmarkLoginFailure(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			srv := apptest.New(b, e)
			svc := service.New(srv.Store, service.Config{BaseURL: srv.Config.BaseURL, Key: srv.Key, Now: srv.Clock.Now,
				Hasher: secret.NewHasher(secret.DefaultArgon2, 4)})
			ctx := context.Background()
			if _, err := svc.Auth.Register(ctx, gatehouse.Actor{}, service.RegisterInput{Name: "Ada", Email: "ada@example.com", Password: apptest.TestPassword}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Auth.VerifyEmail(ctx, gatehouse.Actor{}, "ada@example.com", srv.LastCode("ada@example.com")); err != nil {
				b.Fatal(err)
			}
			for _, tc := range []struct{ name, email, pw string }{
				{"unknown_email", "nobody@example.com", apptest.TestPassword},
				{"wrong_password", "ada@example.com", "not the password"},
			} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						// A fresh address and a minute later each time, so the
						// throttles never answer instead of the hasher.
						i++
						srv.Clock.Advance(time.Minute)
						_, _, err := svc.Auth.Login(ctx, gatehouse.Actor{IP: fmt.Sprintf("198.51.100.%d", i%250)}, tc.email, tc.pw)
						if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
							b.Fatalf("login: %v", err)
						}
					}
				})
			}
		})
	}
}
