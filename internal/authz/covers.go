package authz

import "github.com/gatehouse/gatehouse"

// Right is one atomic right: a single action bit on one area of one
// resource. A project Right with ID "*" is the right on every project,
// present and future.
type Right struct {
	Resource Resource
	Area     string // "owner" for organization ownership (Action is then All)
	Action   Action
}

// String renders the right for a 403 message, e.g.
// "write on folders of project:*" or "read on folder:<id>".
func (r Right) String() string {
	if r.Area == gatehouse.OrgOwner {
		return "owner of the organization"
	}
	if r.Resource.Kind == KindFolder {
		return r.Action.String() + " on " + r.Resource.String()
	}
	return r.Action.String() + " on " + r.Area + " of " + r.Resource.String()
}

// Covers reports whether holder holds every right that requested holds:
// the no-escalation test applied before anyone grants rights (by
// invitation, member update, role or API key).
func Covers(holder, requested *Set) bool {
	_, _, ok := Uncovered(holder, requested)
	return !ok
}

// Uncovered returns the first right of requested that holder lacks, with
// the requested grant that carries it; ok is false when holder covers
// requested. Requested rights are expanded atomically (organization area ×
// action, project or "*" × area × action, granted folder × action) and each
// is tested against holder, so that:
//   - organizations owner is covered only by owner;
//   - a "*" right is covered only by a "*" right (or owner), never by holding
//     every project that exists today;
//   - a folder right is covered by the project's folders right, or by a folder
//     grant on the folder or an ancestor in holder's tree.
//
// Order is fixed: owner, organization areas, "*", projects, then folders in
// the order they were granted.
func Uncovered(holder, requested *Set) (r Right, by GrantRef, ok bool) {
	if holder.owner != 0 {
		return Right{}, GrantRef{}, false
	}
	ref := func(ord int32) GrantRef { return requested.grants[ord-1] }
	if requested.owner != 0 {
		return Right{Resource: Organization(), Area: gatehouse.OrgOwner, Action: All}, ref(requested.owner), true
	}
	for k := range numOrgAreas {
		for b := range nbits {
			if o := requested.org[k][b]; o != 0 && holder.org[k][b] == 0 {
				return Right{Resource: Organization(), Area: orgAreaNames[k], Action: 1 << b}, ref(o), true
			}
		}
	}
	for k := range numAreas {
		for b := range nbits {
			if o := requested.star[k][b]; o != 0 && holder.star[k][b] == 0 {
				return Right{Resource: Project(gatehouse.AllProjects), Area: areaNames[k], Action: 1 << b}, ref(o), true
			}
		}
	}
	for p, id := range requested.projIDs {
		hp, hok := holder.projIdx[id]
		for k := range numAreas {
			for b := range nbits {
				o := requested.proj[p][k][b]
				if o == 0 || holder.star[k][b] != 0 || (hok && holder.proj[hp][k][b] != 0) {
					continue
				}
				return Right{Resource: Project(id), Area: areaNames[k], Action: 1 << b}, ref(o), true
			}
		}
	}
	for _, fi := range requested.fOrder {
		id := requested.tree.ids.at(fi)
		hf, hok := holder.tree.find(id)
		rr := &requested.fRefs[requested.folders[fi]]
		for b := range nbits {
			if o := rr[b]; o != 0 && (!hok || holder.folderBit(hf, b) == 0) {
				return Right{Resource: Folder(id), Area: gatehouse.AreaFolders, Action: 1 << b}, ref(o), true
			}
		}
	}
	return Right{}, GrantRef{}, false
}
