package service

import (
	"context"
	"sort"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxBulkMove caps how many folders one bulk move takes.
const MaxBulkMove = 100

// Folders manages project folder trees.
type Folders struct {
	*base
	access      *Access
	projects    *Projects
	invitations *Invitations // set by New: moves may orphan invitations
}

var errFolderNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Folder not found.")

// requireParent checks write on where a folder is put: the parent folder, or
// for the root, the project-level folders right.
func requireParent(c *Caller, projectID, parentID string) error {
	if parentID == "" {
		return c.Require(authz.Project(projectID), gatehouse.AreaFolders, authz.Write)
	}
	return c.Require(authz.Folder(parentID), gatehouse.AreaFolders, authz.Write)
}

// folder loads a folder of a project the caller reaches.
func (s *Folders) folder(ctx context.Context, conn *store.Conn, c *Caller, projectID, id string) (*gatehouse.Folder, error) {
	if _, err := s.projects.get(ctx, conn, c, projectID); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errFolderNotFound
	}
	return conn.Folder(ctx, c.OrgID, projectID, id)
}

// List lists the children of parentID ("" for the root) that the caller can read.
func (s *Folders) List(ctx context.Context, c *Caller, projectID, parentID string, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Folder], error) {
	conn := s.store.R()
	if _, err := s.projects.get(ctx, conn, c, projectID); err != nil {
		return gatehouse.Page[*gatehouse.Folder]{}, err
	}
	if parentID != "" {
		if !authz.IsUUID(parentID) {
			return gatehouse.Page[*gatehouse.Folder]{}, errFolderNotFound
		}
		if _, err := conn.Folder(ctx, c.OrgID, projectID, parentID); err != nil {
			return gatehouse.Page[*gatehouse.Folder]{}, err
		}
	}
	var out []*gatehouse.Folder
	scan := page
	for {
		fs, err := conn.ListFolders(ctx, c.OrgID, projectID, parentID, scan)
		if err != nil {
			return gatehouse.Page[*gatehouse.Folder]{}, err
		}
		more := len(fs) == scan.FetchLimit()
		if more {
			fs = fs[:len(fs)-1]
		}
		for _, f := range fs {
			if ok, _ := c.Rights.Check(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Read); ok {
				out = append(out, f)
			}
		}
		if len(out) > page.Limit || !more {
			break
		}
		last := fs[len(fs)-1]
		scan.After = &gatehouse.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return gatehouse.MakePage(out, page, func(f *gatehouse.Folder) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: f.CreatedAt, ID: f.ID}
	}), nil
}

// Get returns a folder the caller can read.
func (s *Folders) Get(ctx context.Context, c *Caller, projectID, id string) (*gatehouse.Folder, error) {
	f, err := s.folder(ctx, s.store.R(), c, projectID, id)
	if err != nil {
		return nil, err
	}
	if err := c.Require(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Read); err != nil {
		return nil, err
	}
	return f, nil
}

// Create makes a folder under parentID ("" for the root): write on the parent.
func (s *Folders) Create(ctx context.Context, c *Caller, projectID, name, parentID string) (*gatehouse.Folder, error) {
	name, nerr := validateName("name", name, true)
	if err := fields(nerr); err != nil {
		return nil, err
	}
	var f *gatehouse.Folder
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		pr, err := s.projects.get(ctx, tx, c, projectID)
		if err != nil {
			return err
		}
		where := "the top level of project “" + pr.Name + "”"
		if parentID != "" {
			if !authz.IsUUID(parentID) {
				return parentNotFound()
			}
			parent, err := tx.Folder(ctx, c.OrgID, projectID, parentID)
			if err != nil {
				if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
					return parentNotFound()
				}
				return err
			}
			where = "folder “" + parent.Name + "” of project “" + pr.Name + "”"
		}
		if err := requireParent(c, projectID, parentID); err != nil {
			// Named as the person knows them, not by id.
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden",
				Message: "You may not add folders in " + where + ": that needs write permission on its folders."}
		}
		now := s.now()
		f = &gatehouse.Folder{ID: newID(), OrgID: c.OrgID, ProjectID: projectID, ParentID: parentID, Name: name, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateFolder(ctx, f); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "folder.created", "folder", f.ID, map[string]any{"name": name, "project_id": projectID, "parent_id": parentID}); err != nil {
			return err
		}
		return tx.Notify(ctx, treeChanged(c.OrgID))
	})
	return f, err
}

func parentNotFound() error {
	return gatehouse.Invalid("The parent folder does not exist in this project.", gatehouse.FieldError{Field: "parent_id", Message: "unknown folder in this project"})
}

// Rename changes a folder's name: write on the folder.
func (s *Folders) Rename(ctx context.Context, c *Caller, projectID, id, name string) (*gatehouse.Folder, error) {
	name, nerr := validateName("name", name, true)
	if err := fields(nerr); err != nil {
		return nil, err
	}
	var f *gatehouse.Folder
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if f, err = s.folder(ctx, tx, c, projectID, id); err != nil {
			return err
		}
		if err := c.Require(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Write); err != nil {
			return err
		}
		if f.Name == name {
			return nil
		}
		before := f.Name
		f.Name, f.UpdatedAt = name, s.now()
		if err := tx.RenameFolder(ctx, f); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "folder.updated", "folder", f.ID, map[string]any{"name": map[string]string{"before": before, "after": name}})
	})
	return f, err
}

// Delete removes a folder: delete on the folder. A folder with subfolders
// needs recursive.
func (s *Folders) Delete(ctx context.Context, c *Caller, projectID, id string, recursive bool) error {
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		f, err := s.folder(ctx, tx, c, projectID, id)
		if err != nil {
			return err
		}
		if err := c.Require(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Delete); err != nil {
			return err
		}
		if !recursive {
			has, err := tx.HasChildren(ctx, f.ID)
			if err != nil {
				return err
			}
			if has {
				return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "folder_not_empty",
					Message: "The folder has subfolders; delete them first or pass ?recursive=true."}
			}
		}
		if err := tx.DeleteFolder(ctx, f.ID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "folder.deleted", "folder", f.ID, map[string]any{"name": f.Name, "recursive": recursive}); err != nil {
			return err
		}
		return tx.Notify(ctx, treeChanged(c.OrgID))
	})
}

// Move puts folders under parentID ("" for the root), all or nothing:
// delete on each folder and write on the target. Moving a folder into its
// own subtree is a conflict; into another project, invalid.
func (s *Folders) Move(ctx context.Context, c *Caller, projectID string, ids []string, parentID string) ([]*gatehouse.Folder, error) {
	if len(ids) == 0 {
		return nil, gatehouse.Invalid("Name at least one folder.", gatehouse.FieldError{Field: "folder_ids", Message: "must not be empty"})
	}
	if len(ids) > MaxBulkMove {
		return nil, gatehouse.Invalid("Too many folders.", gatehouse.FieldError{Field: "folder_ids", Message: "must hold at most 100 ids"})
	}
	var moved []*gatehouse.Folder
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := s.projects.get(ctx, tx, c, projectID); err != nil {
			return err
		}
		// Concurrent moves must not both pass the cycle check below.
		if err := tx.LockFolderTree(ctx, c.OrgID, projectID); err != nil {
			return err
		}
		all, err := tx.ProjectFolders(ctx, c.OrgID, projectID)
		if err != nil {
			return err
		}
		parentOf := make(map[string]string, len(all))
		byID := make(map[string]*gatehouse.Folder, len(all))
		for _, f := range all {
			parentOf[f.ID], byID[f.ID] = f.ParentID, f
		}
		// Every id must name a folder of this project before any right is
		// checked, so that an unknown id or another organization's is a 404
		// whatever the caller may do.
		var folders []*gatehouse.Folder
		seen := map[string]bool{}
		for i, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			f, ok := byID[id]
			if !ok {
				if authz.IsUUID(id) {
					if other, err := tx.FolderAnyProject(ctx, c.OrgID, id); err == nil && other.ProjectID != projectID {
						return gatehouse.Invalid("Folders cannot move to another project.", gatehouse.FieldError{Field: fieldIndex("folder_ids", i), Message: "is in another project"})
					}
				}
				return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: "Folder not found.", Fields: []gatehouse.FieldError{{Field: fieldIndex("folder_ids", i), Message: "unknown folder"}}}
			}
			folders = append(folders, f)
		}
		if parentID != "" {
			if _, ok := byID[parentID]; !ok {
				if !authz.IsUUID(parentID) {
					return parentNotFound()
				}
				if other, err := tx.FolderAnyProject(ctx, c.OrgID, parentID); err == nil && other.ProjectID != projectID {
					return gatehouse.Invalid("Folders cannot move to another project.", gatehouse.FieldError{Field: "parent_id", Message: "is in another project"})
				}
				return parentNotFound()
			}
		}
		if err := requireParent(c, projectID, parentID); err != nil {
			return err
		}
		now := s.now()
		for _, f := range folders {
			if err := c.Require(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Delete); err != nil {
				return err
			}
			// Walking up from the target must not meet the folder itself.
			// Bounded by the number of folders, should a cycle ever exist.
			for p, steps := parentID, 0; p != "" && steps <= len(parentOf); p, steps = parentOf[p], steps+1 {
				if p == f.ID {
					return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "cycle",
						Message: "A folder cannot move into itself or its own subfolders."}
				}
			}
			before := f.ParentID
			f.ParentID, f.UpdatedAt = parentID, now
			parentOf[f.ID] = parentID
			if err := tx.MoveFolder(ctx, f); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, c.Actor, c.OrgID, "folder.moved", "folder", f.ID, map[string]any{"parent_id": map[string]string{"before": before, "after": parentID}}); err != nil {
				return err
			}
			moved = append(moved, f)
		}
		if s.invitations != nil {
			if err := s.invitations.RevokeOrphanedByTree(ctx, tx, c.OrgID); err != nil {
				return err
			}
		}
		return tx.Notify(ctx, treeChanged(c.OrgID))
	})
	return moved, err
}

func fieldIndex(name string, i int) string {
	return name + "[" + itoa(i) + "]"
}

// TreeNode is a folder with its children.
type TreeNode struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Children []*TreeNode `json:"children"`
}

// Tree returns the project's folders the caller can read, nested; a
// readable folder under an unreadable one appears at the top level.
func (s *Folders) Tree(ctx context.Context, c *Caller, projectID string) ([]*TreeNode, error) {
	conn := s.store.R()
	if _, err := s.projects.get(ctx, conn, c, projectID); err != nil {
		return nil, err
	}
	all, err := conn.ProjectFolders(ctx, c.OrgID, projectID)
	if err != nil {
		return nil, err
	}
	nodes := map[string]*TreeNode{}
	for _, f := range all {
		if ok, _ := c.Rights.Check(authz.Folder(f.ID), gatehouse.AreaFolders, authz.Read); ok {
			nodes[f.ID] = &TreeNode{ID: f.ID, Name: f.Name, Children: []*TreeNode{}}
		}
	}
	roots := []*TreeNode{}
	for _, f := range all { // sorted by name, so children come out sorted
		n, ok := nodes[f.ID]
		if !ok {
			continue
		}
		if p, ok := nodes[f.ParentID]; ok {
			p.Children = append(p.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	sort.SliceStable(roots, func(i, j int) bool { return roots[i].Name < roots[j].Name })
	return roots, nil
}

// Names maps every folder of the caller's organization to its name, for
// display (the dashboard's access page); any member may read them, as the
// access it explains names them.
func (s *Folders) Names(ctx context.Context, c *Caller) (map[string]string, error) {
	folders, err := s.store.R().OrgFolders(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(folders))
	for _, f := range folders {
		out[f.ID] = f.Name
	}
	return out, nil
}
