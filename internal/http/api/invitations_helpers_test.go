package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/seedtest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Shared fixture for the invitation, member and role tests (prefix "iv").

// ivWorld is an organization ("Acme Video") with its owner, two projects
// and a small folder tree, plus a second organization of the same owner
// whose ids are foreign to the first.
type ivWorld struct {
	srv         *apptest.Server
	owner       string // the owner's access token
	ownerID     string
	org         string
	proj        string // "Launch": Trailers > Teasers
	proj2       string // "Archive": Old
	folder      string // Trailers
	sub         string // Teasers, a child of Trailers
	folder2     string // Old, in Archive
	otherOrg    string
	otherProj   string
	otherFolder string
	otherRole   string // a custom role of otherOrg
}

const ivOwnerName = "Olivia Owner"

func ivSetup(t *testing.T, e storetest.Engine) *ivWorld {
	t.Helper()
	srv := apptest.New(t, e)
	tok, u := srv.Signup(ivOwnerName, "olivia@example.com")
	w := &ivWorld{srv: srv, owner: tok, ownerID: u["id"].(string)}
	w.org = srv.CreateOrg(tok, "Acme Video")
	srv.AddSSOConnection(tok, w.org, "example.com") // for authentication: sso invitations
	w.proj = srv.CreateProject(tok, w.org, "Launch")
	w.proj2 = srv.CreateProject(tok, w.org, "Archive")
	w.folder = srv.CreateFolder(tok, w.org, w.proj, "Trailers", "")
	w.sub = srv.CreateFolder(tok, w.org, w.proj, "Teasers", w.folder)
	w.folder2 = srv.CreateFolder(tok, w.org, w.proj2, "Old", "")
	w.otherOrg = srv.CreateOrg(tok, "Other Co")
	w.otherProj = srv.CreateProject(tok, w.otherOrg, "Elsewhere")
	w.otherFolder = srv.CreateFolder(tok, w.otherOrg, w.otherProj, "Far", "")
	role := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/roles", Token: tok, Header: apptest.OrgHeader(w.otherOrg),
		Body: map[string]any{"name": "outsider", "permissions": []any{ivProj("*", "custom", "", ivArea("analytics", "read"))}}})
	w.otherRole = role["id"].(string)
	return w
}

// req is a request acting in the world's organization; a string body is
// sent as raw JSON.
func (w *ivWorld) req(method, path, token string, body any) apptest.Req {
	r := apptest.Req{Method: method, Path: path, Token: token, Header: apptest.OrgHeader(w.org), Body: body}
	if _, raw := body.(string); raw {
		r.ContentType = "application/json"
	}
	return r
}

// signIn signs email in again (access tokens last 15 minutes of the test
// clock) and returns the new access token.
func (w *ivWorld) signIn(t *testing.T, email string) string {
	t.Helper()
	out := ivStatus(t, 200, w.srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login",
		Body: map[string]string{"email": email, "password": apptest.TestPassword}}))
	return out["access_token"].(string)
}

// advance moves the clock and signs the owner in again.
func (w *ivWorld) advance(t *testing.T, d time.Duration) {
	t.Helper()
	w.srv.Clock.Advance(d)
	w.owner = w.signIn(t, "olivia@example.com")
}

// ivAccountExists looks an account up in the store.
func ivAccountExists(t *testing.T, srv *apptest.Server, email string) bool {
	t.Helper()
	_, err := srv.Store.R().UserByEmail(context.Background(), email)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

func (w *ivWorld) do(method, path, token string, body any) *apptest.Response {
	return w.srv.Do(w.req(method, path, token, body))
}

// must sends a request in the organization and fails t unless the status is want.
func (w *ivWorld) must(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	return ivStatus(t, want, w.do(method, path, token, body))
}

// member signs up name <email> and makes them a member with access (role
// and/or permissions), invited by the owner. It returns their token and id.
func (w *ivWorld) member(name, email string, access map[string]any) (token, id string) {
	token, u := w.srv.InviteAndAccept(w.owner, w.org, name, email, access)
	return token, u["id"].(string)
}

// invite has the owner invite email with access; it returns the invitation
// and its link's token.
func (w *ivWorld) invite(t *testing.T, email string, access map[string]any) (inv map[string]any, token string) {
	t.Helper()
	return w.inviteAs(t, w.owner, email, access)
}

func (w *ivWorld) inviteAs(t *testing.T, inviter, email string, access map[string]any) (inv map[string]any, token string) {
	t.Helper()
	body := map[string]any{"email": email}
	for k, v := range access {
		body[k] = v
	}
	inv = w.must(t, 201, "POST", "/v1/members/invitations", inviter, body)
	return inv, w.srv.LastInvitationToken(email)
}

// status reads an invitation's status through the management API.
func (w *ivWorld) status(t *testing.T, id string) string {
	t.Helper()
	return w.must(t, 200, "GET", "/v1/members/invitations/"+id, w.owner, nil)["status"].(string)
}

// Grant builders.
func ivOrgGrant(orgID, name, action string) map[string]any {
	return map[string]any{"entity_type": "organizations", "entity_id": orgID, "name": name, "action": action, "permission": []any{}}
}

func ivProj(projectID, name, action string, areas ...map[string]any) map[string]any {
	perm := []any{}
	for _, a := range areas {
		perm = append(perm, a)
	}
	return map[string]any{"entity_type": "projects", "entity_id": projectID, "name": name, "action": action, "permission": perm}
}

func ivArea(name, action string) map[string]any {
	return map[string]any{"name": name, "action": action}
}

func ivFolders(folders ...map[string]any) map[string]any {
	fs := []any{}
	for _, f := range folders {
		fs = append(fs, f)
	}
	return map[string]any{"name": "folders", "action": "custom", "folders": fs}
}

func ivFolder(id, action string) map[string]any {
	return map[string]any{"folder_id": id, "action": action}
}

func ivPerms(grants ...map[string]any) map[string]any {
	gs := []any{}
	for _, g := range grants {
		gs = append(gs, g)
	}
	return map[string]any{"permissions": gs}
}

func ivRole(role string) map[string]any { return map[string]any{"role": role} }

// ivStatus fails t unless resp has status want; it returns the JSON object
// body, if any.
func ivStatus(t *testing.T, want int, resp *apptest.Response) map[string]any {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status %d, want %d: %s", resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(t)
}

// ivProblem checks a problem document with status and (unless "") code.
func ivProblem(t *testing.T, resp *apptest.Response, status int, code string) map[string]any {
	t.Helper()
	p := apptest.Problem(t, resp, status)
	if code != "" && p["code"] != code {
		t.Fatalf("code %v, want %q: %s", p["code"], code, resp.Body)
	}
	if detail, _ := p["detail"].(string); detail == "" {
		t.Fatalf("problem without detail: %s", resp.Body)
	}
	return p
}

// ivField checks that a 400 problem names field among its errors.
func ivField(t *testing.T, p map[string]any, field string) {
	t.Helper()
	errs, _ := p["errors"].([]any)
	var got []string
	for _, e := range errs {
		f, _ := e.(map[string]any)["field"].(string)
		if f == field {
			return
		}
		got = append(got, f)
	}
	t.Fatalf("no error for field %q; fields %v", field, got)
}

// ivData returns a list body's data and next cursor.
func ivData(t *testing.T, body map[string]any) ([]map[string]any, string) {
	t.Helper()
	raw, ok := body["data"].([]any)
	if !ok {
		t.Fatalf("no data array: %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	next, _ := body["next_cursor"].(string)
	if _, present := body["next_cursor"]; !present {
		t.Fatalf("no next_cursor member: %v", body)
	}
	return out, next
}

func ivIDs(items []map[string]any, key string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it[key].(string)
	}
	return out
}

// ivTime parses an RFC 3339 UTC time field.
func ivTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("time %q is not RFC 3339 UTC: %v", s, err)
	}
	return tm
}

// ivGrants decodes a permission list, from a request or a response, for
// comparison.
func ivGrants(t *testing.T, v any) []gatehouse.Grant {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var gs []gatehouse.Grant
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatalf("not a permission list: %s", b)
	}
	for i := range gs {
		if gs[i].Permission == nil {
			gs[i].Permission = []gatehouse.AreaGrant{}
		}
	}
	return gs
}

// ivRaw sends a request without the harness (safe from any goroutine).
func ivRaw(srv *apptest.Server, method, path, token string, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.HTTP.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ---------------------------------------------------------------------------
// Sending.

// ivSeedBodies gives the two bodies of the "Send invitation" page: the live
// one and the commented custom one (sent with customEmail), ids replaced by
// real ones.
func ivSeedBodies(w *ivWorld, customEmail string) (live, custom string) {
	live = seedtest.WithIDs(seedtest.LiveBody, map[string]string{seedtest.LiveProject: w.proj2, seedtest.LiveOrg: w.org})
	custom = seedtest.WithIDs(seedtest.CustomBody, map[string]string{seedtest.Email: customEmail,
		seedtest.CustomProject: w.proj, seedtest.CustomFolder: w.folder, seedtest.CustomOrg: w.org})
	return live, custom
}

var ivInvitationFields = []string{"id", "organization_id", "email", "name", "role", "permissions", "authentication", "status",
	"created_by", "created_time", "updated_by", "updated_time", "expires_at", "email_status", "redirect_url"}

// ivCheckInvitation checks an invitation object's shape.
func ivCheckInvitation(t *testing.T, inv map[string]any) {
	t.Helper()
	for _, f := range ivInvitationFields {
		if _, ok := inv[f]; !ok {
			t.Fatalf("invitation has no %q: %v", f, inv)
		}
	}
	for k := range inv {
		found := false
		for _, f := range ivInvitationFields {
			found = found || f == k
		}
		if !found {
			t.Fatalf("invitation has unexpected member %q: %v", k, inv)
		}
	}
	ivTime(t, inv["created_time"])
	ivTime(t, inv["updated_time"])
	ivTime(t, inv["expires_at"])
}
