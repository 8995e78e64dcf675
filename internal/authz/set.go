package authz

import (
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// Source is one permission list that contributes to a principal's rights:
// the principal's own grants (Label "direct") or a role's (Label = the role
// name). The label shows up in GrantRef, to explain a decision.
type Source struct {
	Label  string
	Grants []gatehouse.Grant
}

// GrantRef names the grant that allowed a check: the source's label and the
// grant's index in that source's list. The zero GrantRef means "none".
type GrantRef struct {
	Source string
	Index  int
}

// String renders the reference for the API's granted_by, e.g.
// "role:admin.permissions[1]" or "direct.permissions[0]"; "" for none.
func (r GrantRef) String() string {
	if r.Source == "" && r.Index == 0 {
		return ""
	}
	return r.Source + ".permissions[" + strconv.Itoa(r.Index) + "]"
}

// refs holds, per action bit, 1 + the ordinal of the earliest grant that
// gives the bit (ordinals count grants across sources in order), or 0.
// Keeping the earliest makes the reported grant deterministic.
type refs [nbits]int32

func (r *refs) add(mask Action, ord int32) {
	for b := range nbits {
		if mask&(1<<b) != 0 && (r[b] == 0 || ord < r[b]) {
			r[b] = ord
		}
	}
}

type areaRefs [numAreas]refs

// Set is the compiled form of a principal's permission lists in one
// organization, against one folder Tree. It is immutable and safe for
// concurrent use. Everything a check needs is precomputed into small arrays
// and maps, so Check does not allocate.
type Set struct {
	tree     *Tree
	grants   []GrantRef // ordinal-1 → grant
	owner    int32      // 1 + ordinal of the earliest owner grant, or 0
	org      [numOrgAreas]refs
	star     areaRefs         // projects "*"
	projIdx  map[string]int32 // project id → index in proj
	proj     []areaRefs       // per named project
	projIDs  []string         // index → project id
	treeProj []int32          // tree project index → index in proj, or -1
	folders  map[int32]int32  // tree folder index → index in fRefs
	fRefs    []refs           // folder grants on one folder
	fOrder   []int32          // folders keys in first-grant order
	// contribs lists every (grant, place) contribution, for Explain; the
	// arrays above keep only the earliest grant per bit, for Check.
	contribs []contrib
}

var emptyTree = NewTree(nil)

// Compile evaluates sources for organization orgID against tree (nil means
// no folders). Input is trusted to have passed Validate; anything malformed
// anyway is ignored (it grants nothing) rather than failing, so a bad stored
// row cannot lock an organization out or panic a request:
//   - organizations grants count only when entity_id is orgID or "" (built-in
//     roles); an owner grant counts only with the full action;
//   - an unparsable action grants nothing, and a custom grant's own action
//     caps its areas and folders ("" = no cap);
//   - a folder grant counts only for a folder in tree that belongs to the
//     grant's project (any project for "*").
func Compile(orgID string, sources []Source, tree *Tree) *Set {
	if tree == nil {
		tree = emptyTree
	}
	s := &Set{tree: tree} // maps made on first use: most sets name few projects and folders
	n := 0
	for i := range sources {
		n += len(sources[i].Grants)
	}
	s.grants = make([]GrantRef, 0, n)
	for si := range sources {
		src := &sources[si]
		for gi := range src.Grants {
			s.grants = append(s.grants, GrantRef{Source: src.Label, Index: gi})
			s.addGrant(orgID, &src.Grants[gi], int32(len(s.grants)))
		}
	}
	s.treeProj = make([]int32, tree.projects.len())
	for i := range tree.projects.len() {
		id := tree.projects.at(int32(i))
		s.treeProj[i] = -1
		if p, ok := s.projIdx[id]; ok {
			s.treeProj[i] = p
		}
	}
	return s
}

func (s *Set) addGrant(orgID string, g *gatehouse.Grant, ord int32) {
	switch g.EntityType {
	case gatehouse.EntityOrganizations:
		if g.EntityID != orgID && g.EntityID != "" {
			return
		}
		if g.Name == gatehouse.OrgOwner {
			if parseMask(g.Action) == All {
				if s.owner == 0 {
					s.owner = ord
				}
				s.note(place{kind: placeOwner}, All, ord)
			}
			return
		}
		if k := orgArea(g.Name); k >= 0 {
			s.org[k].add(parseMask(g.Action), ord)
			s.note(place{kind: placeOrg, area: uint8(k)}, parseMask(g.Action), ord)
		}
	case gatehouse.EntityProjects:
		switch g.Name {
		case gatehouse.ProjectFullAccess:
			m := parseMask(g.Action)
			ar := s.projectRefs(g.EntityID)
			for k := range ar {
				ar[k].add(m, ord)
				s.note(s.projectPlace(g.EntityID, k), m, ord)
			}
		case gatehouse.ProjectCustom:
			capm := parseMask(g.Action)
			var ar *areaRefs // created on first use: a custom grant with nothing valid adds no project
			for i := range g.Permission {
				a := &g.Permission[i]
				k := projectArea(a.Name)
				if k < 0 {
					continue
				}
				if a.Action != gatehouse.ActionCustom {
					if ar == nil {
						ar = s.projectRefs(g.EntityID)
					}
					ar[k].add(parseMask(a.Action)&capm, ord)
					s.note(s.projectPlace(g.EntityID, k), parseMask(a.Action)&capm, ord)
					continue
				}
				if k != areaFolders {
					continue
				}
				for j := range a.Folders {
					s.addFolder(g.EntityID, &a.Folders[j], capm, ord)
				}
			}
		}
	}
}

// projectRefs returns the area rights of a project id or of "*".
func (s *Set) projectRefs(id string) *areaRefs {
	if id == gatehouse.AllProjects {
		return &s.star
	}
	p, ok := s.projIdx[id]
	if !ok {
		p = int32(len(s.proj))
		if s.projIdx == nil {
			s.projIdx = map[string]int32{}
		}
		s.projIdx[id] = p
		s.proj = append(s.proj, areaRefs{})
		s.projIDs = append(s.projIDs, id)
	}
	return &s.proj[p]
}

func (s *Set) addFolder(projectID string, f *gatehouse.FolderGrant, capm Action, ord int32) {
	fi, ok := s.tree.find(f.FolderID)
	if !ok {
		return
	}
	if projectID != gatehouse.AllProjects && s.tree.projects.at(s.tree.project[fi]) != projectID {
		return
	}
	i, ok := s.folders[fi]
	if !ok {
		i = int32(len(s.fRefs))
		if s.folders == nil {
			s.folders = map[int32]int32{}
		}
		s.folders[fi] = i
		s.fRefs = append(s.fRefs, refs{})
		s.fOrder = append(s.fOrder, fi)
	}
	s.fRefs[i].add(parseMask(f.Action)&capm, ord)
	s.note(place{kind: placeFolder, idx: fi}, parseMask(f.Action)&capm, ord)
}

// Tree returns the folder snapshot the set was compiled against.
func (s *Set) Tree() *Tree { return s.tree }

// Owner reports whether the set holds organizations owner, and by which
// grant.
func (s *Set) Owner() (bool, GrantRef) {
	if s.owner == 0 {
		return false, GrantRef{}
	}
	return true, s.grants[s.owner-1]
}

// Check answers whether the set allows action on area of res, and names
// the earliest grant (in source order, then list order) that allows it.
//
// Areas: for the organization, billing, api, members, settings, audit, and
// "owner" (allowed only by an owner grant); for a project, the project
// areas; for a folder, "folders" or "". A project is not checked for
// existence ("*" covers any id); a folder must be in the tree. An action of
// several bits needs every bit, and by names the grant of the lowest bit.
// Anything unknown is simply not allowed.
func (s *Set) Check(res Resource, area string, action Action) (allowed bool, by GrantRef) {
	if action == 0 || action&^All != 0 {
		return false, GrantRef{}
	}
	var first int32
	for b := range nbits {
		if action&(1<<b) == 0 {
			continue
		}
		ord := s.check(res, area, b)
		if ord == 0 {
			return false, GrantRef{}
		}
		if first == 0 {
			first = ord
		}
	}
	return true, s.grants[first-1]
}

// check returns 1 + the ordinal of the earliest grant allowing bit b, or 0.
func (s *Set) check(res Resource, area string, b int) int32 {
	switch res.Kind {
	case KindOrganization:
		if area == gatehouse.OrgOwner {
			return s.owner
		}
		k := orgArea(area)
		if k < 0 {
			return 0
		}
		return earliest(s.owner, s.org[k][b])
	case KindProject:
		k := projectArea(area)
		if k < 0 {
			return 0
		}
		m := earliest(s.owner, s.star[k][b])
		if p, ok := s.projIdx[res.ID]; ok {
			m = earliest(m, s.proj[p][k][b])
		}
		return m
	case KindFolder:
		if area != "" && area != gatehouse.AreaFolders {
			return 0
		}
		fi, ok := s.tree.find(res.ID)
		if !ok {
			return 0
		}
		return s.folderBit(fi, b)
	}
	return 0
}

// folderBit is the folder check on an interned folder.
func (s *Set) folderBit(fi int32, b int) int32 {
	m := earliest(s.owner, s.star[areaFolders][b])
	if p := s.treeProj[s.tree.project[fi]]; p >= 0 {
		m = earliest(m, s.proj[p][areaFolders][b])
	}
	if len(s.folders) > 0 {
		for a := fi; a >= 0; a = s.tree.parent[a] {
			if i, ok := s.folders[a]; ok {
				m = earliest(m, s.fRefs[i][b])
			}
		}
	}
	return m
}

// earliest is the minimum of two "1 + ordinal or 0" values, ignoring 0.
func earliest(a, b int32) int32 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// Reaches reports whether the set gives any right at all within project id:
// owner, any area right on the project or on "*", or a grant on one of its
// folders. A project the set does not reach is invisible to its holder.
func (s *Set) Reaches(projectID string) bool {
	if s.owner != 0 || s.star.any() {
		return true
	}
	if p, ok := s.projIdx[projectID]; ok && s.proj[p].any() {
		return true
	}
	for _, fi := range s.fOrder {
		if s.tree.projects.at(s.tree.project[fi]) == projectID && s.fRefs[s.folders[fi]].any() {
			return true
		}
	}
	return false
}

// ReadableFolders reports whether the set can read every folder of a
// project through a project-level right (owner, or folders read on the
// project or "*"), so listings need no per-folder filtering.
func (s *Set) ReadableFolders(projectID string) bool {
	ok, _ := s.Check(Project(projectID), gatehouse.AreaFolders, Read)
	return ok
}

func (r *refs) any() bool {
	for _, v := range r {
		if v != 0 {
			return true
		}
	}
	return false
}

func (a *areaRefs) any() bool {
	for i := range a {
		if a[i].any() {
			return true
		}
	}
	return false
}
