package api

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerProjects() {
	s.handle("GET /v1/projects", s.scoped(s.handleListProjects))
	s.handle("POST /v1/projects", s.scoped(s.handleCreateProject))
	s.handle("GET /v1/projects/{id}", s.scoped(s.handleGetProject))
	s.handle("PATCH /v1/projects/{id}", s.scoped(s.handleUpdateProject))
	s.handle("DELETE /v1/projects/{id}", s.scoped(s.handleDeleteProject))
	s.handle("GET /v1/projects/{id}/settings", s.scoped(s.handleGetProjectSettings))
	s.handle("PUT /v1/projects/{id}/settings", s.scoped(s.handlePutProjectSettings))
}

type projectJSON struct {
	ID             string          `json:"id"`
	OrganizationID string          `json:"organization_id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Settings       json.RawMessage `json:"settings"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

func toProjectJSON(p *gatehouse.Project) projectJSON {
	return projectJSON{ID: p.ID, OrganizationID: p.OrgID, Name: p.Name, Description: p.Description, Settings: p.Settings, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type projectIn struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Settings    json.RawMessage `json:"settings"`
}

func (in projectIn) input() service.ProjectInput {
	return service.ProjectInput{Name: in.Name, Description: in.Description, Settings: in.Settings}
}

func (s *Server) handleListProjects(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Project], error) {
		return s.Services.Projects.List(r.Context(), c, page)
	}, toProjectJSON)
}

func (s *Server) handleCreateProject(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in projectIn
	if !decode(w, r, &in) {
		return
	}
	p, err := s.Services.Projects.Create(r.Context(), c, in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toProjectJSON(p))
}

func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	p, err := s.Services.Projects.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toProjectJSON(p))
}

func (s *Server) handleUpdateProject(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in projectIn
	if !decode(w, r, &in) {
		return
	}
	p, err := s.Services.Projects.Update(r.Context(), c, r.PathValue("id"), in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toProjectJSON(p))
}

func (s *Server) handleDeleteProject(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Projects.Delete(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleGetProjectSettings(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	st, err := s.Services.Projects.Settings(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, st)
}

// handlePutProjectSettings replaces the settings with the body: any JSON
// object up to 64 KiB.
func (s *Server) handlePutProjectSettings(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if !respond.IsJSONContentType(r.Header.Get("Content-Type")) {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The request body must be JSON (Content-Type: application/json)."))
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxSettingsBytes))
	if err != nil {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ETOOLARGE, "Settings are larger than 64 KiB."))
		return
	}
	p, err := s.Services.Projects.Update(r.Context(), c, r.PathValue("id"), service.ProjectInput{Settings: raw})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p.Settings)
}
