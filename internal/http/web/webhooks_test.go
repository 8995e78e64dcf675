package web_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// The dashboard's Webhooks page: create (the secret shown once), see a
// failed delivery in the log, resend it, disable the endpoint.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t, storetest.SQLite(), apptest.Options{WebhooksAllowPrivate: true})
	fail := true
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "receiver broken", http.StatusInternalServerError)
		}
	}))
	defer rc.Close()
	token, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(token, "Acme")
	srv.Webhooks.Retry = []time.Duration{} // one attempt: a failure is final
	c := srv.WebClient()
	c.Post("/login", url.Values{"email": {"owner@example.com"}, "password": {"a long enough password"}})

	page := c.Get("/webhooks")
	if page.Status != 200 || !strings.Contains(page.Body, "Add a webhook endpoint") {
		t.Fatalf("webhooks page %d: %.300s", page.Status, page.Body)
	}
	bad := c.Post("/webhooks", url.Values{"url": {"ftp://example.com/x"}, "events": {"member.*"}})
	if bad.Status != 422 || !strings.Contains(bad.Body, "https") {
		t.Fatalf("private URL: %d %.500s", bad.Status, bad.Body)
	}
	created := c.Post("/webhooks", url.Values{"url": {rc.URL}, "events": {"project.*, member.*"}, "description": {"CI"}})
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(html.UnescapeString(created.Body)) // html/template writes + as &#43;
	if created.Status != 200 || secret == "" || created.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %d %q: %.500s", created.Status, secret, created.Body)
	}
	id := regexp.MustCompile(`href="/webhooks/([0-9a-f-]{36})"`).FindStringSubmatch(created.Body)[1]
	if list := c.Get("/webhooks"); strings.Contains(list.Body, secret) || !strings.Contains(list.Body, rc.URL) {
		t.Fatal("the list shows the secret, or not the endpoint")
	}
	srv.CreateProject(token, org, "Videos")
	srv.Webhooks.RunOnce(context.Background())
	log := c.Get("/webhooks/" + id)
	if !strings.Contains(log.Body, "project.created") || !strings.Contains(log.Body, "HTTP 500") || !strings.Contains(log.Body, "receiver broken") {
		t.Fatalf("log: %.2000s", log.Body)
	}
	if !strings.Contains(log.Body, "badge-failed") {
		t.Fatalf("not shown failed: %.2000s", log.Body)
	}
	// The receiver is fixed: resend from the dashboard.
	fail = false
	resend := c.Post("/webhooks/"+id+"/resend", url.Values{})
	if resend.Status != http.StatusSeeOther {
		t.Fatalf("resend all: %d", resend.Status)
	}
	srv.Webhooks.RunOnce(context.Background())
	if log := c.Get("/webhooks/" + id + "?status=succeeded"); !strings.Contains(log.Body, "project.created") {
		t.Fatalf("not delivered after resend: %.2000s", log.Body)
	}
	disable := c.Post("/webhooks/"+id+"/enabled", url.Values{"enabled": {"false"}})
	if disable.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", disable.Status)
	}
	if list := c.Get("/webhooks"); !strings.Contains(list.Body, "Disabled") {
		t.Fatal("not shown disabled")
	}
	if strings.Contains(srv.Logs.String(), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("secret logged")
	}
}
