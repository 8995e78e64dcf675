package web_test

// Handler tests: the dashboard's pages over HTTP, on both engines, with a
// browser-like client (apptest.WebClient). The browser suite plays the
// whole guide; these pin the rules: redirects, headers, cookies, CSRF,
// validation messages, invitation pages, members and rights.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/http/web"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

const pw = "a long enough password"

// signUp registers, verifies and signs in through the pages.
func signUp(t *testing.T, s *apptest.Server, name, email string) *apptest.WebClient {
	t.Helper()
	c := s.WebClient()
	apptest.WantRedirect(t, c.Post("/register", url.Values{"name": {name}, "email": {email}, "password": {pw}}), "/verify")
	// The right code signs the new user in.
	apptest.WantRedirect(t, c.Post("/verify", url.Values{"email": {email}, "otp": {s.LastCode(email)}}), "/dashboard")
	return c
}

// owner signs up someone with an organization and one project per name.
func owner(t *testing.T, s *apptest.Server, email string, projects ...string) (*apptest.WebClient, map[string]string) {
	t.Helper()
	c := signUp(t, s, "Olivia Owner", email)
	apptest.WantRedirect(t, c.Post("/orgs", url.Values{"name": {"Acme Video"}}), "/dashboard")
	ids := map[string]string{}
	for _, p := range projects {
		r := c.Post("/projects", url.Values{"name": {p}})
		apptest.WantRedirect(t, r, "/projects/")
		ids[p] = strings.TrimPrefix(r.Location, "/projects/")
	}
	return c, ids
}

// userID reads the signed-in user's id through the API, with the cookie's
// access token (the same opaque token the API takes).
func userID(t *testing.T, s *apptest.Server, c *apptest.WebClient) string {
	t.Helper()
	ck := c.Cookie("gh_access")
	if ck == nil {
		t.Fatal("no session cookie")
	}
	me := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: ck.Value})
	return me["id"].(string)
}

func TestHomeSendsBrowsersToTheirDashboard(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		anon := s.WebClient()
		apptest.WantRedirect(t, anon.Get("/"), "/login")
		// API clients still get the welcome JSON.
		for _, accept := range []string{"", "application/json", "*/*"} {
			r := anon.Get("/", map[string]string{"Accept": accept}) // "" sends none
			if r.Status != 200 || !strings.Contains(r.Body, `"name":"gatehouse"`) {
				t.Fatalf("Accept %q: %d %s", accept, r.Status, r.Body)
			}
		}
		apptest.WantRedirect(t, anon.Get("/members"), "/login?next=%2Fmembers")
		// Dashboard pages are not API routes (the OpenAPI test compares those).
		api := map[string]bool{}
		for _, p := range s.API.Routes() {
			api[p] = true
		}
		pages := s.API.Web.(*web.Handler).Patterns()
		if len(pages) < 30 {
			t.Fatalf("only %d dashboard patterns", len(pages))
		}
		for _, p := range pages {
			if api[p] {
				t.Fatalf("dashboard page %s is listed as an API route", p)
			}
		}

		c := signUp(t, s, "Ada", "ada@example.com")
		apptest.WantRedirect(t, c.Get("/"), "/dashboard")
		apptest.WantRedirect(t, c.Get("/dashboard"), "/orgs/new")
		apptest.WantPage(t, c.Get("/orgs/new"), 200, "Create an organization")
		apptest.WantRedirect(t, c.Post("/orgs", url.Values{"name": {"Acme Video"}}), "/dashboard")
		apptest.WantPage(t, c.Get("/dashboard"), 200, "Organization Acme Video created. You are its owner.", "No projects yet", "Create your first project")
		// The flash shows once.
		apptest.WantNot(t, c.Get("/dashboard"), "Organization Acme Video created")
		// Signed in, the sign-in page goes to the dashboard, or to next.
		apptest.WantRedirect(t, c.Get("/login?next=%2Fmembers"), "/members")
		apptest.WantRedirect(t, c.Get("/login?next=https%3A%2F%2Fevil.example%2F"), "/dashboard")
		apptest.WantRedirect(t, c.Get("/login?next=%2F%2Fevil.example"), "/dashboard")
	})
}

// wrapped matches the text just before an input inside its <label>.
var wrapped = regexp.MustCompile(`<label[^>]*>\s*$`)

// noInline fails on inline scripts, inline styles and style attributes,
// which the Content-Security-Policy would block.
func noInline(t *testing.T, path, body string) {
	t.Helper()
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", " onsubmit=", " onchange=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Fatalf("%s has %q, which the CSP blocks", path, bad)
		}
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(m, ` src="/static/`) {
			t.Fatalf("%s has an inline script %s", path, m)
		}
	}
}

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.Engines(t)[0])
	c, ids := owner(t, s, "olivia@example.com", "Marketing")
	apptest.WantRedirect(t, c.Post("/members/invite", url.Values{"email": {"mia@example.com"}, "project": {ids["Marketing"]}, "mode." + ids["Marketing"]: {"full"}}), "/members")
	link := s.InvitationLink("mia@example.com")
	anon := s.WebClient()
	pages := map[string]*apptest.WebClient{
		"/login": anon, "/register": anon, "/verify": anon, "/forgot-password": anon, link: anon,
		"/dashboard": c, "/projects/" + ids["Marketing"]: c, "/members": c, "/members/invite": c, "/members/invitations": c,
		"/api-keys": c, "/audit": c, "/sessions": c, "/orgs/new": c,
	}
	// Roles, folders, Check access and the audit log's verification.
	org, m := orgOf(t, s, c), ids["Marketing"]
	f := s.CreateFolder(c.Cookie("gh_access").Value, org, m, "Campaigns", "")
	s.CreateFolder(c.Cookie("gh_access").Value, org, m, "Launch", f)
	apptest.WantRedirect(t, c.Post("/roles", url.Values{"name": {"editor"}, "project": {m}, "mode." + m: {"full"}}), "/roles")
	role := roleIDRe.FindStringSubmatch(c.Get("/roles").Body)[1]
	for _, p := range []string{"/roles", "/roles/new", "/roles/" + role, "/roles/" + role + "/delete", "/audit/verify",
		"/members/" + userID(t, s, c) + "/check?target=folder:" + f + "&area=folders&action=write",
		"/projects/" + m + "/delete", "/projects/" + m + "/folders/" + f + "/move", "/projects/" + m + "/folders/" + f + "/delete"} {
		pages[p] = c
	}
	for path, cl := range pages {
		r := cl.Get(path)
		if r.Status != 200 {
			t.Fatalf("%s: status %d: %.500s", path, r.Status, r.Body)
		}
		h := r.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": web.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-store",
			"Content-Type":            "text/html; charset=utf-8",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		noInline(t, path, r.Body)
		// Every visible input has a label.
		for _, in := range regexp.MustCompile(`<(?:input|select)\b[^>]*>`).FindAllString(r.Body, -1) {
			if strings.Contains(in, `type="hidden"`) {
				continue
			}
			id := regexp.MustCompile(`\bid="([^"]+)"`).FindStringSubmatch(in)
			labelled := id != nil && strings.Contains(r.Body, `for="`+id[1]+`"`)
			if !labelled && !strings.Contains(in, "aria-label") {
				// Check-boxes and radios may sit inside their <label>.
				i := strings.Index(r.Body, in)
				labelled = i > 0 && wrapped.MatchString(r.Body[max(0, i-60):i])
			}
			if !labelled {
				t.Errorf("%s: input without a label: %s", path, in)
			}
		}
	}
	if want := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"; web.ContentSecurityPolicy != want {
		t.Fatalf("CSP %q", web.ContentSecurityPolicy)
	}
	for path, ct := range map[string]string{"/static/app.css": "text/css; charset=utf-8", "/static/app.js": "text/javascript; charset=utf-8", "/static/favicon.svg": "image/svg+xml"} {
		r := anon.Get(path)
		if r.Status != 200 || r.Header.Get("Content-Type") != ct || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %q %v", path, r.Status, r.Header.Get("Content-Type"), r.Header)
		}
	}
	if r := anon.Get("/static/nope.css"); r.Status != 404 {
		t.Fatalf("missing static file: %d", r.Status)
	}
}

func TestCookies(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, storetest.Engines(t)[0])
	c := s.WebClient()
	apptest.WantRedirect(t, c.Post("/register", url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {pw}}), "/verify")
	apptest.WantRedirect(t, c.Post("/verify", url.Values{"email": {"ada@example.com"}, "otp": {s.LastCode("ada@example.com")}}), "/dashboard")
	r := c.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {pw}})
	apptest.WantRedirect(t, r, "/dashboard")
	got := map[string]*http.Cookie{}
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		got[ck.Name] = ck
	}
	for _, name := range []string{"gh_access", "gh_refresh"} {
		ck := got[name]
		if ck == nil {
			t.Fatalf("no %s cookie in %v", name, r.Header["Set-Cookie"])
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.MaxAge <= 0 {
			t.Fatalf("%s: %+v", name, ck)
		}
	}
	if !strings.HasPrefix(got["gh_access"].Value, "gh_at_") || !strings.HasPrefix(got["gh_refresh"].Value, "gh_rt_") {
		t.Fatal("the cookies do not carry the session's tokens")
	}
	// The cookie's access token is the API's own token.
	s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: got["gh_access"].Value})
	// Tokens never appear in a URL or a log.
	if strings.Contains(r.Location, "gh_") || strings.Contains(s.Logs.String(), got["gh_access"].Value) || strings.Contains(s.Logs.String(), got["gh_refresh"].Value) {
		t.Fatal("a token leaked into a URL or the logs")
	}
	// Sign out ends the session at once.
	apptest.WantRedirect(t, c.Post("/logout", nil), "/login")
	if r := s.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: got["gh_access"].Value}); r.Status != 401 {
		t.Fatalf("token still works after sign-out: %d", r.Status)
	}
	apptest.WantRedirect(t, c.Get("/sessions"), "/login")
}

func TestTransparentRefresh(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c := signUp(t, s, "Ada", "ada@example.com")
		before, refresh := c.Cookie("gh_access").Value, c.Cookie("gh_refresh").Value
		s.Clock.Advance(20 * time.Minute) // the access token (15 minutes) has expired
		apptest.WantPage(t, c.Get("/sessions"), 200, "This device")
		after := c.Cookie("gh_access").Value
		if after == before || c.Cookie("gh_refresh").Value == refresh {
			t.Fatal("the tokens were not rotated")
		}
		if r := s.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: before}); r.Status != 401 {
			t.Fatalf("the old access token still works: %d", r.Status)
		}
		// Two requests racing with the same old refresh token share one
		// rotation: neither ends the session as token reuse would.
		stale := s.WebClient()
		u, _ := url.Parse(s.URL)
		stale.Jar.SetCookies(u, []*http.Cookie{{Name: "gh_access", Value: after}, {Name: "gh_refresh", Value: c.Cookie("gh_refresh").Value}})
		s.Clock.Advance(20 * time.Minute)
		done := make(chan int, 2)
		for _, cl := range []*apptest.WebClient{c, stale} {
			go func() { done <- cl.Get("/sessions").Status }()
		}
		for range 2 {
			if st := <-done; st != 200 {
				t.Fatalf("a concurrent refresh failed: %d", st)
			}
		}
		apptest.WantPage(t, c.Get("/sessions"), 200)
		// When the refresh token has expired too, the browser signs in again.
		s.Clock.Advance(31 * 24 * time.Hour)
		apptest.WantRedirect(t, c.Get("/sessions"), "/login?next=%2Fsessions")
		if ck := c.Cookie("gh_access"); ck != nil {
			t.Fatal("stale cookies were not cleared")
		}
	})
}

func TestCrossOriginFormsAreRefused(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing")
		invite := url.Values{"email": {"mia@example.com"}, "project": {ids["Marketing"]}, "mode." + ids["Marketing"]: {"full"}}
		for name, h := range map[string]map[string]string{
			"cross-site":           {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			"same-site":            {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example"},
			"foreign Origin alone": {"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
		} {
			r := c.Post("/members/invite", invite, h)
			apptest.WantPage(t, r, http.StatusForbidden, "This request was refused", "Nothing was changed")
			noInline(t, name, r.Body)
			if r.Header.Get("Content-Security-Policy") == "" {
				t.Fatalf("%s: the refusal page has no CSP", name)
			}
			// The other forms too.
			for _, path := range []string{"/login", "/register", "/orgs", "/logout", "/projects", "/members/invite", "/api-keys"} {
				if r := c.Post(path, url.Values{"name": {"x"}}, h); r.Status != http.StatusForbidden {
					t.Fatalf("%s %s: status %d, want 403", name, path, r.Status)
				}
			}
		}
		apptest.WantPage(t, c.Get("/members"), 200, "No pending invitations")
		if len(s.MailTo("mia@example.com")) != 0 {
			t.Fatal("a refused form sent mail")
		}
		// Still signed in: the refused sign-out did nothing.
		apptest.WantPage(t, c.Get("/sessions"), 200)
		// The same form from the dashboard's own page works.
		apptest.WantRedirect(t, c.Post("/members/invite", invite), "/members")
		// So does a client that sends neither header (not a browser: no
		// cookies of anyone's to ride on).
		apptest.WantRedirect(t, c.Post("/projects", url.Values{"name": {"Training"}}, map[string]string{"Sec-Fetch-Site": "", "Origin": ""}), "/projects/")
		if strings.Contains(s.Logs.String(), "cross-origin request refused") == false {
			t.Fatal("refusals are not logged")
		}
	})
}

func TestValidationMessagesKeepWhatWasTyped(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		anon := s.WebClient()
		r := anon.Post("/register", url.Values{"name": {""}, "email": {"not-an-email"}, "password": {"short pw"}})
		apptest.WantPage(t, r, 400, "Please correct the fields marked below.", "Name is required.",
			"Email must be an email address like name@example.com.", "Password must be at least 10 characters.",
			`value="not-an-email"`, `aria-invalid="true" aria-describedby="f-email-err"`, `id="f-email-err"`)
		apptest.WantNot(t, r, "short pw")

		signUp(t, s, "Ada", "ada@example.com")
		r = anon.Post("/register", url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {pw}})
		apptest.WantPage(t, r, 409, "An account with this email already exists.", `value="Ada"`)
		r = anon.Post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password!"}})
		apptest.WantPage(t, r, 401, "The email or password is wrong.", `value="ada@example.com"`)
		apptest.WantNot(t, r, "wrong password!")
		r = anon.Post("/verify", url.Values{"email": {"ada@example.com"}, "otp": {"12"}})
		apptest.WantPage(t, r, 400, "Code must be the 6-digit code from the email.", `value="12"`)
		r = anon.Post("/forgot-password/reset", url.Values{"email": {"ada@example.com"}, "otp": {"123456"}})
		apptest.WantPage(t, r, 400, "Password is required.", `value="123456"`)

		c, ids := owner(t, s, "olivia@example.com", "Marketing", "Training")
		apptest.WantPage(t, c.Post("/orgs", url.Values{"name": {"  "}}), 400, "Name is required.")
		apptest.WantPage(t, c.Post("/projects", url.Values{"name": {""}, "description": {"kept text"}}), 400, "Name is required.", `value="kept text"`)
		m := ids["Marketing"]
		r = c.Post("/members/invite", url.Values{"email": {"mia@"}, "name": {"Mia"}, "project": {m}, "mode." + m: {"custom"}, "org.billing": {"on"}})
		apptest.WantPage(t, r, 400, "Email must be an email address like name@example.com.",
			"Choose at least one right for this project, or untick it.",
			`value="mia@"`, `value="Mia"`,
			`id="p-`+m+`" name="project" value="`+m+`" checked`, `name="mode.`+m+`" value="custom" checked`, `id="org-billing" name="org.billing" value="on" checked`)
		r = c.Post("/members/invite", url.Values{"email": {"mia@example.com"}})
		apptest.WantPage(t, r, 400, "Give a role or at least one permission.")
		r = c.Post("/members/invite", url.Values{"email": {"olivia@example.com"}, "org.api": {"on"}})
		apptest.WantPage(t, r, 409, "This person is already a member of the organization.")
		r = c.Post("/members/invite", url.Values{"email": {"mia@example.com"}, "expires_in_days": {"99"}, "org.api": {"on"}})
		apptest.WantPage(t, r, 400, "Expiry must be from 1 to 30.")
		r = c.Post("/api-keys", url.Values{"name": {""}, "expires_on": {"yesterday"}})
		apptest.WantPage(t, r, 400, "Expiry must be a date.")
		r = c.Post("/api-keys", url.Values{"name": {""}, "org.api": {"on"}})
		apptest.WantPage(t, r, 400, "Name is required.")
		r = c.Get("/audit?from=notadate&action=Bad%20Action")
		apptest.WantPage(t, r, 400, "From must be a date.", `value="Bad Action"`)
		r = c.Get("/audit?action=Bad%20Action")
		apptest.WantPage(t, r, 400, "Action must be an action like invitation.created")
	})
}
