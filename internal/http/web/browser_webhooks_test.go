package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// The Webhooks page in a browser: add an endpoint (the secret shown once),
// see a failed delivery in the log and resend it once the receiver works.
func TestBrowserWebhooks(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t), apptest.Options{WebhooksAllowPrivate: true})
	s.Webhooks.Retry = []time.Duration{} // one attempt: a failure is final
	var broken atomic.Bool
	broken.Store(true)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		}
	}))
	defer rc.Close()
	token, _ := s.Signup("Olivia Owner", "olivia@acme.test")
	org := s.CreateOrg(token, "Acme Video")
	b := newBrowser(t, exe, s.URL, screenshotDir(t), "owner")
	b.open("/login")
	b.fill("#f-email", "olivia@acme.test")
	b.fill("#f-password", "a long enough password")
	b.submit(`form[action="/login"] button[type=submit]`)

	b.open("/webhooks")
	b.see("Webhooks", "No webhook endpoints yet", "Add a webhook endpoint")
	b.fill("#f-url", rc.URL+"/gatehouse")
	b.fill("#f-events", "member.*, invitation.*, project.*")
	b.fill("#f-description", "Access sync")
	b.submit(`form[action="/webhooks"] button[type=submit]`)
	b.see("Copy the secret now", "Webhook endpoint created.")
	if v := b.eval(`document.querySelector("#secret").value`); !strings.HasPrefix(v, "whsec_") {
		t.Fatalf("secret field %q", v)
	}
	b.shot("40-webhook-secret", false)

	s.CreateProject(token, org, "Marketing")
	s.Invite(token, org, map[string]any{"email": "mia@acme.test", "role": "viewer"})
	if _, err := s.Webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.open("/webhooks")
	b.see(rc.URL+"/gatehouse", "member.*", "Enabled")
	b.shot("41-webhooks", true)
	b.submit(`a[href^="/webhooks/"].btn`)
	b.see("Delivery log", "project.created", "invitation.created", "HTTP 503", "upstream unavailable", "Resend")
	b.shot("42-webhook-log", true)

	broken.Store(false)
	b.submit(`form[action$="/resend"]:not([action*="/deliveries/"]) button[type=submit]`)
	b.see("Failed deliveries queued again: 2.")
	if _, err := s.Webhooks.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.open(b.path() + "?status=succeeded")
	b.see("project.created", "invitation.created", "HTTP 200")
}
