package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxSettingsBytes caps a project's settings object.
const MaxSettingsBytes = 64 << 10

// Projects manages projects.
type Projects struct {
	*base
	access *Access
}

// fullAccessEverywhere is the right to create and delete projects:
// full-access on every project ("*").
func fullAccessEverywhere(orgID string) *authz.Set {
	return authz.Compile(orgID, []authz.Source{{Label: "required", Grants: []gatehouse.Grant{{
		EntityType: gatehouse.EntityProjects, EntityID: gatehouse.AllProjects, Name: gatehouse.ProjectFullAccess, Permission: []gatehouse.AreaGrant{},
	}}}}, nil)
}

func validateDescription(field, d string) (string, *gatehouse.FieldError) {
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > 2000 {
		return "", &gatehouse.FieldError{Field: field, Message: "must be at most 2000 characters"}
	}
	return d, nil
}

// ValidateSettings checks that raw is one JSON object of at most 64 KiB.
func ValidateSettings(field string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) > MaxSettingsBytes {
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "Settings are larger than 64 KiB.")
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, gatehouse.Invalid("Settings must be a JSON object.", gatehouse.FieldError{Field: field, Message: "must be a JSON object"})
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, trimmed); err != nil {
		return nil, gatehouse.Invalid("Settings must be a JSON object.", gatehouse.FieldError{Field: field, Message: "must be a JSON object"})
	}
	return compact.Bytes(), nil
}

// List lists the projects the caller reaches.
func (s *Projects) List(ctx context.Context, c *Caller, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Project], error) {
	// Read pages until one is full of visible projects or the list ends, so
	// members with a few projects still get full pages.
	var out []*gatehouse.Project
	scan := page
	for {
		ps, err := s.store.R().ListProjects(ctx, c.OrgID, scan)
		if err != nil {
			return gatehouse.Page[*gatehouse.Project]{}, err
		}
		more := len(ps) == scan.FetchLimit()
		if more {
			ps = ps[:len(ps)-1]
		}
		for _, p := range ps {
			if c.Rights.Reaches(p.ID) {
				out = append(out, p)
			}
		}
		if len(out) > page.Limit || !more {
			break
		}
		last := ps[len(ps)-1]
		scan.After = &gatehouse.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return gatehouse.MakePage(out, page, func(p *gatehouse.Project) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: p.CreatedAt, ID: p.ID}
	}), nil
}

// ProjectInput is a create or update; nil fields are left as they are.
type ProjectInput struct {
	Name        *string
	Description *string
	Settings    json.RawMessage
}

// Create makes a project; it needs full-access on every project.
func (s *Projects) Create(ctx context.Context, c *Caller, in ProjectInput) (*gatehouse.Project, error) {
	if err := c.RequireCovers(fullAccessEverywhere(c.OrgID), "create projects"); err != nil {
		return nil, err
	}
	var name, desc string
	var nerr, derr *gatehouse.FieldError
	if in.Name == nil {
		nerr = &gatehouse.FieldError{Field: "name", Message: "is required"}
	} else {
		name, nerr = validateName("name", *in.Name, true)
	}
	if in.Description != nil {
		desc, derr = validateDescription("description", *in.Description)
	}
	if err := fields(nerr, derr); err != nil {
		return nil, err
	}
	settings := json.RawMessage(`{}`)
	if in.Settings != nil {
		var err error
		if settings, err = ValidateSettings("settings", in.Settings); err != nil {
			return nil, err
		}
	}
	now := s.now()
	p := &gatehouse.Project{ID: newID(), OrgID: c.OrgID, Name: name, Description: desc, Settings: settings, CreatedAt: now, UpdatedAt: now}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "project.created", "project", p.ID, map[string]any{"name": p.Name}); err != nil {
			return err
		}
		return tx.Notify(ctx, treeChanged(c.OrgID))
	})
	return p, err
}

// get loads a project of the caller's organization the caller reaches.
func (s *Projects) get(ctx context.Context, conn *store.Conn, c *Caller, id string) (*gatehouse.Project, error) {
	if !authz.IsUUID(id) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Project not found.")
	}
	p, err := conn.Project(ctx, c.OrgID, id)
	if err != nil {
		return nil, err
	}
	if !c.Rights.Reaches(p.ID) {
		return nil, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden", Message: "You have no access to this project."}
	}
	return p, nil
}

// Get returns a project the caller reaches.
func (s *Projects) Get(ctx context.Context, c *Caller, id string) (*gatehouse.Project, error) {
	return s.get(ctx, s.store.R(), c, id)
}

// Update changes name, description or settings: the project's settings write.
func (s *Projects) Update(ctx context.Context, c *Caller, id string, in ProjectInput) (*gatehouse.Project, error) {
	var p *gatehouse.Project
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if p, err = s.get(ctx, tx, c, id); err != nil {
			return err
		}
		if err := c.Require(authz.Project(p.ID), gatehouse.AreaSettings, authz.Write); err != nil {
			return err
		}
		changes := map[string]any{}
		var ferrs []*gatehouse.FieldError
		if in.Name != nil {
			n, ferr := validateName("name", *in.Name, true)
			ferrs = append(ferrs, ferr)
			if ferr == nil && n != p.Name {
				changes["name"] = map[string]string{"before": p.Name, "after": n}
				p.Name = n
			}
		}
		if in.Description != nil {
			d, ferr := validateDescription("description", *in.Description)
			ferrs = append(ferrs, ferr)
			if ferr == nil && d != p.Description {
				changes["description"] = map[string]string{"before": p.Description, "after": d}
				p.Description = d
			}
		}
		if err := fields(ferrs...); err != nil {
			return err
		}
		if in.Settings != nil {
			st, err := ValidateSettings("settings", in.Settings)
			if err != nil {
				return err
			}
			if !bytes.Equal(st, p.Settings) {
				changes["settings"] = "changed"
				p.Settings = st
			}
		}
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = s.now()
		if err := tx.UpdateProject(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "project.updated", "project", p.ID, changes)
	})
	return p, err
}

// Settings returns a project's settings: its settings read.
func (s *Projects) Settings(ctx context.Context, c *Caller, id string) (json.RawMessage, error) {
	p, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := c.Require(authz.Project(p.ID), gatehouse.AreaSettings, authz.Read); err != nil {
		return nil, err
	}
	return p.Settings, nil
}

// Delete removes a project and its folders; it needs full-access on every project.
func (s *Projects) Delete(ctx context.Context, c *Caller, id string) error {
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		if !authz.IsUUID(id) {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "Project not found.")
		}
		p, err := tx.Project(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		if err := c.RequireCovers(fullAccessEverywhere(c.OrgID), "delete projects"); err != nil {
			return err
		}
		// The project before its folders, in the order moves lock them.
		if err := tx.LockFolderTree(ctx, c.OrgID, p.ID); err != nil {
			return err
		}
		if err := tx.DeleteProject(ctx, c.OrgID, p.ID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "project.deleted", "project", p.ID, map[string]any{"name": p.Name}); err != nil {
			return err
		}
		return tx.Notify(ctx, treeChanged(c.OrgID))
	})
}
