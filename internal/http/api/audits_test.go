package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestAuditEveryMutation plays one of each mutation and checks that each
// left exactly one event with the right actor and target.
func TestAuditEveryMutation(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, ownerUser := srv.Signup("Owner", "owner@example.com")
		ownerID := ownerUser["id"].(string)
		org := srv.CreateOrg(owner, "Acme")
		h := apptest.OrgHeader(org)
		do := func(status int, method, path string, body any) map[string]any {
			t.Helper()
			return srv.Must(status, apptest.Req{Method: method, Path: path, Token: owner, Header: h, Body: body})
		}
		project := srv.CreateProject(owner, org, "Videos")
		do(200, "PATCH", "/v1/projects/"+project, map[string]any{"name": "Films"})
		folder := srv.CreateFolder(owner, org, project, "Raw", "")
		other := srv.CreateFolder(owner, org, project, "Cuts", "")
		do(200, "PATCH", "/v1/projects/"+project+"/folders/"+folder, map[string]any{"name": "Rushes"})
		do(200, "POST", "/v1/projects/"+project+"/folders/"+folder+"/move", map[string]any{"parent_id": other})
		do(204, "DELETE", "/v1/projects/"+project+"/folders/"+other+"?recursive=true", nil)
		do(200, "PATCH", "/v1/organizations/"+org, map[string]any{"name": "Acme Inc"})
		role := do(201, "POST", "/v1/roles", map[string]any{"name": "editor", "permissions": []any{apptest.ProjectGrant("*", "full-access", "")}})["id"].(string)
		do(200, "PUT", "/v1/roles/"+role, map[string]any{"name": "editor", "description": "Edits", "permissions": []any{apptest.ProjectGrant("*", "full-access", "read")}})
		inv := srv.Invite(owner, org, map[string]any{"email": "ada@example.com", "role": "viewer"})["id"].(string)
		srv.Clock.Advance(6 * time.Minute)
		do(200, "POST", "/v1/members/invitations/"+inv+"/resend", nil)
		srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("ada@example.com") + "/accept",
			Body: map[string]string{"name": "Ada", "password": "a long enough password"}})
		ada := srv.AuditEvents(org, "member.added")[0].TargetID
		inv2 := srv.Invite(owner, org, map[string]any{"email": "bob@example.com", "role": "viewer"})["id"].(string)
		do(204, "DELETE", "/v1/members/invitations/"+inv2, nil)
		inv3 := srv.Invite(owner, org, map[string]any{"email": "cy@example.com", "role": "viewer"})["id"].(string)
		srv.Must(200, apptest.Req{Method: "POST", Path: "/v1/invitations/" + srv.LastInvitationToken("cy@example.com") + "/reject"})
		do(200, "PUT", "/v1/members/"+ada+"/permissions", map[string]any{"role": role, "permissions": []any{}})
		do(200, "PUT", "/v1/members/"+ada+"/permissions", map[string]any{"role": "viewer", "permissions": []any{}})
		do(204, "DELETE", "/v1/members/"+ada, nil)
		do(204, "DELETE", "/v1/roles/"+role, nil)
		key := srv.CreateKey(owner, org, apptest.OrgGrant(org, "members", "read"))["id"].(string)
		do(204, "DELETE", "/v1/api-keys/"+key, nil)
		do(204, "DELETE", "/v1/projects/"+project, nil)

		for _, c := range []struct{ action, target, actor string }{
			{"organization.created", org, ownerID},
			{"organization.updated", org, ownerID},
			{"project.created", project, ownerID},
			{"project.updated", project, ownerID},
			{"project.deleted", project, ownerID},
			{"folder.created", folder, ownerID},
			{"folder.updated", folder, ownerID},
			{"folder.moved", folder, ownerID},
			{"folder.deleted", other, ownerID},
			{"role.created", role, ownerID},
			{"role.updated", role, ownerID},
			{"role.deleted", role, ownerID},
			{"invitation.created", inv, ownerID},
			{"invitation.resent", inv, ownerID},
			{"invitation.accepted", inv, ada},
			{"invitation.revoked", inv2, ownerID},
			{"invitation.rejected", inv3, ""},
			{"member.added", ada, ada},
			{"member.removed", ada, ownerID},
			{"api_key.created", key, ownerID},
			{"api_key.revoked", key, ownerID},
		} {
			var hits []*gatehouse.AuditEvent
			for _, ev := range srv.AuditEvents(org, c.action) {
				if ev.TargetID == c.target {
					hits = append(hits, ev)
				}
			}
			if len(hits) != 1 {
				t.Errorf("%s on %s: %d events, want 1", c.action, c.target, len(hits))
				continue
			}
			if hits[0].ActorID != c.actor {
				t.Errorf("%s: actor %q, want %q", c.action, hits[0].ActorID, c.actor)
			}
		}
		// Two member updates, one event each.
		if n := len(srv.AuditEvents(org, "member.updated")); n != 2 {
			t.Errorf("member.updated: %d events, want 2", n)
		}
		// The whole chain still verifies, through the API.
		v := do(200, "GET", "/v1/audits/verify", nil)
		if v["ok"] != true {
			t.Fatalf("verify: %v", v)
		}
	})
}

func TestAuditList(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		h := apptest.OrgHeader(org)
		var projects []string
		for i := range 5 {
			projects = append(projects, srv.CreateProject(owner, org, fmt.Sprintf("P%d", i)))
			srv.Clock.Advance(time.Minute)
		}
		list := func(query string) map[string]any {
			return srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/audits" + query, Token: owner, Header: h})
		}
		data := func(m map[string]any) []any { return m["data"].([]any) }

		t.Run("OK", func(t *testing.T) {
			all := data(list(""))
			if len(all) != 6 { // organization.created + 5 projects
				t.Fatalf("%d events, want 6", len(all))
			}
			first := all[0].(map[string]any)
			if first["action"] != "project.created" || first["target"].(map[string]any)["id"] != projects[4] {
				t.Fatalf("newest first: got %v", first)
			}
			for _, k := range []string{"id", "time", "actor", "action", "target", "summary", "ip", "user_agent", "request_id"} {
				if _, ok := first[k]; !ok {
					t.Fatalf("event lacks %s: %v", k, first)
				}
			}
			if first["actor"].(map[string]any)["name"] != "Owner" || first["request_id"] == "" {
				t.Fatalf("actor or request id missing: %v", first)
			}
		})

		t.Run("Filters", func(t *testing.T) {
			for _, c := range []struct {
				query string
				want  int
			}{
				{"?action=project.created", 5},
				{"?action=project.", 5},
				{"?action=organization.", 1},
				{"?action=invitation.", 0},
				{"?target_type=project&target_id=" + projects[2], 1},
				{"?actor_id=" + uuid.NewString(), 0},
				{"?from=" + srv.Clock.Now().Add(-150*time.Second).Format(time.RFC3339), 2},
				{"?to=" + srv.Clock.Now().Add(-270*time.Second).Format(time.RFC3339), 2},
			} {
				if got := len(data(list(c.query))); got != c.want {
					t.Errorf("%s: %d events, want %d", c.query, got, c.want)
				}
			}
		})

		t.Run("Pages", func(t *testing.T) {
			seen := map[string]bool{}
			cursor := ""
			for range 10 {
				page := list("?limit=2" + cursor)
				for _, ev := range data(page) {
					seen[ev.(map[string]any)["id"].(string)] = true
				}
				next, _ := page["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = "&cursor=" + next
			}
			if len(seen) != 6 {
				t.Fatalf("paging saw %d events, want 6", len(seen))
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			for _, q := range []string{"?from=yesterday", "?action=DROP%20TABLE", "?limit=0", "?cursor=zzz", "?format=xml",
				"?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z"} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/audits" + q, Token: owner, Header: h}), 400)
			}
		})

		t.Run("ErrForbidden", func(t *testing.T) {
			viewer := srv.AddStoreMember(org, "Viewer", "viewer@example.com", gatehouse.RoleViewerID, nil)
			for _, p := range []string{"/v1/audits", "/v1/audits/verify", "/v1/audits?format=ndjson"} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: p, Token: viewer.Token, Header: h}), 403)
			}
			stranger, _ := srv.Signup("Stranger", "stranger@example.com")
			apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/audits", Token: stranger, Header: h}), 404)
		})
	})
}

// TestAuditVerifyDetectsTampering edits, deletes and inserts rows directly
// in the database and expects verify to point at the first broken event.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		for _, c := range []struct {
			name, reason string
			tamper       func(t *testing.T, srv *apptest.Server, org string, evs []*gatehouse.AuditEvent) (brokenSeq int64)
		}{
			{"Edited", "contents changed", func(t *testing.T, srv *apptest.Server, org string, evs []*gatehouse.AuditEvent) int64 {
				exec(t, srv, `UPDATE audit_events SET summary = '{"name":"forged"}' WHERE id = $1`, evs[2].ID)
				return evs[2].Seq
			}},
			{"Deleted", "sequence gap", func(t *testing.T, srv *apptest.Server, org string, evs []*gatehouse.AuditEvent) int64 {
				exec(t, srv, `DELETE FROM audit_events WHERE id = $1`, evs[1].ID)
				return evs[2].Seq
			}},
			{"DeletedLast", "chain ends", func(t *testing.T, srv *apptest.Server, org string, evs []*gatehouse.AuditEvent) int64 {
				exec(t, srv, `DELETE FROM audit_events WHERE id = $1`, evs[len(evs)-1].ID)
				return evs[len(evs)-1].Seq
			}},
			{"Inserted", "unsealed event", func(t *testing.T, srv *apptest.Server, org string, evs []*gatehouse.AuditEvent) int64 {
				// Shift the later events up and slip a forged one in, with a
				// hash that is right for its own contents.
				exec(t, srv, `UPDATE audit_events SET seq = seq + 1000 WHERE chain_id = $1 AND seq >= $2`, org, evs[2].Seq)
				exec(t, srv, `UPDATE audit_events SET seq = seq - 999 WHERE chain_id = $1 AND seq >= 1000`, org)
				forged := &gatehouse.AuditEvent{ID: uuid.NewString(), OrgID: org, Seq: evs[2].Seq, Action: "member.added", TargetType: "member",
					TargetID: uuid.NewString(), Summary: json.RawMessage(`{}`), CreatedAt: evs[2].CreatedAt, PrevHash: evs[1].Hash}
				forged.Hash = store.AuditHash(forged) // plain SHA-256: no key at hand
				exec(t, srv, `INSERT INTO audit_events (id, chain_id, seq, org_id, action, target_type, target_id, summary, created_at, prev_hash, hash)
					VALUES ($1, $2, $3, $2, $4, $5, $6, '{}', $7, $8, $9)`, forged.ID, org, forged.Seq, forged.Action, forged.TargetType,
					forged.TargetID, forged.CreatedAt.UnixMicro(), forged.PrevHash, forged.Hash)
				return evs[2].Seq // unsealed: only the key could seal it
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				srv := apptest.New(t, e)
				owner, _ := srv.Signup("Owner", "owner@example.com")
				org := srv.CreateOrg(owner, "Acme")
				for i := range 4 {
					srv.CreateProject(owner, org, fmt.Sprintf("P%d", i))
				}
				verify := func() map[string]any {
					return srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/audits/verify", Token: owner, Header: apptest.OrgHeader(org)})
				}
				if v := verify(); v["ok"] != true || v["events"] != float64(5) {
					t.Fatalf("before tampering: %v", v)
				}
				evs := srv.AuditEvents(org, "")
				for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 { // oldest first
					evs[i], evs[j] = evs[j], evs[i]
				}
				want := c.tamper(t, srv, org, evs)
				v := verify()
				if v["ok"] != false || v["broken_seq"] != float64(want) || !strings.Contains(v["reason"].(string), c.reason) {
					t.Fatalf("verify = %v, want broken at seq %d (%s)", v, want, c.reason)
				}
			})
		}
	})
}

func exec(t *testing.T, srv *apptest.Server, q string, args ...any) {
	t.Helper()
	if _, err := srv.Store.WriterDB().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestAuditExportNDJSON streams 100,000 events and watches the heap: the
// export holds one row at a time, so memory stays flat however many rows.
func TestAuditExportNDJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 events")
	}
	const n = 100_000
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		seedAudit(t, srv, org, n-1) // plus organization.created

		defer debug.SetGCPercent(debug.SetGCPercent(20))
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			}
		}()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/audits?format=ndjson", nil)
		req.Header.Set("Authorization", "Bearer "+owner)
		req.Header.Set("X-Organization-Id", org)
		resp, err := srv.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		lines, bytesRead := 0, 0
		var prev time.Time
		for sc.Scan() {
			var ev struct {
				ID   string `json:"id"`
				Time string `json:"time"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.ID == "" {
				t.Fatalf("line %d is not an event: %s", lines, sc.Bytes())
			}
			at, err := time.Parse(time.RFC3339Nano, ev.Time)
			if err != nil || (!prev.IsZero() && at.After(prev)) {
				t.Fatalf("line %d out of order or without a time: %s", lines, sc.Bytes())
			}
			prev = at
			lines++
			bytesRead += len(sc.Bytes()) + 1
		}
		close(stop)
		<-done
		if err := sc.Err(); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if lines != n {
			t.Fatalf("%d lines, want %d", lines, n)
		}
		growth := int64(peak.Load()) - int64(base.HeapAlloc)
		t.Logf("%s: exported %d events, %d MiB, heap grew at most %d MiB", e.Name, lines, bytesRead>>20, growth>>20)
		// The export is several times larger than this bound; buffering it
		// would blow through it.
		if growth > 16<<20 || bytesRead < 32<<20 {
			t.Fatalf("heap grew %d MiB while exporting %d MiB", growth>>20, bytesRead>>20)
		}
	})
}

// seedAudit appends n events to org's chain, hashed exactly as WriteAudit
// does, with multi-row INSERTs (one statement per event would take minutes).
func seedAudit(t *testing.T, srv *apptest.Server, org string, n int) {
	t.Helper()
	ctx := context.Background()
	db := srv.Store.WriterDB()
	// On PostgreSQL the chain is linked after commit: link what is pending
	// so that the chain's head row exists and holds the last event.
	if err := srv.Store.CatchUpAudit(ctx); err != nil {
		t.Fatal(err)
	}
	var seq int64
	var prev string
	if err := db.QueryRowContext(ctx, `SELECT seq, last_hash FROM audit_chains WHERE chain_id = $1`, org).Scan(&seq, &prev); err != nil {
		t.Fatal(err)
	}
	base := srv.Clock.Now()
	keyID, key := storetest.MustKey(t).AuditKey()
	const batch = 1000
	for done := 0; done < n; done += batch {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO audit_events (id, chain_id, seq, org_id, actor_kind, actor_id, actor_name, action, target_type, target_id,
			summary, ip, user_agent, request_id, created_at, prev_hash, hash, key_id) VALUES `)
		var args []any
		for i := done; i < min(done+batch, n); i++ {
			seq++
			ev := &gatehouse.AuditEvent{ID: uuid.NewString(), OrgID: org, Seq: seq, ActorKind: "user", ActorID: uuid.NewString(), ActorName: "Seeder",
				Action: "project.updated", TargetType: "project", TargetID: uuid.NewString(),
				Summary: json.RawMessage(`{"name":{"before":"An old project name","after":"A new project name"}}`),
				IP:      "127.0.0.1", UserAgent: "seed/1.0", RequestID: "seed", CreatedAt: base.Add(time.Duration(i+1) * time.Millisecond), PrevHash: prev}
			ev.KeyID = keyID
			ev.Hash = store.AuditMAC(key, ev)
			prev = ev.Hash
			if i > done {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j := range 18 {
				if j > 0 {
					sb.WriteString(", ")
				}
				// modernc's SQLite binds numbered $N parameters by searching
				// for each one, quadratic in a statement of thousands; plain
				// "?" binds by position.
				if srv.Engine.Name == "sqlite" {
					sb.WriteByte('?')
				} else {
					fmt.Fprintf(&sb, "$%d", len(args)+j+1)
				}
			}
			sb.WriteByte(')')
			args = append(args, ev.ID, org, ev.Seq, org, ev.ActorKind, ev.ActorID, ev.ActorName, ev.Action, ev.TargetType, ev.TargetID,
				string(ev.Summary), ev.IP, ev.UserAgent, ev.RequestID, ev.CreatedAt.UnixMicro(), ev.PrevHash, ev.Hash, ev.KeyID)
		}
		if _, err := db.ExecContext(ctx, sb.String(), args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit_chains SET seq = $2, last_hash = $3 WHERE chain_id = $1`, org, seq, prev); err != nil {
		t.Fatal(err)
	}
}
