package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestInvitationsShow(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		inv, token := w.invite(t, "shown@example.com", map[string]any{"role": "uploader", "name": "Shawn",
			"permissions": []any{apptest.ProjectGrant(w.proj, "custom", "", apptest.FoldersArea(apptest.FolderGrant(w.folder, "read")))}})

		t.Run("ErrUnknown", func(t *testing.T) {
			for _, tok := range []string{strings.Repeat("A", 43), "short", strings.Repeat("b", 101)} {
				apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tok}), 404, "")
				apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tok + "/accept"}), 404, "")
				apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tok + "/reject"}), 404, "")
			}
		})
		t.Run("OK", func(t *testing.T) {
			got := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}))
			if got["organization_name"] != "Acme Video" || got["inviter_name"] != ivOwnerName || got["email"] != "shown@example.com" ||
				got["status"] != "pending" || got["id"] != inv["id"] || got["name"] != "Shawn" {
				t.Fatalf("show = %v", got)
			}
			if !apptest.UTCTime(t, got["expires_at"]).Equal(apptest.UTCTime(t, inv["expires_at"])) {
				t.Fatalf("expires_at %v, want %v", got["expires_at"], inv["expires_at"])
			}
			words, _ := got["access"].([]any)
			text := ""
			for _, w := range words {
				text += w.(string) + "\n"
			}
			if !strings.Contains(text, "Role uploader") || !strings.Contains(text, "folder Trailers in project Launch") {
				t.Fatalf("access in words = %q", text)
			}
			if !reflect.DeepEqual(apptest.Grants(t, got["permissions"]), apptest.Grants(t, inv["permissions"])) {
				t.Fatalf("grants %v, want %v", got["permissions"], inv["permissions"])
			}
			// Looking does not change anything.
			if st := w.status(t, inv["id"].(string)); st != "pending" {
				t.Fatalf("status %s", st)
			}
		})
	})
}

// TestInvitationsLinkBeforeOrderedTokens: a link sent before tokens
// started with their time (its row keyed by the plain SHA-256 of a 32-byte
// token) is still shown and accepted; the ordered token it replaced in this
// test now reads as superseded.
func TestInvitationsLinkBeforeOrderedTokens(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		inv, token := w.invite(t, "early@example.com", map[string]any{"role": "viewer"})
		old := secret.Token("", service.InvitationTokenBytes)
		ctx := context.Background()
		if err := srv.Store.Tx(ctx, func(tx *store.Conn) error {
			i, err := tx.Invitation(ctx, w.org, inv["id"].(string))
			if err != nil {
				return err
			}
			i.TokenHash = secret.HashToken(old)
			_, err = tx.RenewInvitation(ctx, i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + old}))
		if got["id"] != inv["id"] {
			t.Fatalf("shown %v, want invitation %v", got["id"], inv["id"])
		}
		apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}), 410, "invitation_superseded")
		apptest.Status(t, 201, srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + old + "/accept",
			Body: map[string]any{"name": "Early", "password": apptest.TestPassword}}))
		if st := w.status(t, inv["id"].(string)); st != "accepted" {
			t.Fatalf("status %s, want accepted", st)
		}
	})
}

func TestInvitationsShowRateLimit(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		show := func() *apptest.Response {
			return srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + strings.Repeat("z", 43)})
		}
		t.Run("ErrTooMany", func(t *testing.T) {
			limited := 0
			for range 40 {
				resp := show()
				if resp.Status == 429 {
					limited++
					apptest.ProblemCode(t, resp, 429, "")
					if resp.Header.Get("Retry-After") == "" {
						t.Fatal("429 without Retry-After")
					}
				} else {
					apptest.ProblemCode(t, resp, 404, "")
				}
			}
			if limited == 0 || limited == 40 {
				t.Fatalf("%d of 40 look-ups limited", limited)
			}
			apptest.ProblemCode(t, show(), 429, "")
		})
		t.Run("OKRefills", func(t *testing.T) {
			srv.Clock.Advance(time.Minute)
			apptest.ProblemCode(t, show(), 404, "")
		})
	})
}

func TestInvitationsAccept(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		accept := func(token, bearer string, body any) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Token: bearer, Body: body})
		}
		newAccount := map[string]any{"name": "New Person", "password": apptest.TestPassword}
		stillPending := func(t *testing.T, id string) {
			t.Helper()
			if st := w.status(t, id); st != "pending" {
				t.Fatalf("invitation %s, want pending", st)
			}
		}

		t.Run("ErrEmailMismatch", func(t *testing.T) {
			inv, token := w.invite(t, "ann@example.com", apptest.Role("viewer"))
			bob, _ := srv.Signup("Bob", "bob@example.com")
			apptest.ProblemCode(t, accept(token, bob, nil), 403, "email_mismatch")
			stillPending(t, inv["id"].(string))
			apptest.ProblemCode(t, w.do("GET", "/v1/members", bob, nil), 404, "")
		})
		t.Run("ErrLoginRequired", func(t *testing.T) {
			inv, token := w.invite(t, "carl@example.com", apptest.Role("viewer"))
			srv.Signup("Carl", "carl@example.com")
			apptest.ProblemCode(t, accept(token, "", newAccount), 401, "login_required")
			apptest.ProblemCode(t, accept(token, "", nil), 401, "login_required")
			stillPending(t, inv["id"].(string))
		})
		t.Run("ErrNewAccountInput", func(t *testing.T) {
			inv, token := w.invite(t, "dora@example.com", apptest.Role("viewer"))
			for _, tc := range []struct {
				body  any
				field string
			}{
				{nil, "password"},
				{map[string]any{"name": "Dora"}, "password"},
				{map[string]any{"name": "Dora", "password": "short"}, "password"},
				{map[string]any{"password": apptest.TestPassword}, "name"},
			} {
				apptest.ProblemField(t, apptest.ProblemCode(t, accept(token, "", tc.body), 400, "invalid"), tc.field)
			}
			apptest.ProblemCode(t, accept(token, "", map[string]any{"name": "Dora", "password": apptest.TestPassword, "role": "owner"}), 400, "invalid")
			stillPending(t, inv["id"].(string))
			if apptest.AccountExists(t, srv, "dora@example.com") {
				t.Fatal("an account was made by a refused accept")
			}
		})
		t.Run("ErrBadBearer", func(t *testing.T) {
			inv, token := w.invite(t, "eve@example.com", apptest.Role("viewer"))
			apptest.ProblemCode(t, accept(token, "not-a-real-token", newAccount), 401, "")
			stillPending(t, inv["id"].(string))
		})
		t.Run("ErrAlreadyMember", func(t *testing.T) {
			inv, token := w.invite(t, "erin@example.com", apptest.Role("viewer"))
			erin, u := srv.Signup("Erin", "erin@example.com")
			srv.StoreMembership(w.org, u["id"].(string), gatehouse.RoleUploaderID, nil)
			apptest.ProblemCode(t, accept(token, erin, nil), 409, "already_member")
			stillPending(t, inv["id"].(string))
			m := w.must(t, 200, "GET", "/v1/members/"+u["id"].(string), w.owner, nil)
			if m["role"].(map[string]any)["name"] != "uploader" {
				t.Fatalf("membership changed: %v", m)
			}
		})
		t.Run("ErrUsed", func(t *testing.T) {
			_, token := w.invite(t, "used@example.com", apptest.Role("viewer"))
			used, _ := srv.Signup("Used", "used@example.com")
			apptest.Status(t, 200, accept(token, used, nil))
			for _, bearer := range []string{used, "", w.owner} {
				p := apptest.ProblemCode(t, accept(token, bearer, newAccount), 410, "invitation_accepted")
				if p["invitation_status"] != "accepted" {
					t.Fatalf("problem = %v", p)
				}
			}
			p := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + token}), 410, "invitation_accepted")
			if p["invitation_status"] != "accepted" {
				t.Fatalf("problem = %v", p)
			}
		})

		t.Run("OKSignedIn", func(t *testing.T) {
			inv, token := w.invite(t, "Fay@Example.COM", map[string]any{"role": "uploader",
				"permissions": []any{apptest.OrgGrant(w.org, "audit", "read")}})
			fay, u := srv.Signup("Fay", "fay@example.com")
			before := srv.Clock.Now()
			got := apptest.Status(t, 200, accept(token, fay, nil))
			m, _ := got["membership"].(map[string]any)
			if m == nil || m["organization_id"] != w.org || m["user_id"] != u["id"] || m["role"].(map[string]any)["id"] != gatehouse.RoleUploaderID ||
				len(m["permissions"].([]any)) != 1 || !apptest.UTCTime(t, m["joined_at"]).Equal(before) {
				t.Fatalf("accept = %v", got)
			}
			if got["user"].(map[string]any)["id"] != u["id"] || got["session"] != nil {
				t.Fatalf("accept = %v", got)
			}
			inv2 := w.must(t, 200, "GET", "/v1/members/invitations/"+inv["id"].(string), w.owner, nil)
			if inv2["status"] != "accepted" || inv2["updated_by"] != u["id"] {
				t.Fatalf("invitation after accept = %v", inv2)
			}
			member := w.must(t, 200, "GET", "/v1/members/"+u["id"].(string), w.owner, nil)
			if member["invited_by"] != w.ownerID || member["email"] != "fay@example.com" {
				t.Fatalf("member = %v", member)
			}
			// Their rights work on their next request.
			w.must(t, 200, "GET", "/v1/audits", fay, nil)
			for _, action := range []string{"invitation.accepted", "member.added"} {
				target := inv["id"].(string)
				if action == "member.added" {
					target = u["id"].(string)
				}
				if ev := srv.AuditFor(w.org, action, target); ev == nil || ev.ActorID != u["id"] {
					t.Fatalf("%s audit event = %+v", action, ev)
				}
			}
		})
		t.Run("OKNewAccount", func(t *testing.T) {
			inv, token := w.invite(t, "gus@example.com", apptest.Role("viewer"))
			got := apptest.Status(t, 201, accept(token, "", map[string]any{"name": "Gus", "password": apptest.TestPassword}))
			session, _ := got["session"].(map[string]any)
			access, _ := session["access_token"].(string)
			if access == "" || session["refresh_token"] == "" || got["membership"].(map[string]any)["organization_id"] != w.org {
				t.Fatalf("accept = %v", got)
			}
			me := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me", Token: access}))
			if me["email"] != "gus@example.com" || me["email_verified"] != true || me["name"] != "Gus" {
				t.Fatalf("me = %v", me)
			}
			// A member of the organization (their current one) at once.
			apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members/" + me["id"].(string), Token: access}))
			srv.SignIn("gus@example.com", apptest.TestPassword)
			if st := w.status(t, inv["id"].(string)); st != "accepted" {
				t.Fatalf("status %s", st)
			}
		})
	})
}

func TestInvitationsAcceptRace(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		race := func(t *testing.T, token, bearer, body string) map[int]int {
			t.Helper()
			const n = 20
			statuses := make([]int, n)
			errs := make([]error, n)
			var start, done sync.WaitGroup
			start.Add(1)
			for i := range n {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					statuses[i], _, errs[i] = apptest.Raw(srv, "POST", "/v1/invitations/"+token+"/accept", bearer, body)
				}()
			}
			start.Done()
			done.Wait()
			counts := map[int]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				counts[statuses[i]]++
			}
			t.Logf("statuses: %v", counts)
			return counts
		}
		members := func(t *testing.T, email string) int {
			t.Helper()
			items, _ := apptest.Page(t, w.must(t, 200, "GET", "/v1/members?q="+url.QueryEscape(email), w.owner, nil))
			return len(items)
		}

		t.Run("OKSignedIn", func(t *testing.T) {
			_, token := w.invite(t, "racer@example.com", apptest.Role("viewer"))
			racer, _ := srv.Signup("Racer", "racer@example.com")
			counts := race(t, token, racer, "")
			if counts[200] != 1 || counts[200]+counts[410]+counts[409] != 20 {
				t.Fatalf("statuses %v: want one 200, the rest 409 or 410", counts)
			}
			if n := members(t, "racer@example.com"); n != 1 {
				t.Fatalf("%d memberships", n)
			}
			if n := len(srv.AuditEvents(w.org, "member.added")); n != 1 {
				t.Fatalf("%d member.added events", n)
			}
		})
		t.Run("OKNewAccount", func(t *testing.T) {
			_, token := w.invite(t, "sprinter@example.com", apptest.Role("viewer"))
			counts := race(t, token, "", `{"name": "Sprinter", "password": "`+apptest.TestPassword+`"}`)
			if counts[201] != 1 || counts[201]+counts[401]+counts[409]+counts[410] != 20 {
				t.Fatalf("statuses %v: want one 201, the rest 401, 409 or 410", counts)
			}
			if n := members(t, "sprinter@example.com"); n != 1 {
				t.Fatalf("%d memberships", n)
			}
		})
	})
}

func TestInvitationsReject(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		inv, token := w.invite(t, "nope@example.com", apptest.Role("viewer"))
		id := inv["id"].(string)
		reject := func(bearer string) *apptest.Response {
			return srv.Do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + token + "/reject", Token: bearer})
		}
		t.Run("ErrBadBearer", func(t *testing.T) {
			apptest.ProblemCode(t, reject("not-a-real-token"), 401, "")
			if st := w.status(t, id); st != "pending" {
				t.Fatalf("status %s", st)
			}
		})
		t.Run("OK", func(t *testing.T) {
			got := apptest.Status(t, 200, reject(""))
			if got["status"] != "rejected" || w.status(t, id) != "rejected" {
				t.Fatalf("reject = %v", got)
			}
			if srv.AuditFor(w.org, "invitation.rejected", id) == nil {
				t.Fatal("no invitation.rejected audit event")
			}
		})
		t.Run("ErrAfterReject", func(t *testing.T) {
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/invitations/" + token},
				{Method: "POST", Path: "/v1/invitations/" + token + "/reject"},
				{Method: "POST", Path: "/v1/invitations/" + token + "/accept", Body: map[string]any{"name": "N", "password": apptest.TestPassword}},
			} {
				p := apptest.ProblemCode(t, srv.Do(r), 410, "invitation_rejected")
				if p["invitation_status"] != "rejected" {
					t.Fatalf("problem = %v", p)
				}
			}
			apptest.ProblemCode(t, w.do("DELETE", "/v1/members/invitations/"+id, w.owner, nil), 409, "invitation_not_pending")
			apptest.ProblemCode(t, w.do("POST", "/v1/members/invitations/"+id+"/resend", w.owner, nil), 409, "invitation_not_pending")
		})
	})
}

func TestInvitationsMine(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		me, meUser := srv.Signup("Moe", "moe@example.com")
		other, _ := srv.Signup("Otto", "otto@example.com")
		second, _ := srv.Signup("Sue Second", "sue@example.com")
		org2 := srv.CreateOrg(second, "Second Studio")
		a, _ := w.invite(t, "MOE@example.com", apptest.Role("viewer"))
		srv.Clock.Advance(time.Second)
		b := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: second, Header: apptest.OrgHeader(org2),
			Body: map[string]any{"email": "moe@example.com", "role": "uploader"}})
		srv.Clock.Advance(time.Second)
		revoked := srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/members/invitations", Token: w.owner, Header: apptest.OrgHeader(w.otherOrg),
			Body: map[string]any{"email": "moe@example.com", "role": "viewer"}})
		srv.Must(204, apptest.Req{Method: "DELETE", Path: "/v1/members/invitations/" + revoked["id"].(string), Token: w.owner, Header: apptest.OrgHeader(w.otherOrg)})
		mine := func(t *testing.T, token, query string) ([]map[string]any, string) {
			t.Helper()
			return apptest.Page(t, apptest.Status(t, 200, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations" + query, Token: token})))
		}

		t.Run("ErrUnauthenticated", func(t *testing.T) {
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/me/invitations"}), 401, "")
		})
		t.Run("ErrNotMine", func(t *testing.T) {
			for _, id := range []string{a["id"].(string), "0191f2a4-0000-7000-8000-000000000000", "nope"} {
				apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + id + "/accept", Token: other}), 404, "")
				apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + id + "/reject", Token: other}), 404, "")
			}
			if items, _ := mine(t, other, ""); len(items) != 0 {
				t.Fatalf("someone else's invitations listed: %v", items)
			}
		})
		t.Run("ErrRevoked", func(t *testing.T) {
			p := apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + revoked["id"].(string) + "/accept", Token: me}), 410, "invitation_revoked")
			if p["invitation_status"] != "revoked" {
				t.Fatalf("problem = %v", p)
			}
		})

		t.Run("OK", func(t *testing.T) {
			items, next := mine(t, me, "")
			if got, want := apptest.IDs(items, "id"), []string{b["id"].(string), a["id"].(string)}; !reflect.DeepEqual(got, want) || next != "" {
				t.Fatalf("mine = %v, want %v", got, want)
			}
			if items[0]["organization_name"] != "Second Studio" || items[0]["inviter_name"] != "Sue Second" || items[1]["organization_name"] != "Acme Video" {
				t.Fatalf("mine = %v", items)
			}
			page1, next := mine(t, me, "?limit=1")
			if len(page1) != 1 || next == "" {
				t.Fatalf("first page %v, next %q", page1, next)
			}
			page2, next2 := mine(t, me, "?limit=1&cursor="+url.QueryEscape(next))
			if len(page2) != 1 || next2 != "" || page2[0]["id"] != a["id"] {
				t.Fatalf("second page %v, next %q", page2, next2)
			}
			got := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + a["id"].(string) + "/accept", Token: me}))
			if got["membership"].(map[string]any)["organization_id"] != w.org {
				t.Fatalf("accept = %v", got)
			}
			rej := apptest.Status(t, 200, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + b["id"].(string) + "/reject", Token: me}))
			if rej["status"] != "rejected" {
				t.Fatalf("reject = %v", rej)
			}
			if items, _ := mine(t, me, ""); len(items) != 0 {
				t.Fatalf("still listed: %v", items)
			}
			w.must(t, 200, "GET", "/v1/members/"+meUser["id"].(string), w.owner, nil)
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/members", Token: me, Header: apptest.OrgHeader(org2)}), 404, "")
			apptest.ProblemCode(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/me/invitations/" + a["id"].(string) + "/accept", Token: me}), 410, "invitation_accepted")
		})
	})
}

// TestInvitationsTokenSecrecy: the link's token appears in the email and
// nowhere else — no response body, log line, audit event or stored value.
func TestInvitationsTokenSecrecy(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := ivSetup(t, e)
		srv := w.srv
		var bodies []string
		do := func(r apptest.Req) *apptest.Response {
			resp := srv.Do(r)
			bodies = append(bodies, string(resp.Body))
			return resp
		}
		in := func(method, path, token string, body any) *apptest.Response {
			return do(w.req(method, path, token, body))
		}

		// A whole life: create, list, get, resend, show, my list, accept,
		// reject, revoke, audits and members.
		acc := apptest.Status(t, 201, in("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "keep@example.com", "role": "viewer"}))
		apptest.Status(t, 201, in("POST", "/v1/account/users/invitations", w.owner, map[string]any{"email": "drop@example.com", "role": "viewer"}))
		rev := apptest.Status(t, 201, in("POST", "/v1/members/invitations", w.owner, map[string]any{"email": "gone@example.com", "role": "viewer"}))
		in("GET", "/v1/members/invitations", w.owner, nil)
		in("GET", "/v1/account/users/invitations?status=pending", w.owner, nil)
		in("GET", "/v1/members/invitations/"+acc["id"].(string), w.owner, nil)
		srv.Clock.Advance(5 * time.Minute)
		apptest.Status(t, 200, in("POST", "/v1/members/invitations/"+acc["id"].(string)+"/resend", w.owner, nil))
		keep, _ := srv.Signup("Keeper", "keep@example.com")
		tokenAcc := srv.LastInvitationToken("keep@example.com")
		apptest.Status(t, 200, do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tokenAcc}))
		apptest.Status(t, 200, do(apptest.Req{Method: "GET", Path: "/v1/me/invitations", Token: keep}))
		apptest.Status(t, 200, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenAcc + "/accept", Token: keep}))
		apptest.ProblemCode(t, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenAcc + "/accept", Token: keep}), 410, "")
		tokenRej := srv.LastInvitationToken("drop@example.com")
		apptest.Status(t, 200, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenRej + "/reject"}))
		apptest.ProblemCode(t, do(apptest.Req{Method: "GET", Path: "/v1/invitations/" + tokenRej}), 410, "")
		apptest.Status(t, 204, in("DELETE", "/v1/members/invitations/"+rev["id"].(string), w.owner, nil))
		tokenRev := srv.LastInvitationToken("gone@example.com")
		apptest.ProblemCode(t, do(apptest.Req{Method: "POST", Path: "/v1/invitations/" + tokenRev + "/accept", Body: map[string]any{"name": "G", "password": apptest.TestPassword}}), 410, "")
		apptest.Status(t, 200, in("GET", "/v1/audits?limit=100", w.owner, nil))
		apptest.Status(t, 200, in("GET", "/v1/members", w.owner, nil))
		apptest.Status(t, 200, in("GET", "/v1/members/invitations", w.owner, nil))

		var tokens []string
		for _, addr := range []string{"keep@example.com", "drop@example.com", "gone@example.com"} {
			tokens = append(tokens, srv.InvitationTokens(addr)...)
		}
		if len(tokens) != 4 {
			t.Fatalf("%d tokens, want 4 (one resent)", len(tokens))
		}
		logs := srv.Logs.String()
		values := srv.DBValues()
		raw := srv.RawDBFiles()
		hashes := map[string]bool{}
		for _, v := range values {
			if v.Table == "invitations" && v.Column == "token_hash" {
				hashes[string(v.Value)] = true
			}
		}
		t.Run("OKTokenShape", func(t *testing.T) {
			for _, tok := range tokens {
				// 6 bytes of time (secret.OrderedToken), then 32 random ones.
				b, err := base64.RawURLEncoding.DecodeString(tok)
				if err != nil || len(b) != 6+32 {
					t.Fatalf("token %q is not 38 URL-safe base64 bytes", tok)
				}
			}
		})
		t.Run("OKStoredAsSHA256", func(t *testing.T) {
			// The key: the token's time in hex, a dot, the whole token's SHA-256.
			key := func(tok string) string {
				b, _ := base64.RawURLEncoding.DecodeString(tok)
				sum := sha256.Sum256([]byte(tok))
				return hex.EncodeToString(b[:6]) + "." + hex.EncodeToString(sum[:])
			}
			for _, tok := range []string{tokens[0], tokens[2], tokens[3]} { // the live one of each
				if !hashes[key(tok)] {
					t.Fatal("token's SHA-256 not stored")
				}
			}
			if hashes[key(tokens[1])] { // replaced by the resend
				t.Fatal("the resent invitation still keeps its old token's hash")
			}
		})
		t.Run("OKAbsentEverywhere", func(t *testing.T) {
			for i, tok := range tokens {
				for _, b := range bodies {
					if strings.Contains(b, tok) {
						t.Fatalf("token %d in a response body: %s", i, b)
					}
				}
				if strings.Contains(logs, tok) {
					t.Fatalf("token %d in the logs", i)
				}
				for _, v := range values {
					if strings.Contains(string(v.Value), tok) {
						t.Fatalf("token %d stored in %s.%s", i, v.Table, v.Column)
					}
				}
				for name, b := range raw {
					if strings.Contains(string(b), tok) {
						t.Fatalf("token %d in database file %s", i, name)
					}
				}
			}
			if !strings.Contains(logs, "/v1/invitations/{token}") {
				t.Fatal("link requests not logged by their route pattern")
			}
		})
	})
}
