package authz

import "unsafe"

var sizeofTree = unsafe.Sizeof(Tree{})

// Size estimates the memory of a compiled Set, its Tree excluded (shared
// by every set of the organization).
func (s *Set) Size() int {
	n := int(unsafe.Sizeof(*s))
	if s.projIdx != nil {
		n += 48 // a map's header; made on first use
	}
	if s.folders != nil {
		n += 48
	}
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
