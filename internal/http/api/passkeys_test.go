package api_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

const pkOrigin, pkRPID = "http://gatehouse.test", "gatehouse.test"

// addPasskey registers a new software passkey for the signed-in user.
func addPasskey(t *testing.T, srv *apptest.Server, token, name string) (*apptest.SoftAuthenticator, map[string]any) {
	t.Helper()
	a := apptest.NewSoftAuthenticator(t, pkOrigin, pkRPID)
	opts := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: token})
	out := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: token,
		Body: map[string]any{"name": name, "credential": a.Register(t, opts)}})
	return a, out
}

func passkeyOptions(srv *apptest.Server, email string) map[string]any {
	body := map[string]any{}
	if email != "" {
		body["email"] = email
	}
	return srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/passkey/options", Body: body})
}

func passkeyLogin(srv *apptest.Server, cred map[string]any) *apptest.Response {
	return srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/passkey", Body: map[string]any{"credential": cred}})
}

func sessionAMR(t *testing.T, srv *apptest.Server, token, sessionID string) string {
	t.Helper()
	for _, s := range srv.Must(200, apptest.GetAs("/v1/auth/sessions", token))["data"].([]any) {
		if s := s.(map[string]any); s["id"] == sessionID {
			return fmt.Sprint(s["amr"])
		}
	}
	t.Fatalf("session %s not listed", sessionID)
	return ""
}

func TestPasskeys(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("FailRegistration", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			add := func(body any) *apptest.Response {
				return srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: ada.Access, Body: body})
			}
			// Bad JSON, missing and mistyped fields: 400 naming the field.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: ada.Access, Body: `{"credential":`, ContentType: "application/json"}), 400)
			apptest.ProblemCode(t, add(map[string]any{"name": "x"}), 400, "invalid")
			apptest.ProblemCode(t, add(map[string]any{"credential": "not a credential"}), 400, "invalid_credential")
			apptest.ProblemCode(t, add(map[string]any{"credential": map[string]any{"id": "x", "type": "public-key"}}), 400, "invalid_credential")
			apptest.Problem(t, add(map[string]any{"credential": map[string]any{}, "extra": 1}), 400)
			apptest.ProblemCode(t, add(map[string]any{"name": strings.Repeat("n", 101), "credential": map[string]any{}}), 400, "invalid")
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options"}), 401)

			opts := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			pk := opts["publicKey"].(map[string]any)
			if pk["rp"].(map[string]any)["id"] != pkRPID || pk["user"].(map[string]any)["name"] != "ada@example.com" {
				t.Fatalf("creation options %v", opts)
			}
			// A response from another origin is refused, and spends the challenge.
			evil := apptest.NewSoftAuthenticator(t, "http://evil.test", pkRPID)
			apptest.ProblemCode(t, add(map[string]any{"credential": evil.Register(t, opts)}), 400, "invalid_credential")
			good := apptest.NewSoftAuthenticator(t, pkOrigin, pkRPID)
			apptest.ProblemCode(t, add(map[string]any{"credential": good.Register(t, opts)}), 400, "invalid_challenge")
			// A key for another RP id is refused.
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			other := apptest.NewSoftAuthenticator(t, pkOrigin, "example.org")
			apptest.ProblemCode(t, add(map[string]any{"credential": other.Register(t, opts)}), 400, "invalid_credential")
			// An expired challenge.
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			srv.Clock.Advance(5*time.Minute + time.Second)
			apptest.ProblemCode(t, add(map[string]any{"credential": good.Register(t, opts)}), 400, "invalid_challenge")
			// Another user's challenge does not serve.
			bob := srv.SignUpTokens("Bob", "bob@example.com", "")
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: bob.Access})
			apptest.ProblemCode(t, add(map[string]any{"credential": good.Register(t, opts)}), 400, "invalid_challenge")
			// The right one, once: replaying the response fails.
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			cred := good.Register(t, opts)
			if r := add(map[string]any{"name": "Laptop", "credential": cred}); r.Status != 201 {
				t.Fatalf("register: %d %s", r.Status, r.Body)
			}
			apptest.ProblemCode(t, add(map[string]any{"name": "Laptop", "credential": cred}), 400, "invalid_challenge")
			// Its id is excluded from the next options; registering it again is a conflict.
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			if ex := fmt.Sprint(opts["publicKey"].(map[string]any)["excludeCredentials"]); !strings.Contains(ex, cred["id"].(string)) {
				t.Fatalf("excludeCredentials %s lacks the registered id", ex)
			}
			apptest.ProblemCode(t, add(map[string]any{"credential": good.Register(t, opts)}), 409, "passkey_exists")
			// Challenges are stored as hashes only.
			challenge := opts["publicKey"].(map[string]any)["challenge"].(string)
			for _, v := range srv.DBValues() {
				if strings.Contains(string(v.Value), challenge) {
					t.Fatalf("a challenge is stored in clear: %s", v)
				}
			}
			if n := len(srv.AuditEvents("", "passkey.added")); n != 1 {
				t.Fatalf("%d passkey.added events, want 1", n)
			}
		})
		t.Run("ManageOwnOnly", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			bob := srv.SignUpTokens("Bob", "bob@example.com", "")
			_, k := addPasskey(t, srv, ada.Access, "Laptop")
			id := k["id"].(string)
			if k["name"] != "Laptop" || k["last_used_at"] != nil {
				t.Fatalf("passkey %v", k)
			}
			for _, path := range []string{"/v1/me/passkeys/" + id, "/v1/me/passkeys/nope", "/v1/me/passkeys/%00"} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "PATCH", Path: path, Token: bob.Access, Body: map[string]string{"name": "mine"}}), 404)
				apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: path, Token: bob.Access}), 404)
			}
			if l := srv.Must(200, apptest.GetAs("/v1/me/passkeys", bob.Access))["data"].([]any); len(l) != 0 {
				t.Fatalf("bob lists %v", l)
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "PATCH", Path: "/v1/me/passkeys/" + id, Token: ada.Access, Body: map[string]string{"name": " "}}), 400, "invalid")
			out := srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me/passkeys/" + id, Token: ada.Access, Body: map[string]string{"name": "Work laptop"}})
			if out["name"] != "Work laptop" {
				t.Fatalf("rename: %v", out)
			}
			l := srv.Must(200, apptest.GetAs("/v1/me/passkeys", ada.Access))["data"].([]any)
			if len(l) != 1 || l[0].(map[string]any)["name"] != "Work laptop" {
				t.Fatalf("list %v", l)
			}
			if st := srv.Must(200, apptest.GetAs("/v1/me/mfa", ada.Access)); st["passkeys"] != float64(1) || fmt.Sprint(st["methods"]) != "[passkey]" {
				t.Fatalf("mfa status %v", st)
			}
			if r := srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/me/passkeys/" + id, Token: ada.Access}); r.Status != 204 {
				t.Fatalf("delete: %d", r.Status)
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/me/passkeys/" + id, Token: ada.Access}), 404)
			for _, action := range []string{"passkey.renamed", "passkey.removed"} {
				if n := len(srv.AuditEvents("", action)); n != 1 {
					t.Fatalf("%d %s events", n, action)
				}
			}
			// Without a passkey, the password sign-in is a plain one again.
			srv.SignIn("ada@example.com", apptest.TestPassword)
		})
		t.Run("Passwordless", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			bob := srv.SignUpTokens("Bob", "bob@example.com", "")
			key, _ := addPasskey(t, srv, ada.Access, "Laptop")
			bobKey, _ := addPasskey(t, srv, bob.Access, "Phone")

			// Discoverable: no email, no allowCredentials.
			opts := passkeyOptions(srv, "")
			if ac := opts["publicKey"].(map[string]any)["allowCredentials"]; ac != nil {
				t.Fatalf("discoverable options list credentials: %v", ac)
			}
			cred := key.Sign(t, opts)
			out := apptest.Status(t, 200, passkeyLogin(srv, cred))
			if out["access_token"] == nil || out["user"].(map[string]any)["email"] != "ada@example.com" {
				t.Fatalf("passkey sign-in: %v", out)
			}
			if amr := sessionAMR(t, srv, out["access_token"].(string), out["session_id"].(string)); amr != "[hwk]" {
				t.Fatalf("amr %s, want [hwk]", amr)
			}
			// Replayed: the challenge worked once.
			apptest.ProblemCode(t, passkeyLogin(srv, cred), 401, "invalid_challenge")
			// Expired.
			opts = passkeyOptions(srv, "")
			srv.Clock.Advance(5*time.Minute + time.Second)
			apptest.ProblemCode(t, passkeyLogin(srv, key.Sign(t, opts)), 401, "invalid_challenge")
			// With an email: that account's credentials only; bob's key is refused.
			opts = passkeyOptions(srv, "ada@example.com")
			if ac := fmt.Sprint(opts["publicKey"].(map[string]any)["allowCredentials"]); !strings.Contains(ac, b64url(key.CredID)) || strings.Contains(ac, b64url(bobKey.CredID)) {
				t.Fatalf("allowCredentials %s", ac)
			}
			apptest.ProblemCode(t, passkeyLogin(srv, bobKey.Sign(t, opts)), 401, "invalid_passkey")
			// A user handle that is not the key's owner.
			opts = passkeyOptions(srv, "")
			forged := *bobKey
			forged.UserHandle = key.UserHandle
			apptest.ProblemCode(t, passkeyLogin(srv, forged.Sign(t, opts)), 401, "invalid_passkey")
			// Wrong origin.
			opts = passkeyOptions(srv, "")
			wrong := *key
			wrong.Origin = "http://evil.test"
			apptest.ProblemCode(t, passkeyLogin(srv, wrong.Sign(t, opts)), 401, "invalid_passkey")
			// An unknown key.
			apptest.ProblemCode(t, passkeyLogin(srv, apptest.NewSoftAuthenticator(t, pkOrigin, pkRPID).Sign(t, passkeyOptions(srv, ""))), 401, "invalid_passkey")
			// Bad JSON and missing fields.
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/passkey", Body: `{"credential": [`, ContentType: "application/json"}), 400)
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/passkey", Body: map[string]any{}}), 400, "invalid")
			apptest.ProblemCode(t, passkeyLogin(srv, map[string]any{"id": 3}), 400, "invalid_credential")
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/passkey/options", Body: map[string]any{"email": "not an email"}}), 400)
			// An unknown email answers discoverable options, like an account without passkeys.
			if ac := passkeyOptions(srv, "nobody@example.com")["publicKey"].(map[string]any)["allowCredentials"]; ac != nil {
				t.Fatalf("unknown email: allowCredentials %v", ac)
			}
			// The right key with the email works; a synced passkey is swk.
			apptest.Status(t, 200, passkeyLogin(srv, key.Sign(t, passkeyOptions(srv, "ada@example.com"))))
			synced := apptest.NewSoftAuthenticator(t, pkOrigin, pkRPID)
			synced.Flags = apptest.FlagBE | apptest.FlagBS
			opts = srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access})
			k := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: ada.Access, Body: map[string]any{"credential": synced.Register(t, opts)}})
			if k["synced"] != true || k["name"] != "Passkey" {
				t.Fatalf("synced passkey %v", k)
			}
			out = apptest.Status(t, 200, passkeyLogin(srv, synced.Sign(t, passkeyOptions(srv, ""))))
			if amr := sessionAMR(t, srv, out["access_token"].(string), out["session_id"].(string)); amr != "[swk]" {
				t.Fatalf("amr %s, want [swk]", amr)
			}
		})
		t.Run("CounterRegression", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			key, k := addPasskey(t, srv, ada.Access, "Laptop")
			key.Count = 10
			apptest.Status(t, 200, passkeyLogin(srv, key.Sign(t, passkeyOptions(srv, "")))) // counter 11
			clone := *key
			clone.Count = 5 // a copy of the key, behind
			apptest.ProblemCode(t, passkeyLogin(srv, clone.Sign(t, passkeyOptions(srv, ""))), 401, "passkey_counter_regressed")
			clone.Count = 10 // the same value again is not forward either
			apptest.ProblemCode(t, passkeyLogin(srv, clone.Sign(t, passkeyOptions(srv, ""))), 401, "passkey_counter_regressed")
			ev := srv.AuditEvents("", "passkey.counter_regressed")
			if len(ev) != 2 || ev[0].TargetID != k["id"] || !strings.Contains(string(ev[0].Summary), `"stored_count":11`) {
				t.Fatalf("counter_regressed audit %v", ev)
			}
			// The original, ahead, still works.
			apptest.Status(t, 200, passkeyLogin(srv, key.Sign(t, passkeyOptions(srv, ""))))
		})
		t.Run("SecondFactor", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			bob := srv.SignUpTokens("Bob", "bob@example.com", "")
			key, _ := addPasskey(t, srv, ada.Access, "Laptop")
			bobKey, _ := addPasskey(t, srv, bob.Access, "Phone")
			start := func() map[string]any {
				out := srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "ada@example.com", "password": apptest.TestPassword}})
				if out["mfa_required"] != true || fmt.Sprint(out["methods"]) != "[passkey]" || out["passkey_options"] == nil || out["access_token"] != nil {
					t.Fatalf("login with a passkey on: %v", out)
				}
				return out
			}
			verify := func(tok string, cred map[string]any) *apptest.Response {
				return srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify", Body: map[string]any{"mfa_token": tok, "credential": cred}})
			}
			ch := start()
			opts := ch["passkey_options"].(map[string]any)
			// Another user's passkey, a discoverable sign-in's challenge, bad JSON.
			apptest.ProblemCode(t, verify(ch["mfa_token"].(string), bobKey.Sign(t, opts)), 401, "invalid_passkey") // the challenge is spent by the refusal
			ch = start()
			opts = ch["passkey_options"].(map[string]any)
			apptest.ProblemCode(t, verify(ch["mfa_token"].(string), key.Sign(t, passkeyOptions(srv, ""))), 401, "invalid_challenge")
			apptest.ProblemCode(t, verify(ch["mfa_token"].(string), map[string]any{"nope": true}), 400, "invalid_credential")
			apptest.ProblemCode(t, verify("gh_mfa_nope", key.Sign(t, opts)), 401, "invalid_mfa_token")
			ch = start()
			out := apptest.Status(t, 200, verify(ch["mfa_token"].(string), key.Sign(t, ch["passkey_options"].(map[string]any))))
			if amr := sessionAMR(t, srv, out["access_token"].(string), out["session_id"].(string)); amr != "[pwd hwk]" {
				t.Fatalf("amr %s, want [pwd hwk]", amr)
			}
			// The mfa token worked once.
			apptest.ProblemCode(t, verify(ch["mfa_token"].(string), key.Sign(t, start()["passkey_options"].(map[string]any))), 401, "invalid_mfa_token")
			// The API's one-step login refuses too.
			if n := len(srv.AuditEvents("", "mfa.code_rejected")); n < 2 {
				t.Fatalf("%d mfa.code_rejected events", n)
			}
		})
		t.Run("MatchesOpenAPI", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			key := apptest.NewSoftAuthenticator(t, pkOrigin, pkRPID)
			opts := doValidated(t, srv, 200, "", apptest.Req{Method: "POST", Path: "/v1/me/passkeys/options", Token: ada.Access}).JSON(t)
			doValidated(t, srv, 400, "invalid_credential", apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: ada.Access, Body: map[string]any{"credential": "x"}})
			k := doValidated(t, srv, 201, "", apptest.Req{Method: "POST", Path: "/v1/me/passkeys", Token: ada.Access,
				Body: map[string]any{"name": "Laptop", "credential": key.Register(t, opts)}}).JSON(t)
			doValidated(t, srv, 200, "", apptest.GetAs("/v1/me/passkeys", ada.Access))
			doValidated(t, srv, 200, "", apptest.GetAs("/v1/me/mfa", ada.Access))
			doValidated(t, srv, 404, "", apptest.Req{Method: "PATCH", Path: "/v1/me/passkeys/" + oaNilUUID, Token: ada.Access, Body: map[string]any{"name": "x"}})
			doValidated(t, srv, 200, "", apptest.Req{Method: "PATCH", Path: "/v1/me/passkeys/" + k["id"].(string), Token: ada.Access, Body: map[string]any{"name": "x"}})
			ropts := doValidated(t, srv, 200, "", apptest.Req{Method: "POST", Path: "/v1/auth/passkey/options", Body: map[string]any{"email": "ada@example.com"}}).JSON(t)
			doValidated(t, srv, 200, "", apptest.Req{Method: "POST", Path: "/v1/auth/passkey", Body: map[string]any{"credential": key.Sign(t, ropts)}})
			doValidated(t, srv, 401, "invalid_challenge", apptest.Req{Method: "POST", Path: "/v1/auth/passkey", Body: map[string]any{"credential": key.Sign(t, ropts)}})
			ch := doValidated(t, srv, 200, "", apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "ada@example.com", "password": apptest.TestPassword}}).JSON(t)
			doValidated(t, srv, 200, "", apptest.Req{Method: "POST", Path: "/v1/auth/mfa/verify",
				Body: map[string]any{"mfa_token": ch["mfa_token"], "credential": key.Sign(t, ch["passkey_options"].(map[string]any))}})
			doValidated(t, srv, 204, "", apptest.Req{Method: "DELETE", Path: "/v1/me/passkeys/" + k["id"].(string), Token: ada.Access})
		})
		t.Run("OptionsThrottled", func(t *testing.T) {
			srv := apptest.New(t, e)
			for range 30 {
				passkeyOptions(srv, "")
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/passkey/options"}), 429, "rate_limited")
			srv.Clock.Advance(2 * time.Second)
			passkeyOptions(srv, "")
		})
		t.Run("RaceOneChallenge", func(t *testing.T) {
			srv := apptest.New(t, e)
			ada := srv.SignUpTokens("Ada", "ada@example.com", "")
			key, _ := addPasskey(t, srv, ada.Access, "Laptop")
			cred := key.Sign(t, passkeyOptions(srv, ""))
			var wg sync.WaitGroup
			statuses := make(chan int, 6)
			for range 6 {
				wg.Add(1)
				go func() { defer wg.Done(); statuses <- passkeyLogin(srv, cred).Status }()
			}
			wg.Wait()
			close(statuses)
			ok := 0
			for st := range statuses {
				switch st {
				case 200:
					ok++
				case 401:
				default:
					t.Errorf("a racing sign-in answered %d", st)
				}
			}
			if ok != 1 {
				t.Fatalf("%d sessions from one assertion, want 1", ok)
			}
		})
	})
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
