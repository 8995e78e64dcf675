package authz_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// lookupCase compares the reverse operations with Check (and Explain with
// the naive evaluator) on one random world; it returns the first
// discrepancy, or "".
func lookupCase(c chooser) string {
	w := genWorld(c)
	src := genSources(c, w)
	s := authz.Compile(w.org, src, w.tree)
	n := &naive{org: w.org, sources: src, nodes: w.nodes}
	capped := authz.Intersect(s, authz.Compile(w.org, genSources(c, w), w.tree))
	projects := append(slices.Clone(w.projects), ghostProject, freshProject)
	for _, set := range []*authz.Set{s, capped} {
		for a := authz.Action(1); a <= authz.All; a++ {
			for _, p := range append([]string{""}, projects...) {
				got := set.LookupFolders(p, a)
				var want []authz.Allowed
				for _, id := range w.tree.Folders(p) {
					if ok, by := set.Check(authz.Folder(id), gatehouse.AreaFolders, a); ok {
						want = append(want, authz.Allowed{ID: id, By: by})
					}
				}
				if !slices.Equal(got, want) {
					return fmt.Sprintf("LookupFolders(%q, %v) = %v, checks say %v", p, a, got, want)
				}
			}
			for _, area := range []string{"folders", "livestreams", "analytics", "advertisements", "settings"} {
				got := set.LookupProjects(projects, area, a)
				var want []authz.Allowed
				for _, id := range projects {
					if ok, by := set.Check(authz.Project(id), area, a); ok {
						want = append(want, authz.Allowed{ID: id, By: by})
					}
				}
				if !slices.Equal(got, want) {
					return fmt.Sprintf("LookupProjects(%s, %v) = %v, checks say %v", area, a, got, want)
				}
			}
		}
	}
	// Explain names exactly the grants that give a bit, and always the one
	// Check names.
	for _, q := range everyQuery(w) {
		for _, action := range []authz.Action{q.action, authz.Read | authz.Write, authz.All} {
			q.action = action
			reasons := s.Explain(q.res, q.area, action)
			got := map[authz.GrantRef]authz.Action{}
			for _, r := range reasons {
				got[r.Grant] |= r.Action
				if r.Scope == authz.ScopeFolder && r.FolderID != q.res.ID && !slices.Contains(w.tree.Ancestors(q.res.ID), r.FolderID) {
					return fmt.Sprintf("Explain(%v) names folder %s, not the folder or an ancestor", q.res, r.FolderID)
				}
			}
			want := map[authz.GrantRef]authz.Action{}
			for _, src := range src {
				for i, g := range src.Grants {
					for b := authz.Read; b <= authz.Delete; b <<= 1 {
						if action&b != 0 && n.allows(g, q, b) {
							want[authz.GrantRef{Source: src.Label, Index: i}] |= b
						}
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Sprintf("Explain(%v, %q, %v) = %v, naive says %v", q.res, q.area, action, got, want)
			}
			if ok, by := s.Check(q.res, q.area, action); ok {
				if _, named := got[by]; !named {
					return fmt.Sprintf("Explain(%v, %q, %v) misses %v, which Check names", q.res, q.area, action, by)
				}
			}
			if ok, by := capped.Check(q.res, q.area, action); ok {
				found := false
				for _, r := range capped.Explain(q.res, q.area, action) {
					found = found || r.Grant == by
				}
				if !found {
					return fmt.Sprintf("capped Explain(%v, %q, %v) misses %v", q.res, q.area, action, by)
				}
			}
		}
	}
	return ""
}

func TestLookupsMatchChecks(t *testing.T) {
	for i := range 1500 {
		c := randChooser{rand.New(rand.NewPCG(defaultSeed+1, uint64(i)))}
		if msg := lookupCase(c); msg != "" {
			t.Fatalf("case %d: %s", i, msg)
		}
	}
}

func TestTreeIndex(t *testing.T) {
	p := benchID(2, 0)
	tree := authz.NewTree([]authz.FolderNode{
		{ID: benchID(3, 3), ProjectID: p},
		{ID: benchID(3, 1), ParentID: benchID(3, 3), ProjectID: p},
		{ID: benchID(3, 2), ParentID: benchID(3, 1), ProjectID: p},
		{ID: benchID(3, 0), ParentID: benchID(3, 3), ProjectID: p},
		{ID: benchID(3, 9), ProjectID: benchID(2, 1)},
	})
	if got, want := tree.Folders(p), []string{benchID(3, 0), benchID(3, 1), benchID(3, 2), benchID(3, 3)}; !slices.Equal(got, want) {
		t.Errorf("Folders = %v, want %v", got, want)
	}
	if got := tree.Folders(""); len(got) != 5 || got[4] != benchID(3, 9) {
		t.Errorf("Folders(\"\") = %v", got)
	}
	if got, want := tree.Subtree(benchID(3, 3)), []string{benchID(3, 3), benchID(3, 0), benchID(3, 1), benchID(3, 2)}; !slices.Equal(got, want) {
		t.Errorf("Subtree = %v, want %v", got, want)
	}
	if got, want := tree.Ancestors(benchID(3, 2)), []string{benchID(3, 1), benchID(3, 3)}; !slices.Equal(got, want) {
		t.Errorf("Ancestors = %v, want %v", got, want)
	}
	if tree.Subtree(unknownFolder) != nil || tree.Folders(freshProject) != nil {
		t.Error("unknown ids should give nil")
	}
}

// BenchmarkLookupFolders lists the readable folders of one project of
// 1,000 folders (nested 10 deep, a folder grant every 50 folders).
func BenchmarkLookupFolders(b *testing.B) {
	org, p := benchID(1, 0), benchID(2, 0)
	var nodes []authz.FolderNode
	var folders []gatehouse.FolderGrant
	for i := range 1000 {
		parent := ""
		if i%10 != 0 {
			parent = benchID(3, i-1)
		}
		nodes = append(nodes, authz.FolderNode{ID: benchID(3, i), ParentID: parent, ProjectID: p})
		if i%50 == 3 {
			folders = append(folders, gatehouse.FolderGrant{FolderID: benchID(3, i), Action: "read"})
		}
	}
	s := authz.Compile(org, []authz.Source{{Label: "permissions", Grants: []gatehouse.Grant{{EntityType: "projects", EntityID: p, Name: "custom",
		Permission: []gatehouse.AreaGrant{{Name: "folders", Action: "custom", Folders: folders}}}}}}, authz.NewTree(nodes))
	if got := len(s.LookupFolders(p, authz.Read)); got != 20*7 {
		b.Fatalf("got %d folders, want 140", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.LookupFolders(p, authz.Read)
	}
}
