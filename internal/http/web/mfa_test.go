package web_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// totpCode is RFC 6238 (SHA-1, 6 digits, 30 s) from the base32 secret.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1000000)
}

var mfaTokenField = regexp.MustCompile(`name="mfa_token" value="(gh_mfa_[^"]+)"`)

// TestLoginSecondFactor: a dashboard sign-in of an account with an
// authenticator app asks for its code before any session.
func TestLoginSecondFactor(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		a := s.SignUpTokens("Ada", "ada@example.com", pw)
		secret := s.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: a.Access})["secret"].(string)
		s.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Token: a.Access,
			Body: map[string]string{"code": totpCode(t, secret, s.Clock.Now())}})
		s.Clock.Advance(time.Minute)

		c := s.WebClient()
		r := c.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {pw}})
		apptest.WantPage(t, r, 200, "Two-factor sign-in")
		if len(r.Header.Values("Set-Cookie")) != 0 && regexp.MustCompile(`gh_access=[^;]+`).MatchString(fmt.Sprint(r.Header.Values("Set-Cookie"))) {
			t.Fatalf("a session cookie before the second factor: %v", r.Header.Values("Set-Cookie"))
		}
		m := mfaTokenField.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no mfa_token in the page: %.1500s", r.Body)
		}
		r = c.Post("/login/mfa", url.Values{"mfa_token": {m[1]}, "code": {"000000"}})
		apptest.WantPage(t, r, 401, "wrong")
		apptest.WantRedirect(t, c.Post("/login/mfa", url.Values{"mfa_token": {m[1]}, "code": {totpCode(t, secret, s.Clock.Now())}}), "/dashboard")
		apptest.WantRedirect(t, c.Get("/dashboard"), "/orgs/new") // signed in (no organization yet)
		apptest.WantPage(t, c.Get("/sessions"), 200, "Signed in with password and authenticator code")
		// The token is spent: another try goes back to the sign-in.
		apptest.WantRedirect(t, c.Post("/login/mfa", url.Values{"mfa_token": {m[1]}, "code": {"123456"}}), "/login")
	})
}
