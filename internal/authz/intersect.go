package authz

import "github.com/gatehouse/gatehouse"

// Intersect returns the rights that both a and b allow: what an API key may
// do is its own grants capped by what its creator holds now. Grant
// references in the result are a's. Both sets must be compiled against the
// same tree (a's is used).
//
// Every right of the result is computed as "a allows it and b allows it" at
// the places either set names (organization areas, "*", named projects, and
// folders with grants), which is enough: any folder either allows lies
// under one of those places, and allowance only grows going down the tree.
func Intersect(a, b *Set) *Set {
	r := &Set{tree: a.tree, grants: a.grants}
	if a.owner != 0 && b.owner != 0 {
		r.owner = a.owner
	}
	org := Organization()
	for k := range numOrgAreas {
		for bit := range nbits {
			if oa := a.check(org, orgAreaNames[k], bit); oa != 0 && b.check(org, orgAreaNames[k], bit) != 0 {
				r.org[k][bit] = oa
			}
		}
	}
	both := func(res Resource, dst *areaRefs) {
		for k := range numAreas {
			for bit := range nbits {
				if oa := a.check(res, areaNames[k], bit); oa != 0 && b.check(res, areaNames[k], bit) != 0 {
					dst[k][bit] = oa
				}
			}
		}
	}
	both(Project(gatehouse.AllProjects), &r.star)
	seen := map[string]bool{}
	for _, ids := range [][]string{a.projIDs, b.projIDs} {
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			var ar areaRefs
			both(Project(id), &ar)
			if ar.any() {
				*r.projectRefs(id) = ar
			}
		}
	}
	addFolder := func(id string) {
		fi, ok := a.tree.find(id)
		if !ok {
			return
		}
		if _, done := r.folders[fi]; done {
			return
		}
		var rr refs
		for bit := range nbits {
			if oa := a.check(Folder(id), gatehouse.AreaFolders, bit); oa != 0 && b.check(Folder(id), gatehouse.AreaFolders, bit) != 0 {
				rr[bit] = oa
			}
		}
		if rr.any() {
			if r.folders == nil {
				r.folders = map[int32]int32{}
			}
			r.folders[fi] = int32(len(r.fRefs))
			r.fRefs = append(r.fRefs, rr)
			r.fOrder = append(r.fOrder, fi)
		}
	}
	for _, s := range []*Set{a, b} {
		for _, fi := range s.fOrder {
			addFolder(s.tree.ids.at(fi))
		}
	}
	r.treeProj = make([]int32, r.tree.projects.len())
	for i := range r.tree.projects.len() {
		id := r.tree.projects.at(int32(i))
		r.treeProj[i] = -1
		if p, ok := r.projIdx[id]; ok {
			r.treeProj[i] = p
		}
	}
	r.notesFromRefs()
	return r
}
