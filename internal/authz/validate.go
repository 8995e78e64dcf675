package authz

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Refs lists the ids a valid permission list points at, so that the caller
// can check in one query per kind that they exist in the organization and
// report the missing ones by field path. Order is first appearance.
type Refs struct {
	Projects []ProjectRef
	Folders  []FolderRef
}

// ProjectRef is one distinct project id and every field path that named it.
type ProjectRef struct {
	ID    string
	Paths []string // e.g. "permissions[0].entity_id"
}

// FolderRef is one distinct folder id and every place that named it.
type FolderRef struct {
	ID   string
	Uses []FolderUse
}

// FolderUse is one folder_id field: its path, and the entity_id of the
// enclosing grant, which the folder must belong to unless it is "*".
type FolderUse struct {
	Path      string // e.g. "permissions[0].permission[2].folders[0].folder_id"
	ProjectID string // a project id or gatehouse.AllProjects
}

// ProjectIDs returns the distinct project ids, for the existence query.
func (r Refs) ProjectIDs() []string {
	ids := make([]string, len(r.Projects))
	for i, p := range r.Projects {
		ids[i] = p.ID
	}
	return ids
}

// FolderIDs returns the distinct folder ids, for the existence query.
func (r Refs) FolderIDs() []string {
	ids := make([]string, len(r.Folders))
	for i, f := range r.Folders {
		ids[i] = f.ID
	}
	return ids
}

// Verify turns the caller's query results into the validation error: found
// holds the project ids that exist in the organization, folderProject maps
// each folder id that exists in the organization to its project id. It
// returns nil when every reference resolves.
func (r Refs) Verify(found map[string]bool, folderProject map[string]string) error {
	var fields []gatehouse.FieldError
	for _, p := range r.Projects {
		if !found[p.ID] {
			for _, path := range p.Paths {
				fields = append(fields, gatehouse.FieldError{Field: path, Message: "unknown project"})
			}
		}
	}
	for _, f := range r.Folders {
		proj, ok := folderProject[f.ID]
		for _, u := range f.Uses {
			switch {
			case !ok:
				fields = append(fields, gatehouse.FieldError{Field: u.Path, Message: "unknown folder"})
			case u.ProjectID != gatehouse.AllProjects && u.ProjectID != proj:
				fields = append(fields, gatehouse.FieldError{Field: u.Path, Message: "folder is not in project " + u.ProjectID})
			}
		}
	}
	if len(fields) > 0 {
		return gatehouse.Invalid(invalidMessage, fields...)
	}
	return nil
}

const invalidMessage = "Invalid permissions."

// Validate checks a permission list against the grammar and collects every
// problem as a field error under the prefix field (e.g. "permissions"), so a
// client fixes everything in one round trip. orgID is the organization the
// list is for; organizations grants must name it. Validate does not know
// which projects and folders exist: it returns their ids in Refs (always,
// even with an error, for the syntactically valid ids) for the caller to
// resolve with Refs.Verify.
func Validate(orgID string, grants []gatehouse.Grant, field string) (Refs, error) {
	v := validator{orgID: orgID, projects: map[string]int{}, folders: map[string]int{}}
	for i := range grants {
		v.grant(field+"["+strconv.Itoa(i)+"]", &grants[i])
	}
	if len(v.fields) > 0 {
		return v.refs, gatehouse.Invalid(invalidMessage, v.fields...)
	}
	return v.refs, nil
}

type validator struct {
	orgID    string
	fields   []gatehouse.FieldError
	refs     Refs
	projects map[string]int // id → index in refs.Projects
	folders  map[string]int // id → index in refs.Folders
}

func (v *validator) fail(path, msg string) {
	v.fields = append(v.fields, gatehouse.FieldError{Field: path, Message: msg})
}

// action validates an action field and returns its mask (0 on error).
func (v *validator) action(path, s string) Action {
	a, err := ParseAction(s)
	if err != nil {
		v.fail(path, err.Error())
		return 0
	}
	return a
}

var (
	orgNamesMsg  = "must be one of " + strings.Join(append([]string{gatehouse.OrgOwner}, orgAreaNames[:]...), ", ")
	areaNamesMsg = "must be one of " + strings.Join(areaNames[:], ", ")
)

func (v *validator) grant(p string, g *gatehouse.Grant) {
	switch g.EntityType {
	case gatehouse.EntityOrganizations:
		if g.EntityID != v.orgID {
			v.fail(p+".entity_id", "must be this organization's id")
		}
		switch {
		case g.Name == gatehouse.OrgOwner:
			if a := v.action(p+".action", g.Action); a != 0 && a != All {
				v.fail(p+".action", `owner carries every action; leave it ""`)
			}
		case orgArea(g.Name) >= 0:
			v.action(p+".action", g.Action)
		default:
			v.fail(p+".name", orgNamesMsg)
			v.action(p+".action", g.Action)
		}
		if len(g.Permission) > 0 {
			v.fail(p+".permission", "must be empty for organizations permissions")
		}
	case gatehouse.EntityProjects:
		if g.EntityID == gatehouse.AllProjects {
			// every project
		} else if IsUUID(g.EntityID) {
			v.project(g.EntityID, p+".entity_id")
		} else {
			v.fail(p+".entity_id", `must be a project id (a lowercase UUID) or "*"`)
		}
		v.action(p+".action", g.Action)
		switch g.Name {
		case gatehouse.ProjectFullAccess:
			if len(g.Permission) > 0 {
				v.fail(p+".permission", "must be empty for full-access")
			}
		case gatehouse.ProjectCustom:
			if len(g.Permission) == 0 {
				v.fail(p+".permission", "must list at least one area for custom")
			}
			seen := [numAreas]bool{}
			for j := range g.Permission {
				ap := p + ".permission[" + strconv.Itoa(j) + "]"
				if k := v.area(ap, g.EntityID, &g.Permission[j]); k >= 0 {
					if seen[k] {
						v.fail(ap+".name", `duplicate area "`+areaNames[k]+`"`)
					}
					seen[k] = true
				}
			}
		default:
			v.fail(p+".name", `must be "full-access" or "custom"`)
		}
	default:
		v.fail(p+".entity_type", `must be "organizations" or "projects"`)
	}
}

// area validates one area of a custom grant and returns its index, or -1.
func (v *validator) area(p, projectID string, a *gatehouse.AreaGrant) int {
	k := projectArea(a.Name)
	if k < 0 {
		v.fail(p+".name", areaNamesMsg)
	}
	if a.Action != gatehouse.ActionCustom {
		v.action(p+".action", a.Action)
		if len(a.Folders) > 0 {
			v.fail(p+".folders", `only allowed when action is "custom"`)
		}
		return k
	}
	if k >= 0 && k != areaFolders {
		v.fail(p+".action", `"custom" is only valid on the folders area`)
		return k
	}
	if len(a.Folders) == 0 {
		v.fail(p+".folders", `must list at least one folder when action is "custom"`)
	}
	seen := make(map[string]bool, len(a.Folders))
	for i := range a.Folders {
		f := &a.Folders[i]
		fp := p + ".folders[" + strconv.Itoa(i) + "]"
		switch {
		case !IsUUID(f.FolderID):
			v.fail(fp+".folder_id", "must be a folder id (a lowercase UUID)")
		case seen[f.FolderID]:
			v.fail(fp+".folder_id", "duplicate folder")
		default:
			seen[f.FolderID] = true
			v.folder(f.FolderID, fp+".folder_id", projectID)
		}
		v.action(fp+".action", f.Action)
	}
	return k
}

func (v *validator) project(id, path string) {
	if i, ok := v.projects[id]; ok {
		v.refs.Projects[i].Paths = append(v.refs.Projects[i].Paths, path)
		return
	}
	v.projects[id] = len(v.refs.Projects)
	v.refs.Projects = append(v.refs.Projects, ProjectRef{ID: id, Paths: []string{path}})
}

func (v *validator) folder(id, path, projectID string) {
	u := FolderUse{Path: path, ProjectID: projectID}
	if i, ok := v.folders[id]; ok {
		v.refs.Folders[i].Uses = append(v.refs.Folders[i].Uses, u)
		return
	}
	v.folders[id] = len(v.refs.Folders)
	v.refs.Folders = append(v.refs.Folders, FolderRef{ID: id, Uses: []FolderUse{u}})
}
