package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerFolders() {
	s.handle("GET /v1/projects/{pid}/folders", s.scoped(s.handleListFolders))
	s.handle("POST /v1/projects/{pid}/folders", s.scoped(s.handleCreateFolder))
	s.handle("GET /v1/projects/{pid}/folders/tree", s.scoped(s.handleFolderTree))
	s.handle("POST /v1/projects/{pid}/folders/move", s.scoped(s.handleBulkMoveFolders))
	s.handle("GET /v1/projects/{pid}/folders/{id}", s.scoped(s.handleGetFolder))
	s.handle("PATCH /v1/projects/{pid}/folders/{id}", s.scoped(s.handleRenameFolder))
	s.handle("DELETE /v1/projects/{pid}/folders/{id}", s.scoped(s.handleDeleteFolder))
	s.handle("POST /v1/projects/{pid}/folders/{id}/move", s.scoped(s.handleMoveFolder))
}

type folderJSON struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	ParentID  *string   `json:"parent_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toFolderJSON(f *gatehouse.Folder) folderJSON {
	out := folderJSON{ID: f.ID, ProjectID: f.ProjectID, Name: f.Name, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	if f.ParentID != "" {
		p := f.ParentID
		out.ParentID = &p
	}
	return out
}

// optionalID reads a JSON field that may be a string id or null (the root).
type optionalID struct {
	set   bool
	value string
}

func (o *optionalID) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.value = ""
		return nil
	}
	return json.Unmarshal(b, &o.value)
}

func (s *Server) handleListFolders(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Folder], error) {
		return s.Services.Folders.List(r.Context(), c, r.PathValue("pid"), r.URL.Query().Get("parent_id"), page)
	}, toFolderJSON)
}

func (s *Server) handleCreateFolder(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Name     string     `json:"name"`
		ParentID optionalID `json:"parent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	f, err := s.Services.Folders.Create(r.Context(), c, r.PathValue("pid"), in.Name, in.ParentID.value)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toFolderJSON(f))
}

func (s *Server) handleGetFolder(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	f, err := s.Services.Folders.Get(r.Context(), c, r.PathValue("pid"), r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toFolderJSON(f))
}

func (s *Server) handleRenameFolder(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &in) {
		return
	}
	f, err := s.Services.Folders.Rename(r.Context(), c, r.PathValue("pid"), r.PathValue("id"), in.Name)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toFolderJSON(f))
}

func (s *Server) handleDeleteFolder(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	recursive := false
	switch v := r.URL.Query().Get("recursive"); v {
	case "", "false":
	case "true":
		recursive = true
	default:
		respond.Error(w, r, gatehouse.Invalid("Invalid recursive.", gatehouse.FieldError{Field: "recursive", Message: "must be true or false"}))
		return
	}
	if err := s.Services.Folders.Delete(r.Context(), c, r.PathValue("pid"), r.PathValue("id"), recursive); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleMoveFolder(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		ParentID optionalID `json:"parent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if !in.ParentID.set {
		respond.Error(w, r, gatehouse.Invalid("Say where to move the folder.", gatehouse.FieldError{Field: "parent_id", Message: "is required (null for the project's root)"}))
		return
	}
	moved, err := s.Services.Folders.Move(r.Context(), c, r.PathValue("pid"), []string{r.PathValue("id")}, in.ParentID.value)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toFolderJSON(moved[0]))
}

func (s *Server) handleBulkMoveFolders(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		FolderIDs []string   `json:"folder_ids"`
		ParentID  optionalID `json:"parent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if !in.ParentID.set {
		respond.Error(w, r, gatehouse.Invalid("Say where to move the folders.", gatehouse.FieldError{Field: "parent_id", Message: "is required (null for the project's root)"}))
		return
	}
	moved, err := s.Services.Folders.Move(r.Context(), c, r.PathValue("pid"), in.FolderIDs, in.ParentID.value)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]folderJSON, len(moved))
	for i, f := range moved {
		out[i] = toFolderJSON(f)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) handleFolderTree(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	tree, err := s.Services.Folders.Tree(r.Context(), c, r.PathValue("pid"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"project_id": r.PathValue("pid"), "data": tree})
}
