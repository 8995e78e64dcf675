package authz

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/cache"
)

// FolderNode is one folder as loaded from the store.
type FolderNode struct {
	ID        string
	ParentID  string // "" for a folder at the root of its project
	ProjectID string
}

// Tree is an immutable snapshot of an organization's folders. Folder grants
// cover descendants through the tree, so a moved folder needs a new Tree
// (and a new Compile); nothing is cached per folder id beyond this snapshot.
//
// Ids are interned to int32 indices so that walking up costs no hashing.
// The snapshot is compact and holds almost no pointers, because one is
// cached per organization (GATEHOUSE_CACHE_SIZE is spent on it, and the
// garbage collector scans what it holds): the ids live in one string, every
// index in one []int32, and an id is found by binary search over the ids in
// sorted order rather than through a map.
type Tree struct {
	ids      idList  // index → folder id
	projects idList  // project index → project id
	parent   []int32 // index → parent index, -1 at the root
	project  []int32 // index → index in projects
	// For look-ups (see tree_index.go): folder indices sorted by id, over
	// the whole tree (sorted) and per project (byProj[byProjAt[p]:
	// byProjAt[p+1]]); project indices sorted by id; each folder's children
	// sorted by id (child[childAt[i]:childAt[i+1]]).
	sorted     []int32
	projSorted []int32
	byProjAt   []int32
	byProj     []int32
	childAt    []int32
	child      []int32
	slots      []int32 // find's hash table
}

// idList is a list of ids in one string: id i is blob[end[i-1]:end[i]].
type idList struct {
	blob string
	end  []int32
}

func (l *idList) at(i int32) string {
	start := int32(0)
	if i > 0 {
		start = l.end[i-1]
	}
	return l.blob[start:l.end[i]]
}

func (l *idList) len() int { return len(l.end) }

// search finds id among the list's ids, given their indices in sorted order.
func (l *idList) search(sorted []int32, id string) (int32, bool) {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.at(sorted[m]) < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(sorted) && l.at(sorted[lo]) == id {
		return sorted[lo], true
	}
	return -1, false
}

// find returns a folder's index: one hash and, most often, one string
// comparison (open addressing with linear probing over slots).
func (t *Tree) find(folderID string) (int32, bool) {
	if len(t.slots) == 0 {
		return -1, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := maphash.String(treeSeed, folderID) & mask; ; i = (i + 1) & mask {
		x := t.slots[i]
		if x == 0 {
			return -1, false
		}
		if t.ids.at(x-1) == folderID {
			return x - 1, true
		}
	}
}

// treeSeed seeds the folder ids' hash (per process).
var treeSeed = maphash.MakeSeed()

// fillSlots builds find's hash table: a power of two at most 3/4 full,
// each slot 1 + a folder index, or 0 when empty.
func (t *Tree) fillSlots() {
	mask := uint64(len(t.slots) - 1)
	for fi := range t.ids.len() {
		i := maphash.String(treeSeed, t.ids.at(int32(fi))) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = int32(fi) + 1
	}
}

// slotCount is the size of find's table for n folders.
func slotCount(n int) int {
	if n == 0 {
		return 0
	}
	return 1 << bits.Len(uint(n*4/3))
}

// findProject returns a project's index among the tree's projects (those
// with at least one folder).
func (t *Tree) findProject(projectID string) (int32, bool) {
	return t.projects.search(t.projSorted, projectID)
}

// NewTree builds a snapshot. It never fails, and repairs inconsistent input
// (a snapshot read while folders move) on the side of granting less: a
// duplicate id keeps its first node; a parent that is unknown or in another
// project is treated as the root; a link that would close a cycle is cut,
// making that node a root.
func NewTree(nodes []FolderNode) *Tree {
	// Build-time maps only; the snapshot keeps none.
	index := make(map[string]int32, len(nodes))
	projIdx := map[string]int32{}
	var keep []int // nodes kept, in input order
	var projOrder []string
	idBytes, projBytes := 0, 0
	for i, n := range nodes {
		if _, dup := index[n.ID]; dup {
			continue
		}
		if _, ok := projIdx[n.ProjectID]; !ok {
			projIdx[n.ProjectID] = int32(len(projOrder))
			projOrder = append(projOrder, n.ProjectID)
			projBytes += len(n.ProjectID)
		}
		index[n.ID] = int32(len(keep))
		keep = append(keep, i)
		idBytes += len(n.ID)
	}
	n, np := len(keep), len(projOrder)
	// One allocation for every index: ends of ids and projects, parent,
	// project, sorted, projSorted, byProjAt, byProj, childAt, child, slots.
	slab := make([]int32, slabLen(n, np))
	take := func(k int) []int32 { s := slab[:k:k]; slab = slab[k:]; return s }
	t := &Tree{}
	t.ids.end, t.projects.end = take(n), take(np)
	t.parent, t.project, t.sorted, t.projSorted = take(n), take(n), take(n), take(np)
	t.byProjAt, t.byProj, t.childAt, t.child = take(np+1), take(n), take(n+1), take(n)
	t.slots = take(slotCount(n))

	var b strings.Builder
	b.Grow(idBytes + projBytes)
	for i, ni := range keep {
		b.WriteString(nodes[ni].ID)
		t.ids.end[i] = int32(b.Len())
	}
	for p, id := range projOrder {
		b.WriteString(id)
		t.projects.end[p] = int32(b.Len())
	}
	all := b.String()
	t.ids.blob = all[:idBytes]
	// The projects' ends count from the start of all: rebase them.
	t.projects.blob = all[idBytes:]
	for p := range t.projects.end {
		t.projects.end[p] -= int32(idBytes)
	}
	for i, ni := range keep {
		t.project[i] = projIdx[nodes[ni].ProjectID]
		t.parent[i] = -1
	}
	// Link in input order, refusing any link whose parent chain already
	// reaches the child: that keeps the graph a forest at every step.
	for i, ni := range keep {
		pid := nodes[ni].ParentID
		p, ok := index[pid]
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
	t.fillSlots()
	return t
}

// slabLen is the length of a tree's one []int32 for n folders in np
// projects.
func slabLen(n, np int) int {
	return n + np + n + n + n + np + (np + 1) + n + (n + 1) + n + slotCount(n)
}

// buildIndex fills the look-up indices: folders sorted by id (over the tree
// and per project, the order look-ups page in), projects sorted by id, and
// children lists.
func (t *Tree) buildIndex() {
	for i := range t.sorted {
		t.sorted[i] = int32(i)
	}
	slices.SortFunc(t.sorted, func(a, b int32) int { return strings.Compare(t.ids.at(a), t.ids.at(b)) })
	for i := range t.projSorted {
		t.projSorted[i] = int32(i)
	}
	slices.SortFunc(t.projSorted, func(a, b int32) int { return strings.Compare(t.projects.at(a), t.projects.at(b)) })
	// Counting sort into the per-project and per-parent ranges, walking
	// folders in id order so each range comes out sorted by id.
	for _, fi := range t.sorted {
		t.byProjAt[t.project[fi]+1]++
		if par := t.parent[fi]; par >= 0 {
			t.childAt[par+1]++
		}
	}
	for p := 1; p < len(t.byProjAt); p++ {
		t.byProjAt[p] += t.byProjAt[p-1]
	}
	for i := 1; i < len(t.childAt); i++ {
		t.childAt[i] += t.childAt[i-1]
	}
	nextP := slices.Clone(t.byProjAt)
	nextC := slices.Clone(t.childAt)
	for _, fi := range t.sorted {
		p := t.project[fi]
		t.byProj[nextP[p]] = fi
		nextP[p]++
		if par := t.parent[fi]; par >= 0 {
			t.child[nextC[par]] = fi
			nextC[par]++
		}
	}
}

// Len returns the number of folders.
func (t *Tree) Len() int {
	if t == nil {
		return 0
	}
	return t.ids.len()
}

// Project returns the project of a folder.
func (t *Tree) Project(folderID string) (string, bool) {
	if t == nil {
		return "", false
	}
	i, ok := t.find(folderID)
	if !ok {
		return "", false
	}
	return t.projects.at(t.project[i]), true
}

// Parent returns the parent of a folder, "" at the root; ok is false for an
// unknown folder.
func (t *Tree) Parent(folderID string) (parent string, ok bool) {
	if t == nil {
		return "", false
	}
	i, ok := t.find(folderID)
	if !ok {
		return "", false
	}
	if p := t.parent[i]; p >= 0 {
		return t.ids.at(p), true
	}
	return "", true
}

// Size estimates, in bytes, the memory a Tree holds: for weighing cache
// entries. The struct, the ids' string and the one []int32 of indices.
func (t *Tree) Size() int {
	if t == nil {
		return 0
	}
	slab := slabLen(t.ids.len(), t.projects.len())
	return int(sizeofTree) + cache.AllocSize(len(t.ids.blob)+len(t.projects.blob)) + cache.AllocSize(4*slab)
}

// IDSet is an immutable set of ids held compactly (one string and one
// []int32), for caches: an organization's project ids, say.
type IDSet struct {
	ids    idList
	sorted []int32
}

// NewIDSet builds a set of ids (duplicates kept once).
func NewIDSet(ids []string) *IDSet {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s := &IDSet{}
	slab := make([]int32, 2*len(ids))
	s.ids.end, s.sorted = slab[:len(ids):len(ids)], slab[len(ids):]
	s.ids.blob = strings.Join(ids, "")
	end := int32(0)
	for i, id := range ids {
		end += int32(len(id))
		s.ids.end[i], s.sorted[i] = end, int32(i)
	}
	return s
}

// Has reports whether id is in the set.
func (s *IDSet) Has(id string) bool {
	_, ok := s.ids.search(s.sorted, id)
	return ok
}

// Size estimates the set's memory in bytes, for weighing cache entries.
func (s *IDSet) Size() int {
	return int(unsafe.Sizeof(*s)) + cache.AllocSize(len(s.ids.blob)) + cache.AllocSize(4*len(s.ids.end)*2)
}
