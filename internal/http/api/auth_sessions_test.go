package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAuthRefresh(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			apptest.WarmToken(t, srv, a.Access)
			b := srv.RefreshTokens(a.Refresh)
			if b.User["email"] != "ada@example.com" || b.Body["token_type"] != "Bearer" {
				t.Fatalf("refresh answer: %v", b.Body)
			}
			apptest.TokenAlive(t, srv, a.Access, false) // the old access token dies at once
			apptest.TokenAlive(t, srv, b.Access, true)
			c := srv.RefreshTokens(b.Refresh)
			apptest.TokenAlive(t, srv, c.Access, true)
			// Still one session.
			if list := srv.Must(200, apptest.GetAs("/v1/auth/sessions", c.Access)); len(list["data"].([]any)) != 1 {
				t.Fatalf("sessions after rotation: %v", list)
			}
		})
		t.Run("ErrReuseEndsSession", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			other := srv.SignIn("ada@example.com", apptest.TestPassword)
			b := srv.RefreshTokens(a.Refresh)
			apptest.WarmToken(t, srv, b.Access)
			srv.Clock.Advance(service.RefreshGrace + time.Second)
			apptest.RefreshRefused(t, srv, a.Refresh) // reuse
			apptest.TokenAlive(t, srv, b.Access, false)
			apptest.RefreshRefused(t, srv, b.Refresh)
			// Only that session ended.
			apptest.TokenAlive(t, srv, other.Access, true)
			srv.RefreshTokens(other.Refresh)
		})
		t.Run("ErrAccessExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			apptest.WarmToken(t, srv, a.Access)
			srv.Clock.Advance(service.AccessTokenTTL - time.Second)
			apptest.TokenAlive(t, srv, a.Access, true)
			srv.Clock.Advance(time.Second)
			apptest.TokenAlive(t, srv, a.Access, false)
			b := srv.RefreshTokens(a.Refresh)
			apptest.TokenAlive(t, srv, b.Access, true)
		})
		t.Run("ErrRefreshExpired", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(service.RefreshTokenTTL - time.Minute)
			b := srv.RefreshTokens(a.Refresh)
			srv.Clock.Advance(service.RefreshTokenTTL)
			apptest.RefreshRefused(t, srv, b.Refresh)
		})
		t.Run("ErrWrongToken", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tok := range []string{"nope", a.Access, "gh_rt_" + strings.Repeat("A", 43), strings.TrimPrefix(a.Refresh, "gh_rt_")} {
				apptest.RefreshRefused(t, srv, tok)
			}
			// Tokens are not interchangeable.
			apptest.TokenAlive(t, srv, a.Refresh, false)
			// None of that harmed the session.
			srv.RefreshTokens(a.Refresh)
		})
	})
}

func TestAuthLogout(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			other := srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.WarmToken(t, srv, a.Access)
			if resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access}); resp.Status != 204 {
				t.Fatalf("logout: %d %s", resp.Status, resp.Body)
			}
			apptest.TokenAlive(t, srv, a.Access, false)
			apptest.RefreshRefused(t, srv, a.Refresh)
			apptest.TokenAlive(t, srv, other.Access, true)
		})
		t.Run("ErrTwice", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access})
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout", Token: a.Access}), 401, "invalid_token")
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/logout"}), 401, "unauthenticated")
		})
	})
}

func TestAuthSessions(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(time.Minute)
			b := srv.SignIn("ada@example.com", apptest.TestPassword, map[string]string{"User-Agent": "Phone/1.0"})
			srv.Clock.Advance(time.Minute)
			apptest.TokenAlive(t, srv, b.Access, true)

			resp := srv.Do(apptest.GetAs("/v1/auth/sessions", a.Access))
			if resp.Status != 200 {
				t.Fatalf("list: %d %s", resp.Status, resp.Body)
			}
			for _, secretValue := range []string{a.Access, a.Refresh, b.Access, b.Refresh, apptest.SHA256Hex(a.Access), apptest.SHA256Hex(b.Refresh)} {
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
				srv.SignIn("ada@example.com", apptest.TestPassword)
			}
			p1 := srv.Must(200, apptest.GetAs("/v1/auth/sessions?limit=2", a.Access))
			cursor, _ := p1["next_cursor"].(string)
			if len(p1["data"].([]any)) != 2 || cursor == "" {
				t.Fatalf("page 1: %v", p1)
			}
			p2 := srv.Must(200, apptest.GetAs("/v1/auth/sessions?limit=2&cursor="+cursor, a.Access))
			if len(p2["data"].([]any)) != 1 || p2["next_cursor"] != nil {
				t.Fatalf("page 2: %v", p2)
			}
		})
		t.Run("OKDeleteOther", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			b := srv.SignIn("ada@example.com", apptest.TestPassword)
			apptest.WarmToken(t, srv, b.Access)
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + b.SessionID, Token: a.Access})
			apptest.TokenAlive(t, srv, b.Access, false)
			apptest.RefreshRefused(t, srv, b.Refresh)
			apptest.TokenAlive(t, srv, a.Access, true)
			if list := srv.Must(200, apptest.GetAs("/v1/auth/sessions", a.Access)); len(list["data"].([]any)) != 1 {
				t.Fatalf("sessions: %v", list)
			}
		})
		t.Run("OKDeleteCurrent", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + a.SessionID, Token: a.Access})
			apptest.TokenAlive(t, srv, a.Access, false)
		})
		t.Run("ErrSomeoneElses", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			eve := srv.SignUpTokens("Eve", "eve@example.com", "")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + a.SessionID, Token: eve.Access}), 404, gatehouse.ENOTFOUND)
			apptest.TokenAlive(t, srv, a.Access, true)
			// Someone else's session is not listed either.
			list := srv.Must(200, apptest.GetAs("/v1/auth/sessions", eve.Access))
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
			apptest.TokenAlive(t, srv, a.Access, true)
		})
		t.Run("ErrBadPage", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			nulCursor := gatehouse.Cursor{CreatedAt: time.Now(), ID: "\x00"}.Encode()
			badUTF8Cursor := gatehouse.Cursor{CreatedAt: time.Now(), ID: "\xff"}.Encode()
			for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=", "cursor=zzz", "cursor=e30", "cursor=" + nulCursor, "cursor=" + badUTF8Cursor} {
				resp := srv.Do(apptest.GetAs("/v1/auth/sessions?"+q, a.Access))
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
