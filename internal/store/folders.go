package store

import (
	"context"
	"fmt"
	"math/bits"
	"strings"

	"github.com/gatehouse/gatehouse"
)

const folderColumns = `id, org_id, project_id, COALESCE(parent_id, ''), name, created_at, updated_at`

func scanFolder(row interface{ Scan(...any) error }) (*gatehouse.Folder, error) {
	var f gatehouse.Folder
	var created, updated int64
	if err := row.Scan(&f.ID, &f.OrgID, &f.ProjectID, &f.ParentID, &f.Name, &created, &updated); err != nil {
		return nil, err
	}
	f.CreatedAt, f.UpdatedAt = fromTS(created), fromTS(updated)
	return &f, nil
}

func siblingConflict(err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "name_taken", Message: "A folder with this name already exists here.", Cause: err}
	}
	return err
}

// CreateFolder inserts a folder; a sibling of the same name is a conflict.
func (c *Conn) CreateFolder(ctx context.Context, f *gatehouse.Folder) error {
	_, err := c.exec(ctx, `INSERT INTO folders (id, org_id, project_id, parent_id, name, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.ID, f.OrgID, f.ProjectID, nullStr(f.ParentID), f.Name, ts(f.CreatedAt), ts(f.UpdatedAt))
	return siblingConflict(err)
}

// Folder returns a folder of an organization's project.
func (c *Conn) Folder(ctx context.Context, orgID, projectID, id string) (*gatehouse.Folder, error) {
	f, err := scanFolder(c.q.QueryRowContext(ctx, `SELECT `+folderColumns+` FROM folders WHERE org_id = $1 AND project_id = $2 AND id = $3`, orgID, projectID, id))
	return f, notFound(c.wrap(err, "folder"), "Folder")
}

// FolderAnyProject returns a folder of an organization whatever its project.
func (c *Conn) FolderAnyProject(ctx context.Context, orgID, id string) (*gatehouse.Folder, error) {
	f, err := scanFolder(c.q.QueryRowContext(ctx, `SELECT `+folderColumns+` FROM folders WHERE org_id = $1 AND id = $2`, orgID, id))
	return f, notFound(c.wrap(err, "folder"), "Folder")
}

// RenameFolder changes a folder's name.
func (c *Conn) RenameFolder(ctx context.Context, f *gatehouse.Folder) error {
	_, err := c.exec(ctx, `UPDATE folders SET name = $2, updated_at = $3 WHERE id = $1`, f.ID, f.Name, ts(f.UpdatedAt))
	return siblingConflict(err)
}

// LockFolderTree serialises changes to a project's folder tree until the
// transaction ends, so that checks made on the tree (no cycles) still hold
// at commit: a row lock on the project on PostgreSQL (NO KEY UPDATE, which
// leaves folder inserts free); SQLite's single writer serialises already.
func (c *Conn) LockFolderTree(ctx context.Context, orgID, projectID string) error {
	if c.s.dialect.Name() != "postgres" {
		return nil
	}
	_, err := c.exec(ctx, `SELECT id FROM projects WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE`, orgID, projectID)
	return err
}

// MoveFolder sets a folder's parent ("" for the root). Cycles are the
// caller's to refuse.
func (c *Conn) MoveFolder(ctx context.Context, f *gatehouse.Folder) error {
	_, err := c.exec(ctx, `UPDATE folders SET parent_id = $2, updated_at = $3 WHERE id = $1`, f.ID, nullStr(f.ParentID), ts(f.UpdatedAt))
	return siblingConflict(err)
}

// DeleteFolder removes a folder and, by cascade, its subtree.
func (c *Conn) DeleteFolder(ctx context.Context, id string) error {
	_, err := c.exec(ctx, `DELETE FROM folders WHERE id = $1`, id)
	return err
}

// HasChildren reports whether a folder has subfolders.
func (c *Conn) HasChildren(ctx context.Context, id string) (bool, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM folders WHERE parent_id = $1 LIMIT 1) x`, id).Scan(&n)
	return n > 0, c.wrap(err, "has children")
}

// ListFolders lists the children of parentID ("" for the root) newest first.
func (c *Conn) ListFolders(ctx context.Context, orgID, projectID, parentID string, p gatehouse.PageRequest) ([]*gatehouse.Folder, error) {
	q := `SELECT ` + folderColumns + ` FROM folders WHERE org_id = $1 AND project_id = $2 AND parent_id IS NULL`
	args := []any{orgID, projectID}
	if parentID != "" {
		q = `SELECT ` + folderColumns + ` FROM folders WHERE org_id = $1 AND project_id = $2 AND parent_id = $3`
		args = append(args, parentID)
	}
	q, args = keyset(q, args, p)
	return c.queryFolders(ctx, q, args...)
}

// OrgFolders returns every folder of an organization (to build its tree).
func (c *Conn) OrgFolders(ctx context.Context, orgID string) ([]*gatehouse.Folder, error) {
	return c.queryFolders(ctx, `SELECT `+folderColumns+` FROM folders WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// ProjectFolders returns every folder of a project.
func (c *Conn) ProjectFolders(ctx context.Context, orgID, projectID string) ([]*gatehouse.Folder, error) {
	return c.queryFolders(ctx, `SELECT `+folderColumns+` FROM folders WHERE org_id = $1 AND project_id = $2 ORDER BY name, id`, orgID, projectID)
}

// FoldersByID returns the organization's folders among ids, in one query.
func (c *Conn) FoldersByID(ctx context.Context, orgID string, ids []string) ([]*gatehouse.Folder, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args := inList(`SELECT `+folderColumns+` FROM folders WHERE org_id = $1 AND id IN `, []any{orgID}, ids)
	return c.queryFolders(ctx, q, args...)
}

func (c *Conn) queryFolders(ctx context.Context, q string, args ...any) ([]*gatehouse.Folder, error) {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "folders")
	}
	defer rows.Close()
	var out []*gatehouse.Folder
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			return nil, c.wrap(err, "scan folder")
		}
		out = append(out, f)
	}
	return out, c.wrap(rows.Err(), "folders rows")
}

// inList appends "($n, $n+1, ...)" for ids to q.
func inList(q string, args []any, ids []string) (string, []any) {
	ids = padList(ids)
	var sb strings.Builder
	sb.WriteString(q)
	sb.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&sb, "$%d", len(args))
	}
	sb.WriteByte(')')
	return sb.String(), args
}

// padList pads a list to the next power of two by repeating its last
// element (lists of 256 or more are left as they are), so that a statement
// built from it ("IN (…)", "CASE id WHEN …") takes one of a few texts, which
// the statement caches keep, instead of one per length. A value repeated in
// such a list changes nothing it matches.
func padList[T any](xs []T) []T {
	n := len(xs)
	if n == 0 || n >= 256 || n&(n-1) == 0 {
		return xs
	}
	out := make([]T, 1<<bits.Len(uint(n-1)))
	for i := range out {
		out[i] = xs[min(i, n-1)]
	}
	return out
}
