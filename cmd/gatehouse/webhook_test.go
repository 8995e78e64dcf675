package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// authed sends a JSON request with a bearer token and organization.
func authed(t *testing.T, method, url, token, org string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if org != "" {
		req.Header.Set("X-Organization-Id", org)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// signIn registers, verifies (code from the dev mailbox) and signs in.
func signIn(t *testing.T, base, email string) string {
	t.Helper()
	registerUser(t, base, email)
	resp, err := client.Get(base + "/dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code := regexp.MustCompile(`\b\d{6}\b`).Find(raw)
	if code == nil {
		t.Fatalf("no code in the mailbox: %.300s", raw)
	}
	if status, out := call(t, "POST", base+"/v1/auth/verify-email", map[string]string{"email": email, "otp": string(code)}); status != 200 {
		t.Fatalf("verify: %d %v", status, out)
	}
	status, out := call(t, "POST", base+"/v1/auth/login", map[string]string{"email": email, "password": testPassword})
	if status != 200 {
		t.Fatalf("login: %d %v", status, out)
	}
	return out["access_token"].(string)
}

// A change committed just before a kill -9 is delivered after the restart:
// the webhook outbox is in the database, not in the process.
func TestBinaryKillDeliversWebhookAfterRestart(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			// The receiver's address is reserved but nothing answers yet.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()

			env := engineEnv(t, e)
			env["GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE"] = "true"
			p := start(t, env)
			token := signIn(t, p.URL, "owner@example.com")
			status, org := authed(t, "POST", p.URL+"/v1/organizations", token, "", map[string]string{"name": "Acme"})
			if status != 201 {
				t.Fatalf("org: %d %v", status, org)
			}
			orgID := org["id"].(string)
			status, ep := authed(t, "POST", p.URL+"/v1/webhooks", token, orgID, map[string]any{"url": "http://" + addr + "/hook", "events": []string{"project.*"}})
			if status != 201 {
				t.Fatalf("webhook: %d %v", status, ep)
			}
			secret := ep["secret"].(string)
			status, project := authed(t, "POST", p.URL+"/v1/projects", token, orgID, map[string]string{"name": "Committed"})
			if status != 201 {
				t.Fatalf("project: %d %v", status, project)
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = p.wait(t)

			var mu sync.Mutex
			var got []string
			rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if !webhook.Verify(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now(), time.Minute) {
					t.Error("bad signature")
				}
				var ev map[string]any
				_ = json.Unmarshal(body, &ev)
				mu.Lock()
				got = append(got, ev["type"].(string))
				mu.Unlock()
			}))
			rc.Listener.Close()
			if rc.Listener, err = net.Listen("tcp", addr); err != nil {
				t.Skipf("receiver address taken meanwhile: %v", err)
			}
			rc.Start()
			defer rc.Close()

			again := start(t, env)
			checkHealth(t, again.URL)
			// A kill that lands between the first process's claim and its
			// record of the failed attempt leaves the delivery under lease
			// (a minute): it goes out once the lease ends.
			deadline := time.Now().Add(guard + time.Minute)
			for time.Now().Before(deadline) {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n > 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != "project.created" {
				t.Fatalf("received %v, want [project.created]", got)
			}
		})
	}
}
