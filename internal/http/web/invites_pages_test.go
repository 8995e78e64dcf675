package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var linkInputRe = regexp.MustCompile(`value="http://gatehouse.test/invite-links/([A-Za-z0-9_-]{20,100})"`)

// TestInvitesPages: the dashboard's bulk invite, invite links, email
// editor and redirect after accepting, without a browser, failures first.
func TestInvitesPages(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e, apptest.Options{Config: func(c *app.Config) { c.AllowedRedirectOrigins = "https://app.example.com" }})
		c, _ := owner(t, s, "olivia@example.com", "Marketing")
		viewer := gatehouse.RoleViewerID

		// Bulk: more than 500 pasted addresses are refused as a whole.
		many := strings.Repeat("x@example.com,", 501)
		apptest.WantPage(t, c.Post("/members/invite", url.Values{"emails": {many}, "role": {viewer}}), 400, "Paste at most 500 addresses at once.")
		// Every row refused: 422, each row saying why.
		r := c.Post("/members/invite", url.Values{"emails": {"bad, worse"}, "role": {viewer}})
		apptest.WantPage(t, r, http.StatusUnprocessableEntity, "0 invited, 2 not", "Email must be")
		r = c.Post("/members/invite", url.Values{"emails": {"a@example.com\nb@example.com"}, "role": {viewer}})
		apptest.WantPage(t, r, 200, "2 invited, 0 not")
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Fatal("no CSP on the results page")
		}

		// Invite links: a bad number of uses, then one link, joined once.
		apptest.WantPage(t, c.Post("/members/invite-links", url.Values{"role": {viewer}, "max_uses": {"many"}, "expires_in_days": {"7"}}), 400, "Uses must be a whole number.")
		apptest.WantPage(t, c.Post("/members/invite-links", url.Values{"role": {viewer}, "max_uses": {"5000"}, "expires_in_days": {"7"}}), 400)
		r = c.Post("/members/invite-links", url.Values{"role": {viewer}, "max_uses": {"1"}, "expires_in_days": {"7"}, "allowed_domains": {"example.com"}})
		apptest.WantPage(t, r, 200, "Copy the link now")
		m := linkInputRe.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no link on the page:\n%s", r.Body)
		}
		link := "/invite-links/" + m[1]
		anon := s.WebClient()
		apptest.WantPage(t, anon.Get(link), 200, "Join Acme Video", "1 place left", "Sign in to join", "example.com")
		apptest.WantRedirect(t, anon.Post(link+"/join", nil), "/login?next=")
		apptest.WantPage(t, anon.Get("/invite-links/unknown-token-0123456789abcdef"), 404, "This invite link is not valid")
		// A refused domain says so on the page.
		outsider := signUp(t, s, "Otto", "otto@elsewhere.test")
		apptest.WantPage(t, outsider.Post(link+"/join", nil), 403, "join-error")
		joiner := signUp(t, s, "Jo", "jo@example.com")
		apptest.WantRedirect(t, joiner.Post(link+"/join", nil), "/dashboard")
		apptest.WantPage(t, s.WebClient().Get(link), http.StatusGone, "This invite link has been used up")
		apptest.WantPage(t, c.Get("/members/invite-links"), 200, "1 of 1", "Used up")

		// The email editor: a viewer may not; an unknown variable is refused.
		tok := s.Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "olivia@example.com", "password": pw}})["access_token"].(string)
		org := s.Must(200, apptest.Req{Method: "GET", Path: "/v1/me", Token: tok})["current_organization_id"].(string)
		s.InviteAndAccept(tok, org, "Vera", "vera@example.com", map[string]any{"role": "viewer"})
		vc := s.WebClient()
		apptest.WantRedirect(t, vc.Post("/login", url.Values{"email": {"vera@example.com"}, "password": {pw}}), "/")
		apptest.WantPage(t, vc.Get("/settings/email-templates"), 403)
		apptest.WantPage(t, vc.Post("/settings/email-templates", url.Values{"subject": {"Hi"}, "text": {"x"}}), 403)
		apptest.WantPage(t, vc.Get("/invite-links/"+m[1]), http.StatusGone)

		// Accepting an invitation with a redirect_url lands there (a page
		// that sends the browser on); a foreign origin was never accepted.
		if r := s.Do(apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: tok, Header: apptest.OrgHeader(org),
			Body: map[string]any{"email": "ria@example.com", "role": "viewer", "redirect_url": "https://evil.example/"}}); r.Status != 422 {
			t.Fatalf("foreign redirect: %d %s", r.Status, r.Body)
		}
		s.Invite(tok, org, map[string]any{"email": "ria@example.com", "role": "viewer", "redirect_url": "https://app.example.com/start"})
		ria := s.WebClient()
		r = ria.Post(s.InvitationLink("ria@example.com")+"/register", url.Values{"name": {"Ria"}, "password": {pw}})
		apptest.WantPage(t, r, 200, `<meta http-equiv="refresh" content="0; url=https://app.example.com/start">`, "Continue to app.example.com")
		r = c.Post("/settings/email-templates", url.Values{"subject": {"Hi"}, "text": {"{{.Password}}"}})
		apptest.WantPage(t, r, http.StatusUnprocessableEntity, "unknown variable .Password", "Built-in template")
		r = c.Post("/settings/email-templates/preview", url.Values{"subject": {"Hi {{.OrganizationName}}"}, "text": {"x"}, "html": {`<p>{{.InviterName}}</p><script>alert(1)</script>`}})
		apptest.WantPage(t, r, 200, "Hi Acme Video", `sandbox=""`)
		apptest.WantNot(t, r, "<script>alert(1)</script>")
		apptest.WantRedirect(t, c.Post("/settings/email-templates", url.Values{"subject": {"Hi"}, "text": {"{{.AcceptURL}}"}}), "/settings/email-templates")
		apptest.WantPage(t, c.Get("/settings/email-templates"), 200, "Your own template")
		apptest.WantRedirect(t, c.Post("/settings/email-templates/reset", nil), "/settings/email-templates")
		apptest.WantPage(t, c.Get("/settings/email-templates"), 200, "Built-in template")
	})
}
