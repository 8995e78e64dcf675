package authz

import (
	"slices"
	"strings"
)

// buildIndex fills the look-up indices: folders sorted by id (over the tree
// and per project, the order look-ups page in) and children lists.
func (t *Tree) buildIndex() {
	n := len(t.ids)
	t.sorted = make([]int32, n)
	for i := range t.sorted {
		t.sorted[i] = int32(i)
	}
	slices.SortFunc(t.sorted, func(a, b int32) int { return strings.Compare(t.ids[a], t.ids[b]) })
	t.byProject = make([][]int32, len(t.projects))
	t.children = make([][]int32, n)
	for _, fi := range t.sorted {
		p := t.project[fi]
		t.byProject[p] = append(t.byProject[p], fi)
		if par := t.parent[fi]; par >= 0 {
			t.children[par] = append(t.children[par], fi)
		}
	}
}

// Folders lists the ids of a project's folders sorted by id; every folder
// of the tree when projectID is "".
func (t *Tree) Folders(projectID string) []string {
	if t == nil {
		return nil
	}
	idx := t.sorted
	if projectID != "" {
		p, ok := t.projIdx[projectID]
		if !ok {
			return nil
		}
		idx = t.byProject[p]
	}
	out := make([]string, len(idx))
	for i, fi := range idx {
		out[i] = t.ids[fi]
	}
	return out
}

// Subtree lists a folder and its descendants, parents before children and
// siblings by id; nil for an unknown folder.
func (t *Tree) Subtree(folderID string) []string {
	if t == nil {
		return nil
	}
	fi, ok := t.index[folderID]
	if !ok {
		return nil
	}
	var out []string
	stack := []int32{fi}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, t.ids[x])
		kids := t.children[x]
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return out
}

// Ancestors lists a folder's ancestors, nearest first (nil at the root or
// for an unknown folder).
func (t *Tree) Ancestors(folderID string) []string {
	if t == nil {
		return nil
	}
	fi, ok := t.index[folderID]
	if !ok {
		return nil
	}
	var out []string
	for a := t.parent[fi]; a >= 0; a = t.parent[a] {
		out = append(out, t.ids[a])
	}
	return out
}
