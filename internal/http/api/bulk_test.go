package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func bulkResults(t *testing.T, out map[string]any) []map[string]any {
	t.Helper()
	var rs []map[string]any
	for _, r := range out["results"].([]any) {
		rs = append(rs, r.(map[string]any))
	}
	return rs
}

func TestInvitationsBulk(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		const bulk = "/v1/members/invitations/bulk"

		t.Run("ErrRequest", func(t *testing.T) {
			viewer, _ := w.member("Vera Viewer", "vera@example.com", apptest.Role("viewer"))
			apptest.ProblemCode(t, w.do("POST", bulk, viewer, map[string]any{"invitations": []any{map[string]any{"email": "x@example.com", "role": "viewer"}}}), 403, "forbidden")
			apptest.ProblemCode(t, w.do("POST", bulk, w.owner, map[string]any{"invitations": []any{}}), 400, "invalid")
			rows := make([]any, 501)
			for i := range rows {
				rows[i] = map[string]any{"email": fmt.Sprintf("r%d@example.com", i), "role": "viewer"}
			}
			apptest.ProblemCode(t, w.do("POST", bulk, w.owner, map[string]any{"invitations": rows}), 400, "invalid")
			if len(srv.MailTo("r0@example.com")) != 0 {
				t.Fatal("mail sent for a refused request")
			}
		})

		t.Run("ErrMixedRows", func(t *testing.T) {
			uploader, _ := w.member("Uma Uploader", "uma@example.com", apptest.Role("uploader"))
			_ = uploader
			out := w.must(t, 200, "POST", bulk, w.owner, map[string]any{"invitations": []any{
				map[string]any{"email": "good1@example.com", "role": "viewer"},
				map[string]any{"email": "not-an-email", "role": "viewer"},
				map[string]any{"email": "GOOD1@example.com", "role": "admin"},
				map[string]any{"email": "uma@example.com", "role": "viewer"},
				map[string]any{"email": "norole@example.com"},
				map[string]any{"email": "good2@example.com", "role": "no-such-role"},
				map[string]any{"email": "good3@example.com", "permissions": []any{apptest.ProjectGrant(w.proj, "full-access", "")}},
			}})
			rs := bulkResults(t, out)
			if len(rs) != 7 {
				t.Fatalf("%d results", len(rs))
			}
			want := []int{201, 400, 409, 409, 400, 0, 201}
			for i, r := range rs {
				if want[i] != 0 && r["status"] != float64(want[i]) {
					t.Fatalf("row %d: %v, want %d", i, r, want[i])
				}
			}
			if rs[0]["invitation"].(map[string]any)["email"] != "good1@example.com" || rs[6]["invitation"] == nil {
				t.Fatalf("created rows %v %v", rs[0], rs[6])
			}
			p1 := rs[1]["problem"].(map[string]any)
			if errs := p1["errors"].([]any); errs[0].(map[string]any)["field"] != "invitations[1].email" {
				t.Fatalf("row 1 problem %v", p1)
			}
			if p := rs[2]["problem"].(map[string]any); p["code"] != "duplicate_in_request" || p["duplicate_of"] != float64(0) {
				t.Fatalf("row 2 problem %v", p)
			}
			if p := rs[3]["problem"].(map[string]any); p["code"] != "already_member" {
				t.Fatalf("row 3 problem %v", p)
			}
			if rs[5]["status"].(float64) < 400 {
				t.Fatalf("unknown role row %v", rs[5])
			}
			// The passing rows exist, once each, with their mail; the others do not.
			list := w.must(t, 200, "GET", "/v1/members/invitations?email=good1@example.com", w.owner, nil)
			if n := len(list["data"].([]any)); n != 1 {
				t.Fatalf("%d invitations to good1", n)
			}
			if len(srv.MailTo("good1@example.com")) != 1 || len(srv.MailTo("good3@example.com")) != 1 || len(srv.MailTo("norole@example.com")) != 0 {
				t.Fatal("mails do not match the rows created")
			}
			if n := len(srv.AuditEvents(w.org, "invitation.created")); n < 2 {
				t.Fatalf("%d invitation.created events", n)
			}
		})

		t.Run("ErrEscalationPerRow", func(t *testing.T) {
			admin, _ := w.member("Ada Admin", "ada@example.com", apptest.Role("admin"))
			out := w.must(t, 200, "POST", bulk, admin, map[string]any{"invitations": []any{
				map[string]any{"email": "fine@example.com", "role": "viewer"},
				map[string]any{"email": "owner-to-be@example.com", "role": "owner"},
			}})
			rs := bulkResults(t, out)
			if rs[0]["status"] != float64(201) || rs[1]["status"] != float64(403) {
				t.Fatalf("results %v", rs)
			}
		})

		t.Run("ErrDailyLimitCountsRows", func(t *testing.T) {
			org := srv.CreateOrg(w.owner, "Limited Co")
			srv.SetOrgSetting(org, "invitations_per_day", 2)
			out := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: bulk, Token: w.owner, Header: apptest.OrgHeader(org),
				Body: map[string]any{"invitations": []any{
					map[string]any{"email": "l1@example.com", "role": "viewer"},
					map[string]any{"email": "l2@example.com", "role": "viewer"},
					map[string]any{"email": "l3@example.com", "role": "viewer"},
				}}}))
			rs := bulkResults(t, out)
			if rs[0]["status"] != float64(201) || rs[1]["status"] != float64(201) || rs[2]["status"] != float64(429) {
				t.Fatalf("results %v", rs)
			}
		})

		t.Run("CSV", func(t *testing.T) {
			csv := "email,name,role\ncsv1@example.com,Cee One,viewer\n\"csv2@example.com\",\"Two, Cee\",uploader\nbroken,,viewer\n"
			out := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: bulk, Token: w.owner, Header: apptest.OrgHeader(w.org),
				Body: csv, ContentType: "text/csv"}))
			rs := bulkResults(t, out)
			if len(rs) != 3 || rs[0]["status"] != float64(201) || rs[1]["status"] != float64(201) || rs[2]["status"] != float64(400) {
				t.Fatalf("results %v", rs)
			}
			if inv := rs[1]["invitation"].(map[string]any); inv["name"] != "Two, Cee" || inv["role"].(map[string]any)["name"] != "uploader" {
				t.Fatalf("row 1 %v", inv)
			}
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: bulk, Token: w.owner, Header: apptest.OrgHeader(w.org),
				Body: "a,b,c,d\n", ContentType: "text/csv"}), 400, "invalid")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: bulk, Token: w.owner, Header: apptest.OrgHeader(w.org),
				Body: strings.Repeat("x@example.com,,viewer\n", 501), ContentType: "text/csv"}), 400, "invalid")
		})
	})
}
