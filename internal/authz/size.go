package authz

import "unsafe"

// Size estimates, in bytes, the memory a Tree holds: for weighing cache
// entries, not exact accounting. Maps count about twice their payload.
func (t *Tree) Size() int {
	if t == nil {
		return 0
	}
	n := int(unsafe.Sizeof(*t)) + 2*48 // the struct and two map headers
	for _, id := range t.ids {
		// The string (allocated in 16-byte steps), ids[i], parent and
		// project, index entry, sorted, byProject, children's header.
		n += roundUp(len(id)) + 16 + 8 + 2*(16+4) + 4 + 4 + 24
	}
	for _, p := range t.projects {
		n += roundUp(len(p)) + 16 + 2*(16+4) + 24
	}
	for _, c := range t.children {
		n += 4 * cap(c)
	}
	return n
}

// Size estimates the memory of a compiled Set, its Tree excluded (shared
// by every set of the organization).
func (s *Set) Size() int {
	n := int(unsafe.Sizeof(*s)) + 3*48
	n += cap(s.grants) * int(unsafe.Sizeof(GrantRef{}))
	for _, g := range s.grants {
		n += len(g.Source) / 4 // labels are shared between grants of one source
	}
	n += len(s.proj) * (int(unsafe.Sizeof(areaRefs{})) + 16 + 2*(16+4))
	for _, id := range s.projIDs {
		n += len(id)
	}
	n += len(s.treeProj) * 4
	n += len(s.fRefs)*(int(unsafe.Sizeof(refs{}))+4) + len(s.folders)*2*8
	n += cap(s.fOrder)*4 + cap(s.contribs)*int(unsafe.Sizeof(contrib{}))
	return n
}

// roundUp is a string's allocation: its bytes rounded up to the allocator's
// 16-byte size classes (exact up to 128 bytes, close above).
func roundUp(n int) int { return (n + 15) &^ 15 }
