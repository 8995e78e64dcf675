package store

import (
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
)

const projectColumns = `id, org_id, name, description, settings, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (*gatehouse.Project, error) {
	var p gatehouse.Project
	var settings string
	var created, updated int64
	if err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Description, &settings, &created, &updated); err != nil {
		return nil, err
	}
	p.Settings, p.CreatedAt, p.UpdatedAt = json.RawMessage(settings), fromTS(created), fromTS(updated)
	return &p, nil
}

// CreateProject inserts a project.
func (c *Conn) CreateProject(ctx context.Context, p *gatehouse.Project) error {
	if len(p.Settings) == 0 {
		p.Settings = json.RawMessage(`{}`)
	}
	_, err := c.exec(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.OrgID, p.Name, p.Description, string(p.Settings), ts(p.CreatedAt), ts(p.UpdatedAt))
	return err
}

// Project returns a project of an organization; another organization's is
// not found.
func (c *Conn) Project(ctx context.Context, orgID, id string) (*gatehouse.Project, error) {
	p, err := scanProject(c.q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE org_id = $1 AND id = $2`, orgID, id))
	return p, notFound(c.wrap(err, "project"), "Project")
}

// UpdateProject saves name, description and settings.
func (c *Conn) UpdateProject(ctx context.Context, p *gatehouse.Project) error {
	_, err := c.exec(ctx, `UPDATE projects SET name = $3, description = $4, settings = $5, updated_at = $6 WHERE org_id = $1 AND id = $2`,
		p.OrgID, p.ID, p.Name, p.Description, string(p.Settings), ts(p.UpdatedAt))
	return err
}

// DeleteProject removes a project and its folders.
func (c *Conn) DeleteProject(ctx context.Context, orgID, id string) error {
	if _, err := c.exec(ctx, `DELETE FROM folders WHERE org_id = $1 AND project_id = $2`, orgID, id); err != nil {
		return err
	}
	_, err := c.exec(ctx, `DELETE FROM projects WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

// ListProjects lists an organization's projects, newest first. When ids is
// non-nil only those projects are listed.
func (c *Conn) ListProjects(ctx context.Context, orgID string, p gatehouse.PageRequest) ([]*gatehouse.Project, error) {
	q, args := keyset(`SELECT `+projectColumns+` FROM projects WHERE org_id = $1`, []any{orgID}, p)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list projects")
	}
	defer rows.Close()
	var out []*gatehouse.Project
	for rows.Next() {
		pr, err := scanProject(rows)
		if err != nil {
			return nil, c.wrap(err, "scan project")
		}
		out = append(out, pr)
	}
	return out, c.wrap(rows.Err(), "projects rows")
}

// ExistingProjects returns which of ids are projects of the organization,
// in one query.
func (c *Conn) ExistingProjects(ctx context.Context, orgID string, ids []string) (map[string]bool, error) {
	found := map[string]bool{}
	if len(ids) == 0 {
		return found, nil
	}
	q, args := inList(`SELECT id FROM projects WHERE org_id = $1 AND id IN `, []any{orgID}, ids)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "existing projects")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, c.wrap(err, "scan id")
		}
		found[id] = true
	}
	return found, c.wrap(rows.Err(), "rows")
}

// ProjectNames returns the names of the organization's projects among ids.
func (c *Conn) ProjectNames(ctx context.Context, orgID string, ids []string) (map[string]string, error) {
	names := map[string]string{}
	if len(ids) == 0 {
		return names, nil
	}
	q, args := inList(`SELECT id, name FROM projects WHERE org_id = $1 AND id IN `, []any{orgID}, ids)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "project names")
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, c.wrap(err, "scan name")
		}
		names[id] = name
	}
	return names, c.wrap(rows.Err(), "rows")
}

// OrgProjectIDs lists every project id of an organization.
func (c *Conn) OrgProjectIDs(ctx context.Context, orgID string) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT id FROM projects WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, c.wrap(err, "project ids")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, c.wrap(err, "scan id")
		}
		out = append(out, id)
	}
	return out, c.wrap(rows.Err(), "rows")
}
