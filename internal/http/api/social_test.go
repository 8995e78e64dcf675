package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// fakeGoogle is a real OpenID Connect provider in-process (mockoidc) whose
// answers a test can spoil: a wrong nonce, an ID token signed by another key.
type fakeGoogle struct {
	*mockoidc.MockOIDC
	wrongNonce, foreignKey atomic.Bool
}

func newFakeGoogle(t *testing.T) *fakeGoogle {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &fakeGoogle{MockOIDC: m}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint && g.wrongNonce.Load() {
				q := r.URL.Query()
				q.Set("nonce", "a-nonce-gatehouse-never-sent")
				r.URL.RawQuery = q.Encode()
			}
			if r.URL.Path != mockoidc.TokenEndpoint || !g.foreignKey.Load() {
				next.ServeHTTP(w, r)
				return
			}
			// Re-sign the ID token with a key the JWKS does not hold,
			// under the real key's id.
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if raw, ok := body["id_token"].(string); ok {
				claims := jwt.MapClaims{}
				tok, _, err := jwt.NewParser().ParseUnverified(raw, claims)
				if err == nil {
					forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
					forged.Header["kid"] = tok.Header["kid"]
					body["id_token"], _ = forged.SignedString(other)
				}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return g
}

// fakeGitHub is GitHub's OAuth and API surface over httptest: it checks the
// client secret and the PKCE verifier, and serves /user and /user/emails.
type fakeGitHub struct {
	*httptest.Server
	mu         sync.Mutex
	challenges map[string]string // code -> S256 challenge
	user       map[string]any
	emails     []map[string]any
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{challenges: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		g.mu.Lock()
		g.challenges[code] = q.Get("code_challenge")
		g.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		g.mu.Lock()
		challenge, ok := g.challenges[r.Form.Get("code")]
		delete(g.challenges, r.Form.Get("code"))
		g.mu.Unlock()
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		if !ok || r.Form.Get("client_secret") != "gh-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	api := func(v func() any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_test" {
				http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
				return
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			_ = json.NewEncoder(w).Encode(v())
		}
	}
	mux.HandleFunc("GET /api/user", api(func() any { return g.user }))
	mux.HandleFunc("GET /api/user/emails", api(func() any { return g.emails }))
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGitHub) set(user map[string]any, emails ...map[string]any) {
	g.mu.Lock()
	g.user, g.emails = user, emails
	g.mu.Unlock()
}

// socialServer starts Gatehouse with the fake providers configured. The
// fake Google issues tokens on Gatehouse's test clock (mockoidc's clock is
// package-wide: these tests do not run in parallel).
func socialServer(t *testing.T, e storetest.Engine, google *fakeGoogle, gh *fakeGitHub) *apptest.Server {
	clock := apptest.NewClock()
	old := mockoidc.NowFunc
	mockoidc.NowFunc = clock.Now
	t.Cleanup(func() { mockoidc.NowFunc = old })
	return providersServer(t, e, clock, google, gh)
}

// providersServer is socialServer without touching mockoidc's clock, for
// tests with no OpenID provider (SAML), which may run in parallel.
func providersServer(t *testing.T, e storetest.Engine, clock *apptest.Clock, google *fakeGoogle, gh *fakeGitHub) *apptest.Server {
	return apptest.New(t, e, apptest.Options{Clock: clock, Configure: func(c *app.Config) {
		if google != nil {
			c.GoogleClientID, c.GoogleClientSecret, c.GoogleIssuer = google.ClientID, google.ClientSecret, google.Issuer()
		}
		if gh != nil {
			c.GitHubClientID, c.GitHubClientSecret = "gh-client", "gh-secret"
			c.GitHubURL, c.GitHubAPIURL = gh.URL, gh.URL+"/api"
		}
	}})
}

func googleUser(sub, email string, verified bool) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: verified, PreferredUsername: "x"}
}

func TestSocialSignInRefusals(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		google := newFakeGoogle(t)
		s := socialServer(t, e, google, nil)

		t.Run("ProviderOff", func(t *testing.T) {
			apptest.Problem(t, apptest.Get(t, s.URL+"/v1/auth/oauth/github"), 404)
			apptest.Problem(t, apptest.Get(t, s.URL+"/v1/auth/oauth/github/callback?state=x&code=y"), 404)
			apptest.Problem(t, apptest.Get(t, s.URL+"/v1/auth/oauth/facebook"), 404)
		})
		t.Run("OpenRedirect", func(t *testing.T) {
			for _, to := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "http://gatehouse.test.evil.example/",
				"javascript:alert(1)", "http://gatehouse.test@evil.example/", "evil", "/%0d%0aSet-Cookie:x=y"} {
				resp := apptest.Get(t, s.URL+"/v1/auth/oauth/google?redirect_to="+url.QueryEscape(to))
				if resp.Status == 302 && !strings.HasPrefix(resp.Header.Get("Location"), google.Issuer()) {
					t.Fatalf("redirect_to %q: redirected to %s", to, resp.Header.Get("Location"))
				}
				if resp.Status == 302 {
					// Accepted only when it decoded to a local path.
					if !strings.HasPrefix(to, "/%0d") {
						t.Fatalf("redirect_to %q accepted", to)
					}
					continue
				}
				p := apptest.Problem(t, resp, 400)
				if p["code"] != "invalid" {
					t.Fatalf("redirect_to %q: %v", to, p)
				}
			}
			resp := apptest.Get(t, s.URL+"/v1/auth/oauth/google?mode=sideways")
			apptest.Problem(t, resp, 400)
		})
		t.Run("StateWithoutCookie", func(t *testing.T) {
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			f.Cookie = nil
			p := apptest.Problem(t, f.Finish(t), 400)
			if p["code"] != "invalid_state" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("StateOfAnotherBrowser", func(t *testing.T) {
			a := s.StartFlow("/v1/auth/oauth/google?mode=api")
			b := s.StartFlow("/v1/auth/oauth/google?mode=api")
			a.Cookie = b.Cookie
			apptest.Problem(t, a.Finish(t), 400)
		})
		t.Run("ForgedState", func(t *testing.T) {
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			u, _ := url.Parse(f.Callback)
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
			f.Callback = u.String()
			f.Cookie.Value = "forged"
			apptest.Problem(t, f.Finish(t), 400)
		})
		t.Run("ReplayedState", func(t *testing.T) {
			google.QueueUser(googleUser("replay-1", "replay@example.com", true))
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			apptest.Status(t, 200, f.Finish(t))
			p := apptest.Problem(t, f.Finish(t), 400)
			if p["code"] != "invalid_state" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("ExpiredFlow", func(t *testing.T) {
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			s.Clock.Advance(11 * time.Minute)
			apptest.Problem(t, f.Finish(t), 400)
		})
		t.Run("DeniedConsent", func(t *testing.T) {
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			u, _ := url.Parse(f.Callback)
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			u.RawQuery = q.Encode()
			f.Callback = u.String()
			p := apptest.Problem(t, f.Finish(t), 403)
			if p["code"] != "access_denied" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("WrongNonce", func(t *testing.T) {
			google.wrongNonce.Store(true)
			defer google.wrongNonce.Store(false)
			google.QueueUser(googleUser("nonce-1", "nonce@example.com", true))
			p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t), 401)
			if p["code"] != "invalid_id_token" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("ExpiredIDToken", func(t *testing.T) {
			google.AccessTTL = -time.Hour
			defer func() { google.AccessTTL = 10 * time.Minute }()
			google.QueueUser(googleUser("expired-1", "expired@example.com", true))
			p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t), 401)
			if p["code"] != "invalid_id_token" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("ForeignSignature", func(t *testing.T) {
			google.foreignKey.Store(true)
			defer google.foreignKey.Store(false)
			google.QueueUser(googleUser("forged-1", "forged@example.com", true))
			p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t), 401)
			if p["code"] != "invalid_id_token" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("UnverifiedEmail", func(t *testing.T) {
			s.Signup("Victim", "victim@example.com")
			google.QueueUser(googleUser("unverified-1", "victim@example.com", false))
			p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t), 403)
			if p["code"] != "provider_email_unverified" {
				t.Fatalf("%v", p)
			}
			tok := s.SignIn("victim@example.com", apptest.TestPassword).Access
			me := s.Must(200, apptest.GetAs("/v1/me", tok))
			if ids := me["identities"].([]any); len(ids) != 0 {
				t.Fatalf("an unverified address linked: %v", ids)
			}
		})
		t.Run("BrowserErrorIsAPage", func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/v1/auth/oauth/google/callback?state=nope&code=x", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := apptest.NoRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
		t.Run("NoSecretsAtRestOrInLogs", func(t *testing.T) {
			google.QueueUser(googleUser("secret-1", "secret@example.com", true))
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			state := f.Cookie.Value
			out := apptest.Status(t, 200, f.Finish(t))
			for _, v := range s.DBValues() {
				for _, secret := range []string{google.ClientSecret, state, out["access_token"].(string), out["refresh_token"].(string)} {
					if bytes.Contains(v.Value, []byte(secret)) {
						t.Fatalf("a secret is stored in clear: %s", v)
					}
				}
			}
			for _, secret := range []string{google.ClientSecret, state, out["refresh_token"].(string)} {
				if strings.Contains(s.Logs.String(), secret) {
					t.Fatalf("a secret is logged")
				}
			}
		})
	})
}

func TestSocialSignIn(t *testing.T) {
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		google := newFakeGoogle(t)
		gh := newFakeGitHub(t)
		s := socialServer(t, e, google, gh)

		t.Run("GoogleCreatesAccount", func(t *testing.T) {
			google.QueueUser(googleUser("g-new", "newbie@example.com", true))
			f := s.StartFlow("/v1/auth/oauth/google?mode=api")
			validateResponse(t, apptest.Req{Method: "GET", Path: "/v1/auth/oauth/google?mode=api"}, f.Start)
			resp := f.Finish(t)
			validateResponse(t, apptest.Req{Method: "GET", Path: strings.TrimPrefix(f.Callback, s.URL)}, resp)
			replay := f.Finish(t)
			validateResponse(t, apptest.Req{Method: "GET", Path: strings.TrimPrefix(f.Callback, s.URL)}, replay)
			out := apptest.Status(t, 200, resp)
			user := out["user"].(map[string]any)
			if user["email"] != "newbie@example.com" || user["email_verified"] != true || user["has_password"] != false {
				t.Fatalf("%v", user)
			}
			me := s.Must(200, apptest.GetAs("/v1/me", out["access_token"].(string)))
			ids := me["identities"].([]any)
			if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "google" || ids[0].(map[string]any)["email"] != "newbie@example.com" {
				t.Fatalf("%v", ids)
			}
			// The only way in cannot be removed; with a password it can.
			id := ids[0].(map[string]any)["id"].(string)
			tok := out["access_token"].(string)
			p := doValidated(t, s, 409, "last_sign_in_method", apptest.Req{Method: "DELETE", Path: "/v1/me/identities/" + id, Token: tok}).JSON(t)
			if p["code"] != "last_sign_in_method" {
				t.Fatalf("%v", p)
			}
			s.Must(204, apptest.Req{Method: "POST", Path: "/v1/auth/set-password", Token: tok, Body: map[string]string{"password": "another long password"}})
			apptest.Problem(t, s.Do(apptest.Req{Method: "DELETE", Path: "/v1/me/identities/nope", Token: tok}), 404)
			doValidated(t, s, 204, "", apptest.Req{Method: "DELETE", Path: "/v1/me/identities/" + id, Token: tok})
			if ids := doValidated(t, s, 200, "", apptest.GetAs("/v1/me/identities", tok)).JSON(t)["data"].([]any); len(ids) != 0 {
				t.Fatalf("%v", ids)
			}
		})
		t.Run("GoogleLinksExistingVerifiedAccount", func(t *testing.T) {
			_, user := s.Signup("Ada", "ada@example.com")
			google.QueueUser(googleUser("g-ada", "ADA@example.com", true))
			out := apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
			if out["user"].(map[string]any)["id"] != user["id"] {
				t.Fatalf("signed in to another account: %v", out["user"])
			}
			// Again: the linked identity, same account; password still works.
			google.QueueUser(googleUser("g-ada", "ada@example.com", true))
			again := apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
			if again["user"].(map[string]any)["id"] != user["id"] {
				t.Fatal("second sign-in reached another account")
			}
			s.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("UnverifiedPasswordAccountIsTakenOver", func(t *testing.T) {
			s.Must(201, apptest.Post("/v1/auth/register", "name", "Squatter", "email", "owner@example.com", "password", "squatters password"))
			google.QueueUser(googleUser("g-owner", "owner@example.com", true))
			apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/google?mode=api").Finish(t))
			apptest.Problem(t, s.Do(apptest.Post("/v1/auth/login", "email", "owner@example.com", "password", "squatters password")), 401)
		})
		t.Run("WebModeSetsCookiesAndRedirects", func(t *testing.T) {
			google.QueueUser(googleUser("g-web", "web@example.com", true))
			f := s.StartFlow("/v1/auth/oauth/google?redirect_to=" + url.QueryEscape("http://gatehouse.test/dashboard/members?x=1"))
			resp := f.Finish(t)
			validateResponse(t, apptest.Req{Method: "GET", Path: strings.TrimPrefix(f.Callback, s.URL)}, resp)
			if resp.Status != 302 || resp.Header.Get("Location") != "/dashboard/members?x=1" {
				t.Fatalf("status %d location %q: %s", resp.Status, resp.Header.Get("Location"), resp.Body)
			}
			if c := resp.Cookie("gh_access"); c == nil || c.Value == "" {
				t.Fatal("no session cookie")
			}
			if c := resp.Cookie("gh_auth_flow"); c == nil || c.MaxAge >= 0 {
				t.Fatal("the state cookie was not cleared")
			}
		})
		t.Run("GitHubCreatesAccountFromPrimaryVerifiedEmail", func(t *testing.T) {
			gh.set(map[string]any{"id": 4242, "login": "octo", "name": ""},
				map[string]any{"email": "other@example.com", "primary": false, "verified": true},
				map[string]any{"email": "octo@example.com", "primary": true, "verified": true})
			out := apptest.Status(t, 200, s.StartFlow("/v1/auth/oauth/github?mode=api").Finish(t))
			user := out["user"].(map[string]any)
			if user["email"] != "octo@example.com" || user["name"] != "octo" {
				t.Fatalf("%v", user)
			}
		})
		t.Run("GitHubUnverifiedPrimaryRefused", func(t *testing.T) {
			gh.set(map[string]any{"id": 4343, "login": "shady"},
				map[string]any{"email": "shady@example.com", "primary": true, "verified": false},
				map[string]any{"email": "verified@example.com", "primary": false, "verified": true})
			p := apptest.Problem(t, s.StartFlow("/v1/auth/oauth/github?mode=api").Finish(t), 403)
			if p["code"] != "provider_email_unverified" {
				t.Fatalf("%v", p)
			}
		})
		t.Run("GitHubWrongVerifierRefused", func(t *testing.T) {
			gh.set(map[string]any{"id": 4444, "login": "pk"}, map[string]any{"email": "pk@example.com", "primary": true, "verified": true})
			f := s.StartFlow("/v1/auth/oauth/github?mode=api")
			// Another flow's code: its challenge does not match this verifier.
			other := s.StartFlow("/v1/auth/oauth/github?mode=api")
			u, _ := url.Parse(f.Callback)
			ou, _ := url.Parse(other.Callback)
			q := u.Query()
			q.Set("code", ou.Query().Get("code"))
			u.RawQuery = q.Encode()
			f.Callback = u.String()
			p := apptest.Problem(t, f.Finish(t), 401)
			if p["code"] != "code_exchange_failed" {
				t.Fatalf("%v", p)
			}
		})
	})
}
