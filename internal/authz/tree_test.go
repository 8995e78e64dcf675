package authz_test

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
)

// TestTreeMatchesModel holds the compact tree (ids in one string, indices
// in one slice, binary search instead of maps) against a plain model built
// with maps: every query answers the same, for ids of any length, duplicate
// ids, unknown parents and parents in another project.
func TestTreeMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := range 200 {
		n := rng.Intn(40)
		var nodes []authz.FolderNode
		id := func() string { return fmt.Sprintf("f%0*d", rng.Intn(4), rng.Intn(60)) } // lengths vary, collisions happen
		for range n {
			parent := ""
			if rng.Intn(3) > 0 && len(nodes) > 0 {
				parent = nodes[rng.Intn(len(nodes))].ID
			}
			if rng.Intn(10) == 0 {
				parent = "missing"
			}
			nodes = append(nodes, authz.FolderNode{ID: id(), ParentID: parent, ProjectID: fmt.Sprintf("p%d", rng.Intn(4))})
		}
		tree := authz.NewTree(nodes)
		// The model: first node per id wins; a parent counts when known, in
		// the same project and not closing a cycle (linked in input order).
		first := map[string]authz.FolderNode{}
		var order []string
		for _, nd := range nodes {
			if _, dup := first[nd.ID]; !dup {
				first[nd.ID] = nd
				order = append(order, nd.ID)
			}
		}
		parent := map[string]string{}
		for _, fid := range order {
			nd := first[fid]
			p, ok := first[nd.ParentID]
			if !ok || nd.ParentID == "" || p.ProjectID != nd.ProjectID {
				continue
			}
			cyclic := false
			for a := nd.ParentID; a != ""; a = parent[a] {
				if a == fid {
					cyclic = true
					break
				}
			}
			if !cyclic {
				parent[fid] = nd.ParentID
			}
		}
		if tree.Len() != len(order) {
			t.Fatalf("round %d: Len %d, want %d", round, tree.Len(), len(order))
		}
		sorted := slices.Sorted(slices.Values(order))
		if got := tree.Folders(""); !slices.Equal(got, sorted) && !(len(got) == 0 && len(sorted) == 0) {
			t.Fatalf("round %d: Folders(\"\") = %v, want %v", round, got, sorted)
		}
		for p := range 5 {
			pid := fmt.Sprintf("p%d", p)
			var want []string
			for _, fid := range sorted {
				if first[fid].ProjectID == pid {
					want = append(want, fid)
				}
			}
			if got := tree.Folders(pid); !slices.Equal(got, want) {
				t.Fatalf("round %d: Folders(%s) = %v, want %v", round, pid, got, want)
			}
		}
		for _, fid := range append(sorted, "missing", "", "f") {
			nd, known := first[fid]
			proj, ok := tree.Project(fid)
			if ok != known || proj != nd.ProjectID {
				t.Fatalf("round %d: Project(%q) = %q %v, want %q %v", round, fid, proj, ok, nd.ProjectID, known)
			}
			par, ok := tree.Parent(fid)
			if ok != known || par != parent[fid] {
				t.Fatalf("round %d: Parent(%q) = %q %v, want %q %v", round, fid, par, ok, parent[fid], known)
			}
			var anc []string
			for a := parent[fid]; a != ""; a = parent[a] {
				anc = append(anc, a)
			}
			if got := tree.Ancestors(fid); !slices.Equal(got, anc) {
				t.Fatalf("round %d: Ancestors(%q) = %v, want %v", round, fid, got, anc)
			}
			// Subtree: the folder, then each child's subtree, children by id.
			var sub func(string) []string
			sub = func(x string) []string {
				out := []string{x}
				for _, c := range sorted {
					if parent[c] == x {
						out = append(out, sub(c)...)
					}
				}
				return out
			}
			var want []string
			if known {
				want = sub(fid)
			}
			if got := tree.Subtree(fid); !slices.Equal(got, want) {
				t.Fatalf("round %d: Subtree(%q) = %v, want %v", round, fid, got, want)
			}
		}
	}
}

func TestIDSet(t *testing.T) {
	s := authz.NewIDSet([]string{"b", "a", "ccc", "b", ""})
	for _, id := range []string{"a", "b", "ccc", ""} {
		if !s.Has(id) {
			t.Errorf("Has(%q) = false", id)
		}
	}
	for _, id := range []string{"c", "cc", "cccc", "z"} {
		if s.Has(id) {
			t.Errorf("Has(%q) = true", id)
		}
	}
	if authz.NewIDSet(nil).Has("") {
		t.Error("empty set has \"\"")
	}
	if s.Size() <= 0 {
		t.Error("Size not positive")
	}
}
