package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAuthAPIAccessCheck(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "Ada@example.com", "")
			out := srv.Must(200, apptest.GetAs("/v1/auth/api-access-check", a.Access))
			if out["kind"] != "user" || out["id"] != a.User["id"] || out["email"] != "Ada@example.com" || out["name"] != "Ada" {
				t.Fatalf("principal: %v", out)
			}
			if v, ok := out["organization_id"]; !ok || v != nil {
				t.Fatalf("organization_id: %v, want null", out)
			}
			// With a current organization, it is shown.
			org := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: a.Access, Body: apptest.Fields("name", "Acme")})
			if out := srv.Must(200, apptest.GetAs("/v1/auth/api-access-check", a.Access)); out["organization_id"] != org["id"] || org["id"] == nil {
				t.Fatalf("principal: %v, want organization %v", out, org["id"])
			}
			if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["current_organization_id"] != org["id"] {
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
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			verifyCode := srv.LastCode("ada@example.com")
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
			resetCode := srv.LastCode("ada@example.com")
			out := srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", resetCode))
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
				for _, s := range []string{apptest.TestPassword, a.Access, a.Refresh, resetToken, "gh_", apptest.SHA256Hex(a.Access)} {
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
	t.Parallel()
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
			secrets = append(secrets, apptest.TestPassword, newPW)

			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", email, "password", apptest.TestPassword))
			c := srv.LastCode(email)
			codes = append(codes, c)
			srv.Must(200, apptest.Post("/v1/auth/verify-email", "email", email, "otp", c))
			a := srv.SignIn(email, apptest.TestPassword)
			apptest.WarmToken(t, srv, a.Access)
			b := srv.RefreshTokens(a.Refresh)
			apptest.TokenAlive(t, srv, b.Access, true)
			c2 := srv.SignIn(email, apptest.TestPassword)
			addTokens(a, b, c2)

			srv.Clock.Advance(time.Minute)
			srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", email))
			rc := srv.LastCode(email)
			codes = append(codes, rc)
			out := srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", email, "otp", rc))
			rt := out["reset_token"].(string)
			secrets = append(secrets, rt, strings.TrimPrefix(rt, service.ResetTokenPrefix))
			srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", rt, "password", newPW))
			d := srv.SignIn(email, newPW)
			srv.Must(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: d.Access, Body: apptest.Fields("current_password", newPW, "new_password", newPW+"!")})
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
			for _, want := range []string{apptest.SHA256Hex(d2.Access), apptest.SHA256Hex(d2.Refresh), email, "$argon2id$"} {
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
				if !strings.Contains(string(raw), apptest.SHA256Hex(d2.Access)) {
					t.Fatalf("the raw files (%d: %v) do not hold the newest session", len(files), apptest.Keys(files))
				}
			}
		})
	})
}

// TestAuthSessionCache: the middleware answers a recently seen session from
// memory, yet every way of ending a session takes effect on the very next
// request.
func TestAuthSessionCache(t *testing.T) {
	t.Parallel()
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
				apptest.RefreshRefused(t, srv, victim.Body["previous_refresh"].(string))
			}},
			{"ErrPasswordChanged", func(t *testing.T, srv *apptest.Server, victim, other *apptest.AuthTokens) {
				srv.Must(204, apptest.Req{Method: "PUT", Path: "/v1/auth/password", Token: other.Access, Body: apptest.Fields("current_password", apptest.TestPassword, "new_password", "a brand new password")})
			}},
			{"ErrPasswordReset", func(t *testing.T, srv *apptest.Server, _, _ *apptest.AuthTokens) {
				srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", "ada@example.com"))
				out := srv.Must(200, apptest.Post("/v1/auth/forgot-password/verify", "email", "ada@example.com", "otp", srv.LastCode("ada@example.com")))
				srv.Must(204, apptest.Post("/v1/auth/forgot-password/set", "reset_token", out["reset_token"].(string), "password", "a brand new password"))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := apptest.New(t, e)
				first := srv.SignUpTokens("Ada", "ada@example.com", "")
				victim := srv.RefreshTokens(first.Refresh)
				victim.Body["previous_refresh"] = first.Refresh
				other := srv.SignIn("ada@example.com", apptest.TestPassword)
				apptest.WarmToken(t, srv, victim.Access)
				tc.end(t, srv, victim, other)
				apptest.TokenAlive(t, srv, victim.Access, false)
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
	t.Parallel()
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
				{"POST", "/v1/auth/register", false, map[string]any{"name": "Eve", "email": "eve@example.com", "password": apptest.TestPassword},
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
							token = srv.SignIn("ada@example.com", apptest.TestPassword).Access
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
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("ErrHeaders", func(t *testing.T) {
			srv := apptest.New(t, e)
			srv.SignUpTokens("Ada", "ada@example.com", "")
			// A user agent that is not UTF-8 is stored with the session and
			// the audit events; it must not break the request.
			h := map[string]string{"User-Agent": "Bad\xff\xfeAgent/1.0"}
			resp := srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: apptest.Fields("email", "ada@example.com", "password", apptest.TestPassword), Header: h})
			if resp.Status != 200 {
				t.Fatalf("login: %d %s", resp.Status, resp.Body)
			}
			tok := resp.JSON(t)["access_token"].(string)
			resp = srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/register", Body: apptest.Fields("name", "Eve", "email", "eve@example.com", "password", apptest.TestPassword), Header: h})
			if resp.Status != 201 {
				t.Fatalf("register: %d %s", resp.Status, resp.Body)
			}
			list := srv.Must(200, apptest.GetAs("/v1/auth/sessions", tok))
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
