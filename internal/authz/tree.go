package authz

// FolderNode is one folder as loaded from the store.
type FolderNode struct {
	ID        string
	ParentID  string // "" for a folder at the root of its project
	ProjectID string
}

// Tree is an immutable snapshot of an organization's folders. Folder grants
// cover descendants through the tree, so a moved folder needs a new Tree
// (and a new Compile); nothing is cached per folder id beyond this snapshot.
// Ids are interned to int32 indices so that walking up costs no hashing.
type Tree struct {
	index    map[string]int32 // folder id → index
	ids      []string         // index → folder id
	parent   []int32          // index → parent index, -1 at the root
	project  []int32          // index → index in projects
	projects []string         // project index → project id
	projIdx  map[string]int32 // project id → project index
	// For look-ups: folder indices sorted by id, over the whole tree and per
	// project, and each folder's children (see tree_index.go).
	sorted    []int32
	byProject [][]int32
	children  [][]int32
}

// NewTree builds a snapshot. It never fails, and repairs inconsistent input
// (a snapshot read while folders move) on the side of granting less: a
// duplicate id keeps its first node; a parent that is unknown or in another
// project is treated as the root; a link that would close a cycle is cut,
// making that node a root.
func NewTree(nodes []FolderNode) *Tree {
	t := &Tree{
		index:   make(map[string]int32, len(nodes)),
		ids:     make([]string, 0, len(nodes)),
		projIdx: map[string]int32{},
	}
	parents := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if _, dup := t.index[n.ID]; dup {
			continue
		}
		p, ok := t.projIdx[n.ProjectID]
		if !ok {
			p = int32(len(t.projects))
			t.projIdx[n.ProjectID] = p
			t.projects = append(t.projects, n.ProjectID)
		}
		t.index[n.ID] = int32(len(t.ids))
		t.ids = append(t.ids, n.ID)
		t.project = append(t.project, p)
		parents = append(parents, n.ParentID)
	}
	t.parent = make([]int32, len(t.ids))
	for i := range t.parent {
		t.parent[i] = -1
	}
	// Link in input order, refusing any link whose parent chain already
	// reaches the child: that keeps the graph a forest at every step.
	for i, pid := range parents {
		p, ok := t.index[pid]
		if !ok || pid == "" || t.project[p] != t.project[i] {
			continue
		}
		cyclic := false
		for a := p; a >= 0; a = t.parent[a] {
			if a == int32(i) {
				cyclic = true
				break
			}
		}
		if !cyclic {
			t.parent[i] = p
		}
	}
	t.buildIndex()
	return t
}

// Len returns the number of folders.
func (t *Tree) Len() int {
	if t == nil {
		return 0
	}
	return len(t.ids)
}

// Project returns the project of a folder.
func (t *Tree) Project(folderID string) (string, bool) {
	if t == nil {
		return "", false
	}
	i, ok := t.index[folderID]
	if !ok {
		return "", false
	}
	return t.projects[t.project[i]], true
}

// Parent returns the parent of a folder, "" at the root; ok is false for an
// unknown folder.
func (t *Tree) Parent(folderID string) (parent string, ok bool) {
	if t == nil {
		return "", false
	}
	i, ok := t.index[folderID]
	if !ok {
		return "", false
	}
	if p := t.parent[i]; p >= 0 {
		return t.ids[p], true
	}
	return "", true
}
