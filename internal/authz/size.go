package authz

import (
	"math/bits"
	"unsafe"
)

var sizeofTree = unsafe.Sizeof(Tree{})

// allocSize is the memory of an allocation of n bytes: rounded up to the
// allocator's size classes (16-byte steps up to 128 bytes, then steps of
// about an eighth of the size).
func allocSize(n int) int {
	if n <= 0 {
		return 0
	}
	if n <= 128 {
		return (n + 15) &^ 15
	}
	step := 1 << (bits.Len(uint(n)) - 4) // an eighth of the power of two below n
	return (n + step - 1) &^ (step - 1)
}

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
