package authz

import (
	"slices"

	"github.com/gatehouse/gatehouse"
)

// This file holds the reverse operations on a compiled Set: which resources
// it allows (LookupFolders, LookupProjects) and every grant behind an
// allowance (Explain). They read the same arrays as Check, so they cannot
// disagree with it.

// place is where a grant contributes: owner, an organization area, an area
// of "*" or of a named project, or one folder.
type place struct {
	kind uint8
	area uint8
	idx  int32 // named project index (placeProject) or tree folder index (placeFolder)
}

const (
	placeOwner = iota + 1
	placeOrg
	placeStar
	placeProject
	placeFolder
)

type contrib struct {
	at   place
	mask Action
	ord  int32
}

// note records that grant ord gives mask at a place.
func (s *Set) note(at place, mask Action, ord int32) {
	if mask&All == 0 {
		return
	}
	s.contribs = append(s.contribs, contrib{at: at, mask: mask & All, ord: ord})
}

// projectPlace is the place of area k of project id (or "*"); the project
// must already have its refs (projectRefs).
func (s *Set) projectPlace(id string, k int) place {
	if id == gatehouse.AllProjects {
		return place{kind: placeStar, area: uint8(k)}
	}
	return place{kind: placeProject, area: uint8(k), idx: s.projIdx[id]}
}

// notesFromRefs rebuilds contribs from the earliest-grant arrays, for sets
// not made by Compile (Intersect): each allowance is explained by the grant
// Check would name.
func (s *Set) notesFromRefs() {
	if s.owner != 0 {
		s.note(place{kind: placeOwner}, All, s.owner)
	}
	each := func(at place, r *refs) {
		for b := range nbits {
			if r[b] != 0 {
				s.note(at, 1<<b, r[b])
			}
		}
	}
	for k := range numOrgAreas {
		each(place{kind: placeOrg, area: uint8(k)}, &s.org[k])
	}
	for k := range numAreas {
		each(place{kind: placeStar, area: uint8(k)}, &s.star[k])
	}
	for p := range s.proj {
		for k := range numAreas {
			each(place{kind: placeProject, area: uint8(k), idx: int32(p)}, &s.proj[p][k])
		}
	}
	for _, fi := range s.fOrder {
		each(place{kind: placeFolder, idx: fi}, &s.fRefs[s.folders[fi]])
	}
}

// Scopes of a Reason: where the explaining grant applies.
const (
	ScopeOwner        = "owner"        // organization owner: everything
	ScopeOrganization = "organization" // an organization area
	ScopeAllProjects  = "all_projects" // projects "*"
	ScopeProject      = "project"      // the project itself
	ScopeFolder       = "folder"       // a grant on the folder or an ancestor (FolderID)
)

// Reason is one grant that gives (part of) an allowance.
type Reason struct {
	Grant    GrantRef
	Scope    string
	FolderID string // ScopeFolder: the folder the grant names
	Action   Action // the asked bits this grant gives
}

// Explain lists every grant that gives some bit of action on area of res,
// in grant order (then owner, organization, "*", project, folders nearest
// first). It is empty when nothing gives any bit; for an allowed check it
// contains the grant Check names.
func (s *Set) Explain(res Resource, area string, action Action) []Reason {
	action &= All
	if action == 0 {
		return nil
	}
	var want [5]bool // by kind
	k := -1
	var proj int32 = -1
	var folders []int32 // the folder and its ancestors
	switch res.Kind {
	case KindOrganization:
		want[placeOwner-1] = true
		if area != gatehouse.OrgOwner {
			if k = orgArea(area); k < 0 {
				return nil
			}
			want[placeOrg-1] = true
		}
	case KindProject:
		if k = projectArea(area); k < 0 {
			return nil
		}
		want[placeOwner-1], want[placeStar-1], want[placeProject-1] = true, true, true
		if p, ok := s.projIdx[res.ID]; ok {
			proj = p
		}
	case KindFolder:
		if area != "" && area != gatehouse.AreaFolders {
			return nil
		}
		fi, ok := s.tree.find(res.ID)
		if !ok {
			return nil
		}
		k = areaFolders
		want[placeOwner-1], want[placeStar-1], want[placeProject-1], want[placeFolder-1] = true, true, true, true
		proj = s.treeProj[s.tree.project[fi]]
		for a := fi; a >= 0; a = s.tree.parent[a] {
			folders = append(folders, a)
		}
	default:
		return nil
	}
	var out []Reason
	for _, c := range s.contribs {
		if !want[c.at.kind-1] || c.mask&action == 0 {
			continue
		}
		r := Reason{Grant: s.grants[c.ord-1], Action: c.mask & action}
		switch c.at.kind {
		case placeOwner:
			r.Scope, r.Action = ScopeOwner, action
		case placeOrg:
			if int(c.at.area) != k {
				continue
			}
			r.Scope = ScopeOrganization
		case placeStar:
			if int(c.at.area) != k {
				continue
			}
			r.Scope = ScopeAllProjects
		case placeProject:
			if int(c.at.area) != k || c.at.idx != proj {
				continue
			}
			r.Scope = ScopeProject
		case placeFolder:
			if !slices.Contains(folders, c.at.idx) {
				continue
			}
			r.Scope, r.FolderID = ScopeFolder, s.tree.ids.at(c.at.idx)
		}
		// One entry per grant and place: a custom grant may name an area
		// twice; merge its bits.
		merged := false
		for i := len(out) - 1; i >= 0 && out[i].Grant == r.Grant; i-- {
			if out[i].Scope == r.Scope && out[i].FolderID == r.FolderID {
				out[i].Action |= r.Action
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, r)
		}
	}
	return out
}

// Allowed is one resource a look-up returns, with the grant Check names.
type Allowed struct {
	ID string
	By GrantRef
}

// bitsOK turns per-bit earliest ordinals into Check's answer for action.
func (s *Set) bitsOK(ords *[nbits]int32, action Action) (bool, GrantRef) {
	var first int32
	for b := range nbits {
		if action&(1<<b) == 0 {
			continue
		}
		if ords[b] == 0 {
			return false, GrantRef{}
		}
		if first == 0 {
			first = ords[b]
		}
	}
	return true, s.grants[first-1]
}

// LookupFolders lists, sorted by id, the folders of a project (of every
// project for "") on which the set allows action, each with the grant Check
// names: exactly the folders whose Check(Folder(id), "folders", action) is
// allowed. It walks the tree once, top-down, rather than checking each
// folder up its ancestors.
func (s *Set) LookupFolders(projectID string, action Action) []Allowed {
	if action == 0 || action&^All != 0 {
		return nil
	}
	t := s.tree
	idx := t.sorted
	if projectID != "" {
		p, ok := t.findProject(projectID)
		if !ok {
			return nil
		}
		idx = t.inProject(p)
	}
	// base[p]: what the project level gives every folder of tree project p.
	base := make([][nbits]int32, t.projects.len())
	for p := range base {
		for b := range nbits {
			m := earliest(s.owner, s.star[areaFolders][b])
			if q := s.treeProj[p]; q >= 0 {
				m = earliest(m, s.proj[q][areaFolders][b])
			}
			base[p][b] = m
		}
	}
	var out []Allowed
	if len(s.folders) == 0 {
		for _, fi := range idx {
			if ok, by := s.bitsOK(&base[t.project[fi]], action); ok {
				out = append(out, Allowed{ID: t.ids.at(fi), By: by})
			}
		}
		return out
	}
	// memo[fi]: earliest folder-grant ordinals from fi and its ancestors.
	memo := make([][nbits]int32, t.ids.len())
	done := make([]bool, t.ids.len())
	var stack []int32
	for _, fi := range idx {
		for a := fi; a >= 0 && !done[a]; a = t.parent[a] {
			stack = append(stack, a)
		}
		for len(stack) > 0 {
			a := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			var m [nbits]int32
			if p := t.parent[a]; p >= 0 {
				m = memo[p]
			}
			if i, ok := s.folders[a]; ok {
				for b := range nbits {
					m[b] = earliest(m[b], s.fRefs[i][b])
				}
			}
			memo[a], done[a] = m, true
		}
		var m [nbits]int32
		bp := &base[t.project[fi]]
		for b := range nbits {
			m[b] = earliest(bp[b], memo[fi][b])
		}
		if ok, by := s.bitsOK(&m, action); ok {
			out = append(out, Allowed{ID: t.ids.at(fi), By: by})
		}
	}
	return out
}

// LookupProjects lists, in the order given, the projects among ids (the
// organization's projects) on which the set allows action on area, each
// with the grant Check names. What owner and "*" give is worked out once;
// each project then costs one map look-up of its own rights (none at all
// when the set names no project and owner or "*" does not give the action).
func (s *Set) LookupProjects(ids []string, area string, action Action) []Allowed {
	k := projectArea(area)
	if k < 0 || action == 0 || action&^All != 0 {
		return nil
	}
	var wide [nbits]int32
	for b := range nbits {
		wide[b] = earliest(s.owner, s.star[k][b])
	}
	var out []Allowed
	if ok, _ := s.bitsOK(&wide, action); !ok {
		if len(s.proj) == 0 {
			return nil
		}
	}
	for _, id := range ids {
		m := wide
		if p, ok := s.projIdx[id]; ok {
			for b := range nbits {
				m[b] = earliest(m[b], s.proj[p][k][b])
			}
		}
		if ok, by := s.bitsOK(&m, action); ok {
			out = append(out, Allowed{ID: id, By: by})
		}
	}
	return out
}

// FolderGrants lists the folders that carry a folder grant of the set, in
// the order they were first granted.
func (s *Set) FolderGrants() []string {
	out := make([]string, len(s.fOrder))
	for i, fi := range s.fOrder {
		out[i] = s.tree.ids.at(fi)
	}
	return out
}
