package api_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// opHeard records the notifications a server's store delivers.
type opHeard struct {
	mu   sync.Mutex
	msgs []string
}

func opListen(srv *apptest.Server) *opHeard {
	h := &opHeard{}
	srv.Store.Subscribe(func(msg string) {
		h.mu.Lock()
		h.msgs = append(h.msgs, msg)
		h.mu.Unlock()
	})
	return h
}

// mark is where the messages heard from now on start.
func (h *opHeard) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

// has reports whether msg was heard at or after mark.
func (h *opHeard) has(mark int, msg string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.msgs[mark:], msg)
}

// opEventually polls cond for up to 5 s.
func opEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInvalidationAcrossProcesses runs two Gatehouse servers on one
// PostgreSQL database. Server B caches a member's compiled rights; changes
// made through server A (a folder moved, the member's grants or role
// changed, a custom role edited, the organization deleted) reach B through
// LISTEN/NOTIFY and B's answers change within a bounded time.
func TestInvalidationAcrossProcesses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		if e.Name != "postgres" {
			t.Skip("several processes share a database only on PostgreSQL")
		}
		ctx := context.Background()
		dsn := e.NewDSN(t)
		a := apptest.New(t, e, apptest.Options{DSN: dsn})
		b := apptest.New(t, e, apptest.Options{DSN: dsn})
		wa := opNewWorld(t, a) // everything is made through A
		wb := *wa
		wb.srv = b // the same people and ids, asked through B
		heard := opListen(b)

		// B's listener is up once a message published by A arrives.
		probe := "probe:" + uuid.NewString()
		opEventually(t, "B never heard A's probe", func() bool {
			if err := a.Store.Publish(ctx, probe); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			return heard.has(0, probe)
		})
		// status asks through B as m.
		status := func(m *apptest.Member, path string) int {
			return wb.do(m, "GET", path, nil).Status
		}
		folder := func(id string) string { return "/v1/projects/" + wa.p1 + "/folders/" + id }
		// changes waits until B answers want, and checks B heard msg since
		// mark: the change reached it by notification.
		changes := func(t *testing.T, mark int, m *apptest.Member, path string, want int, msg string) {
			t.Helper()
			opEventually(t, "B still answers the cached decision for "+path, func() bool {
				return status(m, path) == want
			})
			opEventually(t, "B never heard "+msg, func() bool { return heard.has(mark, msg) })
		}

		t.Run("OKFolderMovedOut", func(t *testing.T) {
			// Prime B: A1 is under A, which the custom member holds.
			for range 3 {
				if s := status(wa.custom, folder(wa.fA1)); s != 200 {
					t.Fatalf("before the move: %d", s)
				}
			}
			mark := heard.mark()
			apptest.MustDo(t, a, 200, wa.req(wa.owner, "POST", folder(wa.fA1)+"/move", map[string]any{"parent_id": nil}))
			changes(t, mark, wa.custom, folder(wa.fA1), 403, "tree:"+wa.org)
			apptest.MustDo(t, a, 200, wa.req(wa.owner, "POST", folder(wa.fA1)+"/move", map[string]any{"parent_id": wa.fA}))
			opEventually(t, "A1 moved back in is still refused on B", func() bool { return status(wa.custom, folder(wa.fA1)) == 200 })
		})
		t.Run("OKFolderCreated", func(t *testing.T) {
			// A folder made through A under A is readable through B.
			if s := status(wa.custom, folder(wa.fA)); s != 200 {
				t.Fatalf("prime: %d", s)
			}
			x := apptest.ID(t, apptest.MustDo(t, a, 201, wa.req(wa.owner, "POST", "/v1/projects/"+wa.p1+"/folders", map[string]any{"name": "New", "parent_id": wa.fA})))
			opEventually(t, "a new folder under A is refused on B", func() bool { return status(wa.custom, folder(x)) == 200 })
		})
		t.Run("OKMemberGrantsChanged", func(t *testing.T) {
			p1 := "/v1/projects/" + wa.p1
			if s := status(wa.custom, p1); s != 200 {
				t.Fatalf("prime: %d", s)
			}
			mark := heard.mark()
			a.SetStoreRights(wa.org, wa.custom.UserID, "", nil)
			changes(t, mark, wa.custom, p1, 403, apptest.MemberNotice(wa.org, wa.custom.UserID))
			a.SetStoreRights(wa.org, wa.custom.UserID, gatehouse.RoleViewerID, nil)
			opEventually(t, "the viewer role given through A is not seen by B", func() bool {
				return status(wa.custom, "/v1/projects/"+wa.p2) == 200
			})
		})
		t.Run("OKRoleChanged", func(t *testing.T) {
			role := apptest.ID(t, apptest.MustDo(t, a, 201, wa.req(wa.owner, "POST", "/v1/roles", map[string]any{"name": "editors",
				"permissions": []gatehouse.Grant{apptest.OneFolderGrant(wa.p1, wa.fA, "read")}})))
			a.SetStoreRights(wa.org, wa.custom.UserID, role, nil)
			opEventually(t, "the custom role is not seen by B", func() bool {
				return status(wa.custom, folder(wa.fA)) == 200 && status(wa.custom, folder(wa.fB)) == 403
			})
			mark := heard.mark()
			apptest.MustDo(t, a, 200, wa.req(wa.owner, "PUT", "/v1/roles/"+role, map[string]any{"name": "editors",
				"permissions": []gatehouse.Grant{apptest.OneFolderGrant(wa.p1, wa.fB, "read")}}))
			changes(t, mark, wa.custom, folder(wa.fA), 403, "org:"+wa.org)
			if s := status(wa.custom, folder(wa.fB)); s != 200 {
				t.Fatalf("B after the role change: %d", s)
			}
		})
		t.Run("OKOrgDeleted", func(t *testing.T) {
			// Listing projects needs nothing but the member's cached rights
			// (an empty list once the organization is gone), so only the
			// notification turns B's answer into a 404.
			if s := status(wa.admin, "/v1/projects"); s != 200 {
				t.Fatalf("prime: %d", s)
			}
			mark := heard.mark()
			apptest.MustDo(t, a, 204, wa.req(wa.owner, "DELETE", "/v1/organizations/"+wa.org, nil))
			changes(t, mark, wa.admin, "/v1/projects", 404, "org:"+wa.org)
			if s := status(wa.admin, "/v1/organizations/"+wa.org); s != 404 {
				t.Fatalf("organization through B after the delete: %d", s)
			}
		})
	})
}
