package api_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// rfc6238 computes the 6-digit TOTP code (SHA-1, 30 s) of a base32 secret
// at t, straight from RFC 6238 / RFC 4226: nothing shared with the server.
func rfc6238(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		t.Fatalf("secret %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", bin%1000000)
}

// mfaUser signs up a user and turns an authenticator app on; it returns
// the session, the secret and the recovery codes.
func mfaUser(t *testing.T, srv *apptest.Server, email string) (*apptest.AuthTokens, string, []string) {
	t.Helper()
	a := srv.SignUpTokens("Ada", email, "")
	start := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: a.Access})
	secret := start["secret"].(string)
	out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Token: a.Access,
		Body: map[string]string{"code": rfc6238(t, secret, srv.Clock.Now())}})
	var codes []string
	for _, c := range out["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	return a, secret, codes
}

func mfaLogin(t *testing.T, srv *apptest.Server, email string) string {
	t.Helper()
	out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": apptest.TestPassword}})
	if out["mfa_required"] != true || out["access_token"] != nil || out["refresh_token"] != nil {
		t.Fatalf("login of an account with a second factor answered %v, want mfa_required and no session", out)
	}
	tok, _ := out["mfa_token"].(string)
	if !strings.HasPrefix(tok, "gh_mfa_") || fmt.Sprint(out["methods"]) != "[totp recovery_code]" {
		t.Fatalf("login answered %v", out)
	}
	return tok
}

func mfaVerify(srv *apptest.Server, token, code string) *apptest.Response {
	return srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify", Body: map[string]string{"mfa_token": token, "code": code}})
}

func TestMFATOTP(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("FailEnrollment", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			confirm := func(code string) *apptest.Response {
				return srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Token: a.Access, Body: map[string]string{"code": code}})
			}
			apptest.ProblemCode(t, confirm("123456"), 409, "totp_not_pending")
			start := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: a.Access})
			secret := start["secret"].(string)
			u, err := url.Parse(start["otpauth_url"].(string))
			if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Gatehouse:ada@example.com" ||
				u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Gatehouse" {
				t.Fatalf("otpauth_url %v", start["otpauth_url"])
			}
			if !strings.HasPrefix(start["qr_code"].(string), "data:image/png;base64,") {
				t.Fatal("no QR code")
			}
			apptest.Problem(t, confirm("12345"), 400)
			wrong := rfc6238(t, secret, srv.Clock.Now().Add(5*time.Minute))
			apptest.ProblemCode(t, confirm(wrong), 401, "invalid_mfa_code")
			// Not on yet: a sign-in is unchanged.
			srv.SignIn("ada@example.com", apptest.TestPassword)
			for _, v := range srv.DBValues() {
				if strings.Contains(string(v.Value), secret) {
					t.Fatalf("the TOTP secret is stored in clear: %s", v)
				}
			}
			out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp/confirm", Token: a.Access,
				Body: map[string]string{"code": rfc6238(t, secret, srv.Clock.Now())}})
			codes := out["recovery_codes"].([]any)
			if len(codes) != 10 {
				t.Fatalf("recovery codes %v", codes)
			}
			for _, v := range srv.DBValues() {
				for _, c := range codes {
					if strings.Contains(string(v.Value), strings.ReplaceAll(c.(string), "-", "")) {
						t.Fatalf("a recovery code is stored in clear: %s", v)
					}
				}
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/mfa/totp", Token: a.Access}), 409, "totp_already_enabled")
			st := srv.Must(200, apptest.GetAs("/v1/me/mfa", a.Access))
			if st["totp_enabled"] != true || st["recovery_codes_left"] != float64(10) {
				t.Fatalf("status %v", st)
			}
		})
		t.Run("FailVerify", func(t *testing.T) {
			srv := apptest.New(t, e)
			_, secret, _ := mfaUser(t, srv, "ada@example.com")
			// The password step still refuses a wrong password first.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "ada@example.com", "password": "wrong password!"}}), 401)
			srv.Clock.Advance(time.Minute)
			tok := mfaLogin(t, srv, "ada@example.com")
			apptest.ProblemCode(t, mfaVerify(srv, "gh_mfa_nope", rfc6238(t, secret, srv.Clock.Now())), 401, "invalid_mfa_token")
			apptest.Problem(t, mfaVerify(srv, tok, ""), 400)
			// Two steps away is outside the skew.
			for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
				apptest.ProblemCode(t, mfaVerify(srv, tok, rfc6238(t, secret, srv.Clock.Now().Add(d))), 401, "invalid_mfa_code")
			}
			for range 3 {
				apptest.ProblemCode(t, mfaVerify(srv, tok, "000000x"), 401, "invalid_mfa_code")
			}
			// Five wrong codes: the token is dead, even for the right code.
			apptest.ProblemCode(t, mfaVerify(srv, tok, rfc6238(t, secret, srv.Clock.Now())), 401, "invalid_mfa_token")
			// It expires after five minutes.
			tok = mfaLogin(t, srv, "ada@example.com")
			srv.Clock.Advance(5*time.Minute + time.Second)
			apptest.ProblemCode(t, mfaVerify(srv, tok, rfc6238(t, secret, srv.Clock.Now())), 401, "invalid_mfa_token")
			// The API's Login refuses the web form's shortcut too (no session without the code).
			if n := len(srv.AuditEvents("", "session.created")); n != 1 {
				t.Fatalf("%d sessions created, want only the sign-up's", n)
			}
		})
		t.Run("OKVerifyOnceWithSkew", func(t *testing.T) {
			srv := apptest.New(t, e)
			a, secret, _ := mfaUser(t, srv, "ada@example.com")
			srv.Clock.Advance(2 * time.Minute)
			tok := mfaLogin(t, srv, "ada@example.com")
			code := rfc6238(t, secret, srv.Clock.Now().Add(-30*time.Second)) // one step of skew
			out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify", Body: map[string]string{"mfa_token": tok, "code": code}})
			if out["access_token"] == nil || out["user"].(map[string]any)["email"] != "ada@example.com" {
				t.Fatalf("verify: %v", out)
			}
			// The token works once.
			apptest.ProblemCode(t, mfaVerify(srv, tok, rfc6238(t, secret, srv.Clock.Now())), 401, "invalid_mfa_token")
			// The same code (or an older one) does not work twice.
			tok2 := mfaLogin(t, srv, "ada@example.com")
			apptest.ProblemCode(t, mfaVerify(srv, tok2, code), 401, "invalid_mfa_code")
			// The next step's code works (skew ahead).
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify",
				Body: map[string]string{"mfa_token": tok2, "code": rfc6238(t, secret, srv.Clock.Now().Add(30*time.Second))}})
			list := srv.Must(200, apptest.GetAs("/v1/auth/sessions", out["access_token"].(string)))
			amr := map[string]string{}
			for _, s := range list["data"].([]any) {
				s := s.(map[string]any)
				amr[s["id"].(string)] = fmt.Sprint(s["amr"])
			}
			if amr[a.SessionID] != "[pwd]" || amr[out["session_id"].(string)] != "[pwd otp]" || len(amr) != 3 {
				t.Fatalf("sessions' amr %v", amr)
			}
		})
		t.Run("OKRecoveryCodes", func(t *testing.T) {
			srv := apptest.New(t, e)
			a, _, codes := mfaUser(t, srv, "ada@example.com")
			tok := mfaLogin(t, srv, "ada@example.com")
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify", Body: map[string]string{"mfa_token": tok, "code": strings.ToUpper(codes[0])}})
			tok = mfaLogin(t, srv, "ada@example.com")
			apptest.ProblemCode(t, mfaVerify(srv, tok, codes[0]), 401, "invalid_mfa_code")
			fresh := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/mfa/recovery-codes", Token: a.Access})["recovery_codes"].([]any)
			apptest.ProblemCode(t, mfaVerify(srv, tok, codes[1]), 401, "invalid_mfa_code") // the old set died
			srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify", Body: map[string]string{"mfa_token": tok, "code": fresh[1].(string)}})
		})
		t.Run("Disable", func(t *testing.T) {
			srv := apptest.New(t, e)
			a, secret, _ := mfaUser(t, srv, "ada@example.com")
			del := func(body map[string]string) *apptest.Response {
				return srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/me/mfa/totp", Token: a.Access, Body: body})
			}
			apptest.Problem(t, del(map[string]string{}), 400)
			apptest.ProblemCode(t, del(map[string]string{"password": "not the password"}), 403, "wrong_proof")
			// The code used to confirm does not work again.
			apptest.ProblemCode(t, del(map[string]string{"code": rfc6238(t, secret, srv.Clock.Now())}), 403, "wrong_proof")
			srv.Clock.Advance(30 * time.Second)
			if r := del(map[string]string{"code": rfc6238(t, secret, srv.Clock.Now())}); r.Status != 204 {
				t.Fatalf("disable: %d %s", r.Status, r.Body)
			}
			srv.SignIn("ada@example.com", apptest.TestPassword) // a plain sign-in again
			apptest.ProblemCode(t, del(map[string]string{"password": apptest.TestPassword}), 409, "totp_not_enabled")
			if n := len(srv.AuditEvents("", "mfa.totp_disabled")); n != 1 {
				t.Fatalf("%d mfa.totp_disabled events", n)
			}
		})
	})
}

// TestMFARaces: one mfa_token, or one code across two tokens, opens at most
// one session however many requests race (PostgreSQL especially).
func TestMFARaces(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		_, secret, _ := mfaUser(t, srv, "ada@example.com")
		srv.Clock.Advance(time.Minute)
		race := func(tokens []string, code string) int {
			done := make(chan int, len(tokens))
			for _, tok := range tokens {
				go func() { done <- mfaVerify(srv, tok, code).Status }()
			}
			ok := 0
			for range tokens {
				switch st := <-done; st {
				case 200:
					ok++
				case 401:
				default:
					t.Errorf("a racing verify answered %d, want 200 or 401", st)
				}
			}
			return ok
		}
		one := mfaLogin(t, srv, "ada@example.com")
		if n := race([]string{one, one, one, one, one, one}, rfc6238(t, secret, srv.Clock.Now())); n != 1 {
			t.Fatalf("%d sessions from one mfa_token, want 1", n)
		}
		srv.Clock.Advance(time.Minute)
		var tokens []string
		for range 4 {
			tokens = append(tokens, mfaLogin(t, srv, "ada@example.com"))
		}
		if n := race(tokens, rfc6238(t, secret, srv.Clock.Now())); n != 1 {
			t.Fatalf("%d sessions from one code over several tokens, want 1", n)
		}
	})
}
