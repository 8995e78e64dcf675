package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestAuditPage(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing")
		m := ids["Marketing"]
		org := orgOf(t, s, c)
		mia := s.AddStoreMember(org, "Mia Member", "mia@example.com", "", []gatehouse.Grant{
			{EntityType: "organizations", EntityID: org, Name: "billing", Action: "read", Permission: []gatehouse.AreaGrant{}},
			{EntityType: "projects", EntityID: m, Name: "full-access", Permission: []gatehouse.AreaGrant{}}})
		r := c.Post("/members/"+mia.UserID+"/edit", url.Values{"org.billing": {"on"}, "orgaction.billing": {"read+write"}})
		apptest.WantRedirect(t, r, "/members")
		apptest.WantRedirect(t, c.Post("/projects/"+m+"/edit", url.Values{"project_name": {"Brand"}}), "/projects/")

		// Events in words, targets by name with a link, before and after.
		r = c.Get("/audit")
		apptest.WantPage(t, r, 200, "Mia Member: Organization billing read → read, write; lost Full access to project Brand",
			`<a href="/access?member=`+mia.UserID+`">Mia Member</a>`, "Brand: name Marketing → Brand", `<a href="/projects/`+m+`">Brand</a>`,
			"Before and after", `<td class="before">Marketing</td><td class="after">Brand</td>`, "Project Brand created", "Olivia Owner",
			`id="verify-chain"`, `id="export-audit"`)
		apptest.WantNot(t, r, "items", ">"+mia.UserID+"<")

		// Filters by person and kind keep what was chosen.
		r = c.Get("/audit?action=project.")
		apptest.WantPage(t, r, 200, "Brand: name Marketing → Brand", `<option value="project." selected>Projects</option>`)
		apptest.WantNot(t, r, "Mia Member: Organization billing")
		me := userID(t, s, c)
		apptest.WantPage(t, c.Get("/audit?actor="+me), 200, `<option value="`+me+`" selected>Olivia Owner</option>`, "Project Brand created")
		apptest.WantPage(t, c.Get("/audit?actor=0190f1d2-0000-7000-8000-000000000000"), 200, "No events match", "clear the filters")
		apptest.WantPage(t, c.Get("/audit?from=2026-13-01"), http.StatusBadRequest, "From must be a date.")

		// Paging with the API's cursors.
		for i := range 55 {
			apptest.WantRedirect(t, c.Post("/projects/"+m+"/edit", url.Values{"project_name": {"Brand " + strings.Repeat("x", i%3+1) + string(rune('a'+i%26))}}), "/projects/")
		}
		r = c.Get("/audit?action=project.")
		apptest.WantPage(t, r, 200, `id="older-events"`)
		next := r.Body[strings.Index(r.Body, `id="older-events"`)-400:]
		cur := next[strings.Index(next, "/audit?")+len("/audit?"):]
		cur = strings.ReplaceAll(cur[:strings.Index(cur, `"`)], "&amp;", "&")
		r = c.Get("/audit?" + cur)
		apptest.WantPage(t, r, 200, "project.created", "← Newest events")
		apptest.WantNot(t, r, `id="older-events"`)

		// Verify chain.
		apptest.WantPage(t, c.Get("/audit/verify"), 200, "The chain is intact.", `id="verify-result"`)

		// Export (NDJSON) for owners.
		r = c.Get("/audit/export.ndjson?action=member.")
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/x-ndjson" || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %v", r.Status, r.Header)
		}
		lines := strings.Split(strings.TrimSpace(r.Body), "\n")
		var ev struct {
			Action string `json:"action"`
			Seq    int64  `json:"seq"`
			Hash   string `json:"hash"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || !strings.HasPrefix(ev.Action, "member.") || ev.Hash == "" {
			t.Fatalf("export line %q: %v", lines[0], err)
		}

		// An auditor who is not an owner: no export button, 403 when typed.
		aud := s.AddStoreMember(org, "Ari Auditor", "ari@example.com", "", []gatehouse.Grant{
			{EntityType: "organizations", EntityID: org, Name: "audit", Action: "read", Permission: []gatehouse.AreaGrant{}}})
		ac := signIn(t, s, aud.Email)
		r = ac.Get("/audit")
		apptest.WantPage(t, r, 200, "Mia Member", `id="verify-chain"`)
		apptest.WantNot(t, r, `id="export-audit"`)
		apptest.WantPage(t, ac.Get("/audit/export.ndjson"), http.StatusForbidden, "Only an owner")
		apptest.WantPage(t, ac.Get("/audit/verify"), 200, "The chain is intact.")
		// Without audit read: 403 everywhere, no link.
		mc := signIn(t, s, mia.Email)
		apptest.WantNot(t, mc.Get("/dashboard"), `href="/audit"`)
		for _, p := range []string{"/audit", "/audit/verify", "/audit/export.ndjson"} {
			apptest.WantPage(t, mc.Get(p), http.StatusForbidden)
		}
	})
}
