package api_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestFolderCRUD(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		t.Run("OK", func(t *testing.T) {
			f := apptest.MustDo(t, srv, 201, w.req(w.admin, "POST", p1, map[string]any{"name": " Docs ", "parent_id": nil}))
			docs := apptest.ID(t, f)
			if f["name"] != "Docs" || f["parent_id"] != nil || f["project_id"] != w.p1 {
				t.Fatalf("created %v", f)
			}
			f = apptest.MustDo(t, srv, 201, w.req(w.admin, "POST", p1, map[string]any{"name": "Specs", "parent_id": docs}))
			specs := apptest.ID(t, f)
			if f["parent_id"] != docs {
				t.Fatalf("nested %v", f)
			}
			apptest.HasAudit(t, srv, w.org, specs, "folder.created")
			if got := apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1+"/"+specs, nil)); got["name"] != "Specs" || got["parent_id"] != docs {
				t.Fatalf("get %v", got)
			}

			// Children of the root and of a folder, newest first, paged.
			root := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1, nil)))
			if !slices.Equal(root, []string{docs, w.fB, w.fA}) {
				t.Fatalf("root %v", root)
			}
			var paged []string
			cursor := ""
			for range 10 {
				page := apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1+"?limit=1&cursor="+cursor, nil))
				paged = append(paged, apptest.DataIDs(t, page)...)
				next, _ := page["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(paged, root) {
				t.Fatalf("paged %v, want %v", paged, root)
			}
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1+"?parent_id="+docs, nil))); !slices.Equal(ids, []string{specs}) {
				t.Fatalf("children of Docs %v", ids)
			}
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1+"?parent_id="+specs, nil))); len(ids) != 0 {
				t.Fatalf("children of a leaf %v", ids)
			}
			// The custom member lists only what they can read.
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1, nil))); !slices.Equal(ids, []string{w.fA}) {
				t.Fatalf("custom member's root %v", ids)
			}
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"?parent_id="+w.fA, nil))); !slices.Equal(ids, []string{w.fA1}) {
				t.Fatalf("custom member's children of A %v", ids)
			}
			if ids := apptest.DataIDs(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"?parent_id="+docs, nil))); len(ids) != 0 {
				t.Fatalf("custom member's children of Docs %v", ids)
			}

			// The whole project, nested and sorted by name.
			tree := apptest.MustDo(t, srv, 200, w.req(w.viewer, "GET", p1+"/tree", nil))
			if tree["project_id"] != w.p1 {
				t.Fatalf("tree %v", tree)
			}
			ids := map[string]string{"A": w.fA, "A1": w.fA1, "B": w.fB, "Docs": docs, "Specs": specs}
			if got := opTree(t, tree, ids); got != "A{A1},B,Docs{Specs}" {
				t.Fatalf("tree %s", got)
			}
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/tree", nil)), ids); got != "A{A1}" {
				t.Fatalf("custom member's tree %s", got)
			}
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", "/v1/projects/"+w.p2+"/folders/tree", nil)), nil); got != "C" {
				t.Fatalf("P2 tree %s", got)
			}

			f = apptest.MustDo(t, srv, 200, w.req(w.admin, "PATCH", p1+"/"+specs, map[string]any{"name": "Specifications"}))
			if f["name"] != "Specifications" || f["parent_id"] != docs {
				t.Fatalf("renamed %v", f)
			}
			apptest.MustDo(t, srv, 200, w.req(w.admin, "PATCH", p1+"/"+specs, map[string]any{"name": "Specifications"}))
			if got := srv.TargetAuditActions(w.org, specs); !slices.Equal(got, []string{"folder.created", "folder.updated"}) {
				t.Fatalf("audit %v (a no-op rename writes nothing)", got)
			}
			apptest.MustDo(t, srv, 204, w.req(w.admin, "DELETE", p1+"/"+specs, nil))
			apptest.ProblemCode(t, w.do(w.admin, "GET", p1+"/"+specs, nil), 404, "not_found")
			apptest.HasAudit(t, srv, w.org, specs, "folder.deleted")
			apptest.MustDo(t, srv, 204, w.req(w.admin, "DELETE", p1+"/"+docs+"?recursive=false", nil))
		})
		t.Run("ErrMissingFields", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", p1, map[string]any{"parent_id": w.fA}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", p1, map[string]any{"name": " "}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", p1, nil), "name")
			apptest.BadField(t, w.do(w.owner, "PATCH", p1+"/"+w.fA, map[string]any{}), "name")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/"+w.fA1+"/move", map[string]any{}), "parent_id")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []string{w.fA1}}), "parent_id")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"parent_id": nil}), "folder_ids")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []string{}, "parent_id": nil}), "folder_ids")
		})
		t.Run("ErrWrongType", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", p1, map[string]any{"name": 7}), "name")
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1, map[string]any{"name": "X", "parent_id": 7}), 400, "invalid")
			apptest.BadField(t, w.do(w.owner, "PATCH", p1+"/"+w.fA, map[string]any{"name": true}), "name")
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1+"/"+w.fA1+"/move", map[string]any{"parent_id": []string{w.fB}}), 400, "invalid")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": w.fA1, "parent_id": nil}), "folder_ids")
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []int{1}, "parent_id": nil}), 400, "invalid")
			apptest.BadField(t, w.do(w.owner, "DELETE", p1+"/"+w.fA1+"?recursive=yes", nil), "recursive")
			apptest.BadField(t, w.do(w.owner, "GET", p1+"?limit=0", nil), "limit")
			apptest.BadField(t, w.do(w.owner, "GET", p1+"?limit=101", nil), "limit")
			apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"?cursor=garbage", nil), 400, "")
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			apptest.BadField(t, w.do(w.owner, "POST", p1, map[string]any{"name": "X", "project_id": w.p2}), "project_id")
			apptest.BadField(t, w.do(w.owner, "PATCH", p1+"/"+w.fA, map[string]any{"name": "X", "parent_id": nil}), "parent_id")
			apptest.BadField(t, w.do(w.owner, "POST", p1+"/"+w.fA1+"/move", map[string]any{"parent_id": nil, "folder_ids": []string{}}), "folder_ids")
		})
		t.Run("ErrUnknownParent", func(t *testing.T) {
			// A parent that is not a folder of this project: unknown,
			// malformed, of another project, or of another organization.
			for _, parent := range []string{opUnknownID, "nope", w.fC, w.otherFolder} {
				apptest.BadField(t, w.do(w.owner, "POST", p1, map[string]any{"name": "Orphan", "parent_id": parent}), "parent_id")
				apptest.BadField(t, w.do(w.owner, "POST", p1+"/"+w.fA1+"/move", map[string]any{"parent_id": parent}), "parent_id")
			}
			apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"?parent_id="+opUnknownID, nil), 404, "not_found")
			apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"?parent_id=nope", nil), 404, "not_found")
			apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"?parent_id="+w.fC, nil), 404, "not_found")
			apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"?parent_id="+w.otherFolder, nil), 404, "not_found")
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "A{A1},B" {
				t.Fatalf("tree changed: %s", got)
			}
		})
		t.Run("ErrUnknownID", func(t *testing.T) {
			// Unknown, malformed, of another project, of another organization.
			for _, id := range []string{opUnknownID, "not-a-uuid", w.fC, w.otherFolder} {
				for _, m := range []*apptest.Member{w.owner, w.custom} {
					apptest.ProblemCode(t, w.do(m, "GET", p1+"/"+id, nil), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "PATCH", p1+"/"+id, map[string]any{"name": "X"}), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "DELETE", p1+"/"+id+"?recursive=true", nil), 404, "not_found")
					if id == w.fC {
						// Named through the wrong project, a folder of this
						// organization is one that cannot change project.
						apptest.BadField(t, w.do(m, "POST", p1+"/"+id+"/move", map[string]any{"parent_id": nil}), "folder_ids[0]")
						continue
					}
					apptest.ProblemCode(t, w.do(m, "POST", p1+"/"+id+"/move", map[string]any{"parent_id": w.fA}), 404, "not_found")
					apptest.ProblemCode(t, w.do(m, "POST", p1+"/"+id+"/move", map[string]any{"parent_id": nil}), 404, "not_found")
				}
			}
			// A project that is unknown or another organization's.
			for _, pid := range []string{opUnknownID, "bad", w.otherProject} {
				pp := "/v1/projects/" + pid + "/folders"
				apptest.ProblemCode(t, w.do(w.owner, "GET", pp, nil), 404, "not_found")
				apptest.ProblemCode(t, w.do(w.owner, "GET", pp+"/tree", nil), 404, "not_found")
				apptest.ProblemCode(t, w.do(w.owner, "POST", pp, map[string]any{"name": "X"}), 404, "not_found")
				apptest.ProblemCode(t, w.do(w.owner, "GET", pp+"/"+w.otherFolder, nil), 404, "not_found")
				apptest.ProblemCode(t, w.do(w.owner, "POST", pp+"/move", map[string]any{"folder_ids": []string{w.otherFolder}, "parent_id": nil}), 404, "not_found")
			}
			// The other organization's folder is untouched.
			f := apptest.MustDo(t, srv, 200, apptest.Req{Method: "GET", Path: "/v1/projects/" + w.otherProject + "/folders/" + w.otherFolder, Token: w.outsider.Token})
			if f["name"] != "Secret" || f["parent_id"] != nil {
				t.Fatalf("other folder %v", f)
			}
		})
	})
}

func TestFolderSiblingNames(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		t.Run("OK", func(t *testing.T) {
			// The same name elsewhere is fine: another parent, another
			// project, differently cased.
			w.folder(t, w.p1, "A", w.fB)
			w.folder(t, w.p2, "A", "")
			w.folder(t, w.p1, "a", "")
			w.folder(t, w.p1, "A1", "")
		})
		t.Run("ErrNameTaken", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1, map[string]any{"name": "A"}), 409, "name_taken")
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1, map[string]any{"name": " B "}), 409, "name_taken")
			apptest.ProblemCode(t, w.do(w.custom, "POST", p1, map[string]any{"name": "A1", "parent_id": w.fA}), 409, "name_taken")
			apptest.ProblemCode(t, w.do(w.owner, "PATCH", p1+"/"+w.fB, map[string]any{"name": "A"}), 409, "name_taken")
			// Moving A1 to the root, where a folder "A1" exists.
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1+"/"+w.fA1+"/move", map[string]any{"parent_id": nil}), 409, "name_taken")
			// Two folders named alike, from different parents, cannot both
			// go to the root: the whole bulk move is refused.
			x := w.folder(t, w.p1, "Twin", w.fA)
			y := w.folder(t, w.p1, "Twin", w.fB)
			apptest.ProblemCode(t, w.do(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []string{y, x}, "parent_id": nil}), 409, "name_taken")
			if w.parentOf(t, w.p1, x) != w.fA || w.parentOf(t, w.p1, y) != w.fB {
				t.Fatal("a refused bulk move moved a folder")
			}
			if got := srv.TargetAuditActions(w.org, y); slices.Contains(got, "folder.moved") {
				t.Fatalf("a refused move was audited: %v", got)
			}
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "A{A1,Twin},A1,B{A,Twin},a" {
				t.Fatalf("tree %s", got)
			}
		})
	})
}

func TestFolderDelete(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		top := w.folder(t, w.p1, "Top", "")
		mid := w.folder(t, w.p1, "Mid", top)
		leaf := w.folder(t, w.p1, "Leaf", mid)
		side := w.folder(t, w.p1, "Side", top)
		t.Run("ErrNotEmpty", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.owner, "DELETE", p1+"/"+top, nil), 409, "folder_not_empty")
			apptest.ProblemCode(t, w.do(w.owner, "DELETE", p1+"/"+mid+"?recursive=false", nil), 409, "folder_not_empty")
			apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/"+leaf, nil))
		})
		t.Run("ErrForbiddenRecursive", func(t *testing.T) {
			// The custom member may delete A's subtree, not another one.
			apptest.ProblemCode(t, w.do(w.custom, "DELETE", p1+"/"+top+"?recursive=true", nil), 403, "forbidden")
			apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/"+leaf, nil))
		})
		t.Run("OK", func(t *testing.T) {
			apptest.MustDo(t, srv, 204, w.req(w.owner, "DELETE", p1+"/"+top+"?recursive=true", nil))
			for _, id := range []string{top, mid, leaf, side} {
				apptest.ProblemCode(t, w.do(w.owner, "GET", p1+"/"+id, nil), 404, "not_found")
			}
			apptest.HasAudit(t, srv, w.org, top, "folder.deleted")
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "A{A1},B" {
				t.Fatalf("tree %s", got)
			}
			// A member with delete on A deletes A with its subtree.
			w.folder(t, w.p1, "Deep", w.fA1)
			apptest.MustDo(t, srv, 204, w.req(w.custom, "DELETE", p1+"/"+w.fA+"?recursive=true", nil))
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "B" {
				t.Fatalf("tree %s", got)
			}
			// Their grant names a folder that is gone: it gives nothing now,
			// and the project is out of their reach.
			apptest.ProblemCode(t, w.do(w.custom, "GET", "/v1/projects/"+w.p1, nil), 403, "forbidden")
		})
		t.Run("ErrGone", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.owner, "DELETE", p1+"/"+top, nil), 404, "not_found")
		})
	})
}

func TestFolderMove(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		moveOne := func(m *apptest.Member, id string, parent any) *apptest.Response {
			return w.do(m, "POST", p1+"/"+id+"/move", map[string]any{"parent_id": parent})
		}
		bulk := func(m *apptest.Member, ids []string, parent any) *apptest.Response {
			return w.do(m, "POST", p1+"/move", map[string]any{"folder_ids": ids, "parent_id": parent})
		}
		x := w.folder(t, w.p1, "X", w.fA)
		y := w.folder(t, w.p1, "Y", w.fA)
		z := w.folder(t, w.p1, "Z", w.fB)
		// unchanged checks the tree is as built above.
		unchanged := func(t *testing.T) {
			t.Helper()
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "A{A1,X,Y},B{Z}" {
				t.Fatalf("tree %s", got)
			}
		}
		t.Run("ErrCycle", func(t *testing.T) {
			apptest.ProblemCode(t, moveOne(w.owner, w.fA, w.fA), 409, "cycle")
			apptest.ProblemCode(t, moveOne(w.owner, w.fA, w.fA1), 409, "cycle")
			deep := w.folder(t, w.p1, "Deep", w.fA1)
			apptest.ProblemCode(t, moveOne(w.custom, w.fA1, deep), 409, "cycle")
			apptest.ProblemCode(t, bulk(w.owner, []string{w.fB, w.fA}, deep), 409, "cycle")
			apptest.ProblemCode(t, bulk(w.owner, []string{w.fA1, deep}, deep), 409, "cycle")
			apptest.MustDo(t, srv, 204, w.req(w.owner, "DELETE", p1+"/"+deep, nil))
			unchanged(t)
		})
		t.Run("ErrOtherProject", func(t *testing.T) {
			apptest.BadField(t, moveOne(w.owner, x, w.fC), "parent_id")
			apptest.BadField(t, bulk(w.owner, []string{x, w.fC}, nil), "folder_ids[1]")
			apptest.ProblemCode(t, w.do(w.owner, "POST", "/v1/projects/"+w.p2+"/folders/"+w.fC+"/move", map[string]any{"parent_id": w.fA}), 400, "invalid")
			unchanged(t)
		})
		t.Run("ErrBulkAtomic", func(t *testing.T) {
			// One bad id anywhere in the list and nothing moves.
			for _, bad := range []string{opUnknownID, "not-a-uuid", w.otherFolder} {
				apptest.ProblemCode(t, bulk(w.owner, []string{x, y, bad}, w.fB), 404, "not_found")
				apptest.ProblemCode(t, bulk(w.owner, []string{bad, x}, w.fB), 404, "not_found")
			}
			// One the member may not move (Z is outside A): nothing moves.
			apptest.ProblemCode(t, bulk(w.custom, []string{x, z}, w.fA1), 403, "forbidden")
			// One cycle among good moves.
			apptest.ProblemCode(t, bulk(w.owner, []string{x, w.fA}, w.fA1), 409, "cycle")
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = x
			}
			apptest.BadField(t, bulk(w.owner, ids, nil), "folder_ids")
			unchanged(t)
			for _, id := range []string{x, y, z} {
				if got := srv.TargetAuditActions(w.org, id); slices.Contains(got, "folder.moved") {
					t.Fatalf("refused moves were audited: %v", got)
				}
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			apptest.ProblemCode(t, moveOne(w.custom, x, nil), 403, "forbidden")
			apptest.ProblemCode(t, moveOne(w.custom, x, w.fB), 403, "forbidden")
			apptest.ProblemCode(t, moveOne(w.custom, z, w.fA), 403, "forbidden")
			apptest.ProblemCode(t, moveOne(w.viewer, x, w.fA1), 403, "forbidden")
			apptest.ProblemCode(t, bulk(w.viewer, []string{x}, w.fA1), 403, "forbidden")
			unchanged(t)
		})
		t.Run("OK", func(t *testing.T) {
			f := apptest.MustDo(t, srv, 200, w.req(w.custom, "POST", p1+"/"+x+"/move", map[string]any{"parent_id": w.fA1}))
			if f["id"] != x || f["parent_id"] != w.fA1 {
				t.Fatalf("moved %v", f)
			}
			apptest.HasAudit(t, srv, w.org, x, "folder.moved")
			f = apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/"+x+"/move", map[string]any{"parent_id": nil}))
			if f["parent_id"] != nil {
				t.Fatalf("moved to the root %v", f)
			}
			out := apptest.MustDo(t, srv, 200, w.req(w.admin, "POST", p1+"/move", map[string]any{"folder_ids": []string{x, z, z}, "parent_id": y}))
			if ids := apptest.DataIDs(t, out); !slices.Equal(ids, []string{x, z}) {
				t.Fatalf("bulk moved %v", out)
			}
			for _, id := range []string{x, z} {
				if got := srv.TargetAuditActions(w.org, id); got[len(got)-1] != "folder.moved" {
					t.Fatalf("audit of %s: %v", id, got)
				}
			}
			// A folder moves with its subtree; moving where it is changes nothing.
			apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/"+y+"/move", map[string]any{"parent_id": w.fB}))
			apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/"+y+"/move", map[string]any{"parent_id": w.fB}))
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.owner, "GET", p1+"/tree", nil)), nil); got != "A{A1},B{Y{X,Z}}" {
				t.Fatalf("tree %s", got)
			}
		})
	})
}

// TestFolderGrantFollowsMove: a grant on folder A covers whatever is moved
// under A, and stops covering it once it moves out.
func TestFolderGrantFollowsMove(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		bChild := w.folder(t, w.p1, "B1", w.fB)
		t.Run("ErrBeforeMove", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.custom, "GET", p1+"/"+w.fB, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(w.custom, "GET", p1+"/"+bChild, nil), 403, "forbidden")
		})
		t.Run("OKMovedIn", func(t *testing.T) {
			apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/"+w.fB+"/move", map[string]any{"parent_id": w.fA}))
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/"+w.fB, nil))
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/"+bChild, nil))
			apptest.MustDo(t, srv, 200, w.req(w.custom, "PATCH", p1+"/"+bChild, map[string]any{"name": "B1 renamed"}))
			apptest.MustDo(t, srv, 201, w.req(w.custom, "POST", p1, map[string]any{"name": "Under B", "parent_id": w.fB}))
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/tree", nil)), nil); got != "A{A1,B{B1 renamed,Under B}}" {
				t.Fatalf("tree %s", got)
			}
		})
		t.Run("ErrMovedOut", func(t *testing.T) {
			apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []string{w.fB}, "parent_id": nil}))
			apptest.ProblemCode(t, w.do(w.custom, "GET", p1+"/"+w.fB, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(w.custom, "GET", p1+"/"+bChild, nil), 403, "forbidden")
			apptest.ProblemCode(t, w.do(w.custom, "POST", p1, map[string]any{"name": "Again", "parent_id": w.fB}), 403, "forbidden")
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/tree", nil)), nil); got != "A{A1}" {
				t.Fatalf("tree %s", got)
			}
		})
		t.Run("OKGrantedFolderMoves", func(t *testing.T) {
			// Moving A itself keeps its subtree covered.
			apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/"+w.fA+"/move", map[string]any{"parent_id": w.fB}))
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/"+w.fA1, nil))
			apptest.ProblemCode(t, w.do(w.custom, "GET", p1+"/"+w.fB, nil), 403, "forbidden")
			// A readable folder under an unreadable one is at the top level.
			if got := opTree(t, apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", p1+"/tree", nil)), nil); got != "A{A1}" {
				t.Fatalf("tree %s", got)
			}
		})
	})
}

// TestFolderMemberRightsChange: a member's cached rights follow changes to
// their grants and to the role they hold, at once, in one process.
func TestFolderMemberRightsChange(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		pathB := "/v1/projects/" + w.p1 + "/folders/" + w.fB
		t.Run("OKGrants", func(t *testing.T) {
			apptest.ProblemCode(t, w.do(w.custom, "GET", pathB, nil), 403, "forbidden")
			srv.SetStoreRights(w.org, w.custom.UserID, "", []gatehouse.Grant{apptest.OneFolderGrant(w.p1, w.fB, "read")})
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", pathB, nil))
			apptest.ProblemCode(t, w.do(w.custom, "GET", "/v1/projects/"+w.p1+"/folders/"+w.fA, nil), 403, "forbidden")
			srv.SetStoreRights(w.org, w.custom.UserID, gatehouse.RoleViewerID, nil)
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", "/v1/projects/"+w.p2, nil))
			srv.SetStoreRights(w.org, w.custom.UserID, "", nil)
			apptest.ProblemCode(t, w.do(w.custom, "GET", "/v1/projects/"+w.p1, nil), 403, "forbidden")
		})
		t.Run("OKCustomRole", func(t *testing.T) {
			role := apptest.ID(t, apptest.MustDo(t, srv, 201, w.req(w.owner, "POST", "/v1/roles", map[string]any{"name": "editors",
				"permissions": []gatehouse.Grant{apptest.OneFolderGrant(w.p1, w.fA, "read")}})))
			srv.SetStoreRights(w.org, w.custom.UserID, role, nil)
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", "/v1/projects/"+w.p1+"/folders/"+w.fA1, nil))
			apptest.ProblemCode(t, w.do(w.custom, "GET", pathB, nil), 403, "forbidden")
			apptest.MustDo(t, srv, 200, w.req(w.owner, "PUT", "/v1/roles/"+role, map[string]any{"name": "editors",
				"permissions": []gatehouse.Grant{apptest.OneFolderGrant(w.p1, w.fB, "read")}}))
			apptest.MustDo(t, srv, 200, w.req(w.custom, "GET", pathB, nil))
			apptest.ProblemCode(t, w.do(w.custom, "GET", "/v1/projects/"+w.p1+"/folders/"+w.fA1, nil), 403, "forbidden")
		})
	})
}

// TestFolderMoveConcurrentCycle moves two folders under each other at the
// same time, again and again: at most one of each pair may succeed, so the
// tree never holds a cycle.
func TestFolderMoveConcurrentCycle(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		w := opNewWorld(t, srv)
		p1 := "/v1/projects/" + w.p1 + "/folders"
		x := w.folder(t, w.p1, "X", "")
		y := w.folder(t, w.p1, "Y", "")
		t.Run("OK", func(t *testing.T) {
			for i := range 40 {
				var wg sync.WaitGroup
				start := make(chan struct{})
				statuses := make([]int, 2)
				for j, pair := range [][2]string{{x, y}, {y, x}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						statuses[j] = srv.Do(w.req(w.owner, "POST", p1+"/"+pair[0]+"/move", map[string]any{"parent_id": pair[1]})).Status
					}()
				}
				close(start)
				wg.Wait()
				px, py := w.parentOf(t, w.p1, x), w.parentOf(t, w.p1, y)
				if px == y && py == x {
					t.Fatalf("round %d: a cycle: X under Y and Y under X (statuses %v)", i, statuses)
				}
				slices.Sort(statuses)
				if statuses[0] != 200 || statuses[1] != 409 {
					t.Fatalf("round %d: statuses %v, want one 200 and one 409", i, statuses)
				}
				// Back to the root for the next round.
				apptest.MustDo(t, srv, 200, w.req(w.owner, "POST", p1+"/move", map[string]any{"folder_ids": []string{x, y}, "parent_id": nil}))
			}
		})
	})
}
