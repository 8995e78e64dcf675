package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestEmailTemplates(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		path := "/v1/organizations/" + w.org + "/email-templates/invitation"
		good := map[string]any{
			"subject": "Join {{.OrganizationName}}, from {{.InviterName}}",
			"text":    "{{.InviterName}} asks you in ({{.AccessSummary}}): {{.AcceptURL}} before {{.ExpiresAt}}",
			"html":    `<p>{{.OrganizationName}}</p><p><a href="{{.AcceptURL}}">Join</a></p>`,
		}

		t.Run("ErrRights", func(t *testing.T) {
			viewer, _ := w.member("Vera Viewer", "vera@example.com", apptest.Role("viewer"))
			apptest.ProblemCode(t, w.do("GET", path, viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("PUT", path, viewer, good), 403, "forbidden")
			apptest.ProblemCode(t, w.do("DELETE", path, viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("POST", path+"/preview", viewer, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do("POST", path+"/test", viewer, nil), 403, "forbidden")
			stranger, _ := srv.Signup("Sam Stranger", "sam@example.com")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "PUT", Path: path, Token: stranger, Body: good}), 404, "")
		})
		t.Run("ErrUnknownVariable", func(t *testing.T) {
			bad := map[string]any{"subject": "Hi", "text": "Your password: {{.Password}}"}
			p := apptest.ProblemCode(t, w.do("PUT", path, w.owner, bad), 422, "invalid_template")
			apptest.ProblemField(t, p, "text")
			if !strings.Contains(p["detail"].(string), ".Password") {
				t.Fatalf("detail does not name the variable: %v", p["detail"])
			}
			for _, bad := range []map[string]any{
				{"subject": "{{upper .InviterName}}", "text": "x"},
				{"subject": "Hi", "text": "{{.InviterName"},
				{"subject": "Hi", "text": "x", "html": `<a href="{{.AcceptURL}}`},
				{"subject": "Hi", "text": `{{printf "%v" .AcceptURL}}`},
				{"subject": strings.Repeat("s", 201), "text": "x"},
				{"subject": "Hi", "text": strings.Repeat("t", 20001)},
				{"subject": "Hi"},
			} {
				apptest.ProblemCode(t, w.do("PUT", path, w.owner, bad), 422, "invalid_template")
			}
			apptest.ProblemCode(t, w.do("PUT", path, w.owner, `{"subject": 1}`), 400, "invalid")
			apptest.ProblemCode(t, w.do("PUT", path, w.owner, `{"subject": "a", "text": "b", "extra": 1}`), 400, "invalid")
			// Nothing was saved: the built-in template is still in use.
			got := w.must(t, 200, "GET", path, w.owner, nil)
			if got["custom"] != false || !strings.Contains(got["subject"].(string), "{{.OrganizationName}}") {
				t.Fatalf("after refusals: %v", got)
			}
			apptest.ProblemCode(t, w.do("POST", path+"/preview", w.owner, map[string]any{"template": map[string]any{"subject": "x", "text": "{{.Nope}}"}}), 422, "invalid_template")
		})
		t.Run("SaveSendDelete", func(t *testing.T) {
			// An invitation before saving has the default (and the template
			// cache has seen the organization, so saving must replace it).
			w.invite(t, "tess@example.com", apptest.Role("viewer"))
			if m := srv.MailTo("tess@example.com")[0]; !strings.Contains(m.Subject, "invited you to Acme Video") {
				t.Fatalf("before saving: %q", m.Subject)
			}
			saved := w.must(t, 200, "PUT", path, w.owner, good)
			if saved["custom"] != true || saved["updated_by"] != w.ownerID || len(saved["variables"].([]any)) != 5 {
				t.Fatalf("saved %v", saved)
			}
			if len(srv.AuditEvents(w.org, "organization.email_template_updated")) != 1 {
				t.Fatal("no audit event")
			}
			w.invite(t, "tina@example.com", apptest.Role("viewer"))
			m := srv.MailTo("tina@example.com")[0]
			if m.Subject != "Join Acme Video, from "+ivOwnerName || !strings.Contains(m.Text, ivOwnerName+" asks you in (") ||
				!strings.Contains(m.Text, "http://gatehouse.test/invitations/") || !strings.Contains(m.HTML, `<p>Acme Video</p>`) {
				t.Fatalf("invitation mail: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
			}
			// A renamed inviter's next invitation carries the new name (the
			// rename drops the cached sessions that hold the old one).
			srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: w.owner, Body: map[string]any{"name": "Olivia Renamed"}})
			w.invite(t, "tomas@example.com", apptest.Role("viewer"))
			if m := srv.MailTo("tomas@example.com")[0]; m.Subject != "Join Acme Video, from Olivia Renamed" {
				t.Fatalf("after the inviter's rename: %q", m.Subject)
			}
			srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: w.owner, Body: map[string]any{"name": ivOwnerName}})
			// Another organization of the same owner keeps the default.
			srv.Invite(w.owner, w.otherOrg, map[string]any{"email": "otto@example.com", "role": "viewer"})
			if m := srv.MailTo("otto@example.com")[0]; !strings.Contains(m.Subject, "invited you to Other Co") {
				t.Fatalf("other organization's mail: %q", m.Subject)
			}
			// Preview: the saved template with given data, escaped in HTML.
			pv := w.must(t, 200, "POST", path+"/preview", w.owner, map[string]any{"data": map[string]any{
				"inviter_name": "Ines", "organization_name": "<b>Evil</b>", "accept_url": "https://x.example/a"}})
			if pv["subject"] != "Join <b>Evil</b>, from Ines" || strings.Contains(pv["html"].(string), "<b>Evil</b>") {
				t.Fatalf("preview %v", pv)
			}
			// Test send to oneself.
			sent := w.must(t, 202, "POST", path+"/test", w.owner, nil)
			if sent["sent_to"] != "olivia@example.com" {
				t.Fatalf("test send %v", sent)
			}
			var found bool
			for _, m := range srv.MailTo("olivia@example.com") {
				if strings.HasPrefix(m.Subject, "[Test] Join Acme Video") {
					found = true
				}
			}
			if !found {
				t.Fatal("no test mail")
			}
			// Back to the default.
			apptest.Status(t, 204, w.do("DELETE", path, w.owner, nil))
			if len(srv.AuditEvents(w.org, "organization.email_template_deleted")) != 1 {
				t.Fatal("no delete audit event")
			}
			w.invite(t, "uma@example.com", apptest.Role("viewer"))
			if m := srv.MailTo("uma@example.com")[0]; !strings.Contains(m.Subject, "invited you to Acme Video") {
				t.Fatalf("after delete: %q", m.Subject)
			}
		})
	})
}
