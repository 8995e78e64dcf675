package authz

// Folders lists the ids of a project's folders sorted by id; every folder
// of the tree when projectID is "".
func (t *Tree) Folders(projectID string) []string {
	if t == nil {
		return nil
	}
	idx := t.sorted
	if projectID != "" {
		p, ok := t.findProject(projectID)
		if !ok {
			return nil
		}
		idx = t.inProject(p)
	}
	out := make([]string, len(idx))
	for i, fi := range idx {
		out[i] = t.ids.at(fi)
	}
	return out
}

// inProject lists the folder indices of tree project p, sorted by id.
func (t *Tree) inProject(p int32) []int32 { return t.byProj[t.byProjAt[p]:t.byProjAt[p+1]] }

// children lists a folder's children, sorted by id.
func (t *Tree) children(fi int32) []int32 { return t.child[t.childAt[fi]:t.childAt[fi+1]] }

// Subtree lists a folder and its descendants, parents before children and
// siblings by id; nil for an unknown folder.
func (t *Tree) Subtree(folderID string) []string {
	if t == nil {
		return nil
	}
	fi, ok := t.find(folderID)
	if !ok {
		return nil
	}
	var out []string
	stack := []int32{fi}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, t.ids.at(x))
		kids := t.children(x)
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
	fi, ok := t.find(folderID)
	if !ok {
		return nil
	}
	var out []string
	for a := t.parent[fi]; a >= 0; a = t.parent[a] {
		out = append(out, t.ids.at(a))
	}
	return out
}
