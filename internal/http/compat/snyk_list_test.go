package compat_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestSnykList(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		var want []string // newest first
		for i := range 25 {
			want = append([]string{c.create(t, f.key, fmt.Sprintf("l%02d@example.com", i), gatehouse.RoleUploaderID)}, want...)
			f.srv.Clock.Advance(time.Second)
		}
		// An accepted and a revoked invite are not pending: not listed.
		acc := c.create(t, f.key, "acc@example.com", gatehouse.RoleViewerID)
		f.accept(t, "acc@example.com", "Acc Epted")
		rev := c.create(t, f.key, "rev@example.com", gatehouse.RoleViewerID)
		c.mustDelete(t, f.key, rev)

		follow := func(t *testing.T, link any) ([]map[string]any, map[string]any) {
			t.Helper()
			s, ok := link.(string)
			if !ok || !strings.HasPrefix(s, "/rest/orgs/"+f.org+"/invites?") {
				t.Fatalf("link %v", link)
			}
			u, _ := url.Parse(s)
			if u.Query().Get("version") != snykVersion {
				t.Fatalf("link %s drops the version", s)
			}
			return c.listPage(t, f.key, s)
		}

		t.Run("OK/DefaultLimitAndPages", func(t *testing.T) {
			p1, l1 := c.listPage(t, f.key, c.listPath(""))
			if len(p1) != 10 || l1["next"] == nil || l1["prev"] != nil || l1["self"] == nil {
				t.Fatalf("page 1: %d items, links %v", len(p1), l1)
			}
			p2, l2 := follow(t, l1["next"])
			if len(p2) != 10 || l2["next"] == nil || l2["prev"] == nil {
				t.Fatalf("page 2: %d items, links %v", len(p2), l2)
			}
			p3, l3 := follow(t, l2["next"])
			if len(p3) != 5 || l3["next"] != nil || l3["prev"] == nil {
				t.Fatalf("page 3: %d items, links %v", len(p3), l3)
			}
			got := append(append(snykIDs(p1), snykIDs(p2)...), snykIDs(p3)...)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("forward ids %v, want %v", got, want)
			}
			// And back again.
			b2, lb2 := follow(t, l3["prev"])
			if strings.Join(snykIDs(b2), ",") != strings.Join(snykIDs(p2), ",") || lb2["next"] == nil || lb2["prev"] == nil {
				t.Fatalf("back to page 2: %v, links %v", snykIDs(b2), lb2)
			}
			b1, lb1 := follow(t, lb2["prev"])
			if strings.Join(snykIDs(b1), ",") != strings.Join(snykIDs(p1), ",") || lb1["next"] == nil || lb1["prev"] != nil {
				t.Fatalf("back to page 1: %v, links %v", snykIDs(b1), lb1)
			}
			if contains(got, acc) || contains(got, rev) {
				t.Errorf("lists an invite that is not pending")
			}
			for _, it := range p1 {
				if it["attributes"].(map[string]any)["role"] != "uploader" {
					t.Errorf("role %v", it)
				}
			}
		})
		t.Run("OK/Limits", func(t *testing.T) {
			for _, n := range []int{10, 20, 30, 100} {
				if got := len(c.list(t, f.key, "limit="+strconv.Itoa(n))); got != min(n, 25) {
					t.Errorf("limit %d: %d items", n, got)
				}
			}
		})
		t.Run("OK/MembersReadKey", func(t *testing.T) {
			if got := len(c.list(t, f.newKey(t, orgGrant(f.org, gatehouse.OrgMembers, "read")), "limit=100")); got != 25 {
				t.Errorf("%d items", got)
			}
		})
		billing := f.newKey(t, orgGrant(f.org, gatehouse.OrgBilling, ""))
		for _, tc := range []struct {
			name, query, auth string
			status            int
			param             string
			specInvalid       bool
		}{
			{"ErrLimitLow", "limit=5", "", 400, "limit", true},
			{"ErrLimitNotTens", "limit=15", "", 400, "limit", true},
			{"ErrLimitHigh", "limit=110", "", 400, "limit", true},
			{"ErrLimitWord", "limit=ten", "", 400, "limit", true},
			{"ErrStartingAfter", "starting_after=v1.eyJpZCI6IjEwMDAifQo=", "", 400, "starting_after", false},
			{"ErrEndingBefore", "ending_before=nope", "", 400, "ending_before", false},
			{"ErrBothCursors", "starting_after=" + url.QueryEscape(gatehouse.Cursor{ID: want[0]}.Encode()) + "&ending_before=" + url.QueryEscape(gatehouse.Cursor{ID: want[1]}.Encode()), "", 400, "ending_before", false},
			{"ErrNoAuth", "", "-", 401, "", true},
			{"ErrBadKey", "", "token gh_key_nope", 401, "", false},
			{"ErrNoMembersRead", "", "token " + billing, 403, "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := snykReq{Method: "GET", Path: c.listPath(tc.query), Auth: tc.auth}
				switch r.Auth {
				case "":
					r.Auth = "token " + f.key
				case "-":
					r.Auth = ""
				}
				resp, reqErr := c.doChecked(t, r)
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
				}
				if tc.specInvalid && reqErr == nil {
					t.Errorf("the document accepts this request")
				}
				if tc.param != "" && !snykNames(resp.JSON(t), tc.param) {
					t.Errorf("no error names %s: %s", tc.param, resp.Body)
				}
			})
		}
	})
}

func TestSnykDelete(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		pending := c.create(t, f.key, "p@example.com", gatehouse.RoleViewerID)
		other := c.create(t, f.key, "o@example.com", gatehouse.RoleViewerID)
		accepted := c.create(t, f.key, "a@example.com", gatehouse.RoleViewerID)
		uid := f.accept(t, "a@example.com", "Ann Accepted")

		t.Run("OK", func(t *testing.T) {
			resp := c.do(t, snykReq{Method: "DELETE", Path: c.invitePath(pending), Auth: "Bearer " + f.key})
			if resp.Status != 204 || len(resp.Body) != 0 {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			if resp.Header.Get("snyk-version-served") != "2022-11-14" {
				t.Errorf("served %q", resp.Header.Get("snyk-version-served"))
			}
			if st := f.native(t, pending)["status"]; st != "revoked" {
				t.Errorf("status %v", st)
			}
			if ids := snykIDs(c.list(t, f.key, "")); contains(ids, pending) {
				t.Errorf("still listed: %v", ids)
			}
		})
		readKey := f.newKey(t, orgGrant(f.org, gatehouse.OrgMembers, "read"))
		for _, tc := range []struct {
			name, id, auth string
			status         int
			specInvalid    bool
		}{
			{"ErrAlreadyRevoked", pending, "", 404, false},
			{"ErrAccepted", accepted, "", 404, false},
			{"ErrUnknown", "0190a6f2-0000-7000-8000-000000000003", "", 404, false},
			{"ErrNotUUID", "abcde12345abcde12345a", "", 400, true},
			{"ErrNoAuth", other, "-", 401, true},
			{"ErrReadOnlyKey", other, "token " + readKey, 403, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := snykReq{Method: "DELETE", Path: c.invitePath(tc.id), Auth: tc.auth}
				switch r.Auth {
				case "":
					r.Auth = "token " + f.key
				case "-":
					r.Auth = ""
				}
				resp, reqErr := c.doChecked(t, r)
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
				}
				if tc.specInvalid && reqErr == nil {
					t.Errorf("the document accepts this request")
				}
			})
		}
		t.Run("OK/Untouched", func(t *testing.T) {
			if st := f.native(t, other)["status"]; st != "pending" {
				t.Errorf("other invite %v", st)
			}
			if st := f.native(t, accepted)["status"]; st != "accepted" {
				t.Errorf("accepted invite %v", st)
			}
			f.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/members/" + uid, Token: f.owner, Header: apptest.OrgHeader(f.org)})
		})
		t.Run("ErrExpired", func(t *testing.T) {
			f.srv.Clock.Advance(8 * 24 * time.Hour)
			if ids := snykIDs(c.list(t, f.key, "")); contains(ids, other) {
				t.Errorf("expired invite listed")
			}
			c.expectError(t, snykReq{Method: "DELETE", Path: c.invitePath(other), Auth: "token " + f.key}, 404)
		})
	})
}

// TestSnykDailyLimit: the organization's daily invitation limit is not a
// status the document declares (no 429): the dialect answers 400, with
// Retry-After.
func TestSnykDailyLimit(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		f := newFixture(t, e)
		c := newSnykClient(t, f)
		f.srv.SetOrgSetting(f.org, "invitations_per_day", 1)
		t.Run("OK", func(t *testing.T) { c.create(t, f.key, "first@example.com", gatehouse.RoleViewerID) })
		t.Run("ErrLimit", func(t *testing.T) {
			resp, reqErr := c.doChecked(t, snykReq{Method: "POST", Path: c.listPath(""), Auth: "token " + f.key, Body: snykBody("second@example.com", gatehouse.RoleViewerID)})
			if reqErr != nil || resp.Status != 400 {
				t.Fatalf("%v: %d %s", reqErr, resp.Status, resp.Body)
			}
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	})
}
