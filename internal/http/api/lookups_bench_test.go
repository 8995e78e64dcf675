package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/http/api"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// lbWorld is an organization with one project of 1,000 nested folders and
// 1,000 members holding mixed roles and grants, seeded through the store.
type lbWorld struct {
	srv     *apptest.Server
	owner   string
	org     string
	proj    string
	folders []string
	members []string
}

func lbSetup(b *testing.B, e storetest.Engine) *lbWorld {
	srv := apptest.New(b, e)
	tok, _ := srv.Signup("Owner", "owner@example.com")
	w := &lbWorld{srv: srv, owner: tok}
	w.org = srv.CreateOrg(tok, "Big")
	w.proj = srv.CreateProject(tok, w.org, "Library")
	ctx := context.Background()
	now := srv.Clock.Now().UTC().Truncate(time.Microsecond)
	err := srv.Store.Tx(ctx, func(tx *store.Conn) error {
		for i := range 1000 {
			f := &gatehouse.Folder{ID: uuid.Must(uuid.NewV7()).String(), OrgID: w.org, ProjectID: w.proj, Name: fmt.Sprintf("F%04d", i), CreatedAt: now, UpdatedAt: now}
			if i%10 != 0 {
				f.ParentID = w.folders[i-1] // chains ten deep
			}
			if err := tx.CreateFolder(ctx, f); err != nil {
				return err
			}
			w.folders = append(w.folders, f.ID)
		}
		roles := []string{gatehouse.RoleViewerID, gatehouse.RoleUploaderID, "", gatehouse.RoleDeveloperID, gatehouse.RoleBillingID}
		for i := range 1000 {
			u := &gatehouse.User{ID: uuid.Must(uuid.NewV7()).String(), Email: fmt.Sprintf("m%04d@example.com", i), Name: fmt.Sprintf("Member %d", i), CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			w.members = append(w.members, u.ID)
			grants := []gatehouse.Grant{{EntityType: "projects", EntityID: w.proj, Name: "custom", Permission: []gatehouse.AreaGrant{
				{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{
					{FolderID: w.folders[(i*7)%1000], Action: "read+write"}, {FolderID: w.folders[(i*13)%1000], Action: "read"}}},
				{Name: "livestreams", Action: "read"}}}}
			m := &gatehouse.Membership{ID: uuid.Must(uuid.NewV7()).String(), OrgID: w.org, UserID: u.ID, RoleID: roles[i%len(roles)], Grants: grants, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateMembership(ctx, m); err != nil {
				return err
			}
		}
		return tx.Notify(ctx, store.FlushAll)
	})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// serve runs one request through the server's handler (no network): the
// server time of the request.
func (w *lbWorld) serve(b *testing.B, path string, body any) []byte {
	raw, _ := json.Marshal(body)
	r := httptest.NewRequest("POST", path, bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+w.owner)
	r.Header.Set(api.OrgHeader, w.org)
	rec := httptest.NewRecorder()
	w.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// BenchmarkLookups measures the server time of the two look-ups over a
// project of 1,000 folders and an organization of 1,000 members (targets:
// 1 ms and 5 ms), warm caches, on each engine:
//
//	go test ./internal/http/api/ -run '^$' -bench Lookups -benchtime 200x
func BenchmarkLookups(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			w := lbSetup(b, e)
			b.Run("resources-1000-folders", func(b *testing.B) {
				// A member with two folder grants and no project-wide right:
				// the tree is walked, not short-cut.
				body := map[string]any{"user_id": w.members[2], "entity_type": "folders", "project_id": w.proj, "name": "folders", "action": "read"}
				var out struct{ Data []any }
				_ = json.Unmarshal(w.serve(b, "/v1/members/permissions/lookup-resources?limit=100", body), &out)
				if len(out.Data) < 2 {
					b.Fatalf("got %d folders", len(out.Data))
				}
				b.ReportAllocs()
				lbCPU(b, func() { w.serve(b, "/v1/members/permissions/lookup-resources?limit=100", body) })
			})
			b.Run("subjects-1000-members", func(b *testing.B) {
				body := map[string]any{"entity_type": "folders", "entity_id": w.folders[505], "name": "folders", "action": "read"}
				var out struct{ Data []any }
				_ = json.Unmarshal(w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body), &out)
				if len(out.Data) < 50 {
					b.Fatalf("got %d members", len(out.Data))
				}
				b.ReportAllocs()
				lbCPU(b, func() { w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body) })
			})
			b.Run("subjects-1000-members-full-scan", func(b *testing.B) {
				// Few may delete: every member is checked to fill a page.
				body := map[string]any{"entity_type": "folders", "entity_id": w.folders[505], "name": "folders", "action": "delete"}
				var out struct{ Data []any }
				_ = json.Unmarshal(w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body), &out)
				if len(out.Data) == 0 || len(out.Data) == 100 {
					b.Fatalf("got %d members", len(out.Data))
				}
				b.ReportAllocs()
				lbCPU(b, func() { w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body) })
			})
			b.Run("subjects-1000-members-cold", func(b *testing.B) {
				// After a change to the organization every cache is cold:
				// one query for the members, 1,000 compiles.
				body := map[string]any{"entity_type": "folders", "entity_id": w.folders[505], "name": "folders", "action": "read"}
				b.ReportAllocs()
				lbCPU(b, func() {
					w.srv.Store.Dispatch("org:" + w.org)
					w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body)
				})
			})
			b.Run("subjects-1000-members-after-member-change", func(b *testing.B) {
				// One member's rights changed: only that member is reloaded.
				body := map[string]any{"entity_type": "folders", "entity_id": w.folders[505], "name": "folders", "action": "read"}
				b.ReportAllocs()
				i := 0
				lbCPU(b, func() {
					i++
					w.srv.Store.Dispatch("member:" + w.org + ":" + w.members[i%len(w.members)])
					w.serve(b, "/v1/members/permissions/lookup-subjects?limit=100", body)
				})
			})
		})
	}
}

// lbCPU runs fn in the benchmark loop and also reports the process's CPU
// time per operation (user + system): on a shared machine, wall time
// (ns/op) includes waiting for a core, CPU time does not.
func lbCPU(b *testing.B, fn func()) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, n := cpu(), 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric(float64(cpu()-start)/float64(n)/1e6, "cpu-ms/op")
}
