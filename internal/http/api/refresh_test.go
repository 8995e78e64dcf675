package api_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func totalRows(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// Reuse detection keeps constant state per session: 1,000 refreshes of
// one session add at most 50 rows to the whole database, and a refresh
// token from the first generation still ends the session.
func TestRefreshBoundedState(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		first := srv.SignUpTokens("Ada", "ada@example.com", "")
		other := srv.SignIn("ada@example.com", apptest.TestPassword)
		before := srv.RowCounts()
		tok := first
		for i := 0; i < 1000; i++ {
			tok = srv.RefreshTokens(tok.Refresh)
		}
		after := srv.RowCounts()
		added := totalRows(after) - totalRows(before)
		t.Logf("1,000 refreshes of one session added %d rows", added)
		if added > 50 {
			t.Fatalf("1,000 refreshes added %d rows; before %v, after %v", added, before, after)
		}
		apptest.TokenAlive(t, srv, tok.Access, true)
		srv.Clock.Advance(service.RefreshGrace + time.Second)
		apptest.RefreshRefused(t, srv, first.Refresh) // generation 0 of 1,000: reuse
		apptest.TokenAlive(t, srv, tok.Access, false)
		apptest.RefreshRefused(t, srv, tok.Refresh)
		apptest.TokenAlive(t, srv, other.Access, true) // only that session ended
	})
}

// Two refreshes with one token at once (two tabs), through one process or
// two, both succeed with the same tokens; the session lives on.
func TestRefreshConcurrentGrace(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		dsn := e.NewDSN(t)
		one := apptest.New(t, e, apptest.Options{DSN: dsn})
		servers := []*apptest.Server{one, one}
		if e.Name == "postgres" {
			servers[1] = apptest.New(t, e, apptest.Options{DSN: dsn, Clock: one.Clock})
		}
		a := one.SignUpTokens("Ada", "ada@example.com", "")
		for round := 0; round < 5; round++ {
			var wg sync.WaitGroup
			got := make([]*apptest.Response, 4)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i] = servers[i%2].Do(apptest.Post("/v1/auth/refresh", "refresh_token", a.Refresh))
				}()
			}
			wg.Wait()
			var access string
			for i, r := range got {
				if r.Status != 200 {
					t.Fatalf("round %d: concurrent refresh %d: %d %s", round, i, r.Status, r.Body)
				}
				body := r.JSON(t)
				if access == "" {
					access = body["access_token"].(string)
				} else if body["access_token"] != access {
					t.Fatalf("round %d: concurrent refreshes got different tokens", round)
				}
			}
			next := got[0].JSON(t)
			a = &apptest.AuthTokens{Access: next["access_token"].(string), Refresh: next["refresh_token"].(string)}
			apptest.TokenAlive(t, one, a.Access, true)
		}
		// Within the grace, the previous token still gets the current ones;
		// after it, it is reuse.
		prev := a.Refresh
		b := one.RefreshTokens(prev)
		one.Clock.Advance(service.RefreshGrace - time.Second)
		if again := one.RefreshTokens(prev); again.Access != b.Access || again.Refresh != b.Refresh {
			t.Fatal("a refresh within the grace got other tokens")
		}
		one.Clock.Advance(2 * time.Second)
		apptest.RefreshRefused(t, one, prev)
		apptest.TokenAlive(t, one, b.Access, false)
	})
}

// A refresh token naming a session but not made by Gatehouse proves
// nothing and ends nothing.
func TestRefreshForgedToken(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		a := srv.SignUpTokens("Ada", "ada@example.com", "")
		sid, _, _ := strings.Cut(strings.TrimPrefix(a.Refresh, service.RefreshTokenPrefix), ".")
		for _, forged := range []string{
			service.RefreshTokenPrefix + sid + ".0." + strings.Repeat("0", 64),
			service.RefreshTokenPrefix + sid + ".1." + strings.Repeat("a", 64),
			service.RefreshTokenPrefix + sid + ".-1." + strings.Repeat("a", 64),
			service.RefreshTokenPrefix + sid + ".99999999999999999999." + strings.Repeat("a", 64),
			service.RefreshTokenPrefix + sid + ".0",
			service.RefreshTokenPrefix + "not-a-session-id-not-a-session-id-xx.0." + strings.Repeat("a", 64),
			service.RefreshTokenPrefix + sid + ".0." + strings.Repeat("\x00", 64),
		} {
			apptest.RefreshRefused(t, srv, forged)
		}
		apptest.TokenAlive(t, srv, a.Access, true)
		srv.RefreshTokens(a.Refresh)
	})
}

// Sessions opened before refresh generations keep working: their random
// refresh token moves them onto derived tokens, and one recorded as
// rotated away still ends its session.
func TestRefreshLegacyTokens(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		a := srv.SignUpTokens("Ada", "ada@example.com", "")
		ctx := context.Background()
		now := srv.Clock.Now().UTC().Truncate(time.Microsecond)
		legacy := func() (access, refresh, id string) {
			access, refresh = secret.Token(service.AccessTokenPrefix, 32), secret.Token(service.RefreshTokenPrefix, 32)
			s := &gatehouse.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: a.User["id"].(string), AccessHash: secret.HashToken(access),
				AccessExpiresAt: now.Add(service.AccessTokenTTL), RefreshHash: secret.HashToken(refresh),
				RefreshExpiresAt: now.Add(service.RefreshTokenTTL), CreatedAt: now, LastUsedAt: now}
			if err := srv.Store.Tx(ctx, func(tx *store.Conn) error { return tx.CreateSession(ctx, s) }); err != nil {
				t.Fatal(err)
			}
			return access, refresh, s.ID
		}
		_, refresh, _ := legacy()
		b := srv.RefreshTokens(refresh)
		if !strings.Contains(b.Refresh, ".1.") {
			t.Fatalf("the legacy session did not move to derived tokens: %s", b.Refresh)
		}
		c := srv.RefreshTokens(b.Refresh)
		apptest.TokenAlive(t, srv, c.Access, true)

		access, _, id := legacy()
		used := secret.Token(service.RefreshTokenPrefix, 32)
		if _, err := srv.Store.WriterDB().ExecContext(ctx, `INSERT INTO used_refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, $3)`,
			secret.HashToken(used), id, now.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		apptest.TokenAlive(t, srv, access, true)
		apptest.RefreshRefused(t, srv, used)
		apptest.TokenAlive(t, srv, access, false)
	})
}
