package api_test

import (
	"testing"
	"time"

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
		Body: map[string]any{"name": "outsider", "permissions": []any{apptest.ProjectGrant("*", "custom", "", apptest.AreaGrant("analytics", "read"))}}})
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
	out := apptest.Status(t, 200, w.srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/login",
		Body: map[string]string{"email": email, "password": apptest.TestPassword}}))
	return out["access_token"].(string)
}

// advance moves the clock and signs the owner in again.
func (w *ivWorld) advance(t *testing.T, d time.Duration) {
	t.Helper()
	w.srv.Clock.Advance(d)
	w.owner = w.signIn(t, "olivia@example.com")
}

func (w *ivWorld) do(method, path, token string, body any) *apptest.Response {
	return w.srv.Do(w.req(method, path, token, body))
}

// must sends a request in the organization and fails t unless the status is want.
func (w *ivWorld) must(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	return apptest.Status(t, want, w.do(method, path, token, body))
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
	apptest.UTCTime(t, inv["created_time"])
	apptest.UTCTime(t, inv["updated_time"])
	apptest.UTCTime(t, inv["expires_at"])
}
