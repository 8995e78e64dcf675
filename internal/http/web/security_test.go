package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestSecurityPageRefusals: the /profile/security forms and the passkey
// sign-in forms refuse bad input with a page or a flash, never a 500.
func TestSecurityPageRefusals(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		apptest.WantRedirect(t, s.WebClient().Get("/profile/security"), "/login")

		s.SignUpTokens("Ada", "ada@example.com", pw)
		bob := s.SignUpTokens("Bob", "bob@example.com", pw)
		key := apptest.NewSoftAuthenticator(t, "http://gatehouse.test", "gatehouse.test")
		opts := s.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: bob.Access})
		bobKey := s.Must(201, apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: bob.Access,
			Body: map[string]any{"credential": key.Register(t, opts)}})["id"].(string)

		c := s.WebClient()
		apptest.WantRedirect(t, c.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {pw}}), "/dashboard")
		apptest.WantPage(t, c.Get("/profile/security"), 200, "Set up an authenticator app", "Add a passkey")

		// Enrollment: a wrong code keeps the QR code to retry; a QR code that
		// is not this page's PNG is not shown back.
		r := c.Post("/profile/security/totp", nil)
		apptest.WantPage(t, r, 200, "Code from the app", "data:image/png;base64,")
		r = c.Post("/profile/security/totp/confirm", url.Values{"code": {"000000"}, "secret": {"ABC"}, "qr_code": {"javascript:alert(1)"}})
		apptest.WantPage(t, r, 401, "Code from the app")
		if strings.Contains(r.Body, "javascript:") {
			t.Fatal("a posted qr_code was shown back")
		}
		apptest.WantPage(t, c.Post("/profile/security/totp/confirm", url.Values{"code": {"12"}, "secret": {"ABC"}}), 400, "Code from the app", "must be the 6 digits")

		// Passkeys: garbage, and another user's passkey (not found).
		apptest.WantRedirect(t, c.Post("/profile/security/passkeys", url.Values{"credential": {"{not json"}}), "/profile/security")
		apptest.WantPage(t, c.Get("/profile/security"), 200, "The passkey response was refused")
		for _, action := range []string{"rename", "delete"} {
			apptest.WantRedirect(t, c.Post("/profile/security/passkeys/"+bobKey+"/"+action, url.Values{"name": {"mine"}}), "/profile/security")
			apptest.WantPage(t, c.Get("/profile/security"), 200, "Passkey not found.")
		}
		// The options are JSON for this origin's script only.
		r = c.Post("/profile/security/passkeys/options", nil)
		if r.Status != 200 || !strings.Contains(r.Header.Get("Content-Type"), "application/json") || !strings.Contains(r.Body, `"publicKey"`) {
			t.Fatalf("options: %d %s", r.Status, r.Body)
		}
		if r := c.Post("/profile/security/passkeys/options", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); r.Status != 403 {
			t.Fatalf("cross-site options: %d", r.Status)
		}

		// Passwordless sign-in with garbage: the sign-in page, with the reason.
		anon := s.WebClient()
		apptest.WantPage(t, anon.Post("/login/passkey", url.Values{"credential": {"[]"}}), 400, "Sign in", "The passkey response was refused")
		apptest.WantPage(t, anon.Post("/login/passkey", nil), 400, "Sign in")

		// Bob's second step: a refused passkey drops the spent options and
		// says so; there is no code form for him (no app).
		r = anon.Post("/login", url.Values{"email": {"bob@example.com"}, "password": {pw}})
		apptest.WantPage(t, r, 200, "Two-factor sign-in", "Use a passkey")
		if strings.Contains(r.Body, `name="code"`) {
			t.Fatal("a code form for an account without an app")
		}
		m := mfaTokenField.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no mfa_token: %.1500s", r.Body)
		}
		r = anon.Post("/login/mfa", url.Values{"mfa_token": {m[1]}, "has_passkey": {"1"}, "credential": {`{"id":"x"}`}})
		apptest.WantPage(t, r, 400, "The passkey response was refused")
		if strings.Contains(r.Body, "data-request") || anon.Cookie("gh_access") != nil {
			t.Fatalf("after a refused passkey: %.1500s", r.Body)
		}
	})
}
