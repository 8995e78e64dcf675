package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerLookups() {
	s.handle("POST /v1/members/permissions/lookup-resources", s.scoped(s.handleLookupResources))
	s.handle("POST /v1/members/permissions/lookup-subjects", s.scoped(s.handleLookupSubjects))
	// GET /v1/members/{user_id}/access would conflict in ServeMux with GET
	// /v1/members/invitations/{id} (both match .../invitations/access), so
	// the route is the wider {user_id}/{part}, answering only "access".
	s.routes = append(s.routes, "GET /v1/members/{user_id}/access")
	s.mux.HandleFunc("GET /v1/members/{user_id}/{part}", s.scoped(s.handleMemberAccess))
	s.handle("GET /v1/members/access.csv", s.scoped(s.handleAccessReview))
}

type resourceJSON struct {
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	Via        string `json:"via"`
}

// handleLookupResources lists what a member may reach; paged like every
// list (?limit=, ?cursor=).
func (s *Server) handleLookupResources(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		UserID     string `json:"user_id"`
		EntityType string `json:"entity_type"`
		ProjectID  string `json:"project_id"`
		Name       string `json:"name"`
		Action     string `json:"action"`
	}
	if !decode(w, r, &in) {
		return
	}
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[service.Resource], error) {
		return s.Services.Lookups.LookupResources(r.Context(), c, service.ResourceQuery{
			UserID: in.UserID, EntityType: in.EntityType, ProjectID: in.ProjectID, Name: in.Name, Action: in.Action}, page)
	}, func(v service.Resource) resourceJSON {
		return resourceJSON{EntityType: v.EntityType, EntityID: v.EntityID, Via: v.Via}
	})
}

type subjectJSON struct {
	Kind  string           `json:"kind"`
	ID    string           `json:"id"`
	Name  string           `json:"name"`
	Email string           `json:"email,omitempty"`
	Via   []service.Reason `json:"via"`
}

// handleLookupSubjects lists who may do an action on a resource, and why.
func (s *Server) handleLookupSubjects(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		EntityType string `json:"entity_type"`
		EntityID   string `json:"entity_id"`
		Name       string `json:"name"`
		Action     string `json:"action"`
	}
	if !decode(w, r, &in) {
		return
	}
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[service.Subject], error) {
		return s.Services.Lookups.LookupSubjects(r.Context(), c, service.SubjectQuery{
			EntityType: in.EntityType, EntityID: in.EntityID, Name: in.Name, Action: in.Action}, page)
	}, func(v service.Subject) subjectJSON {
		return subjectJSON{Kind: v.Kind, ID: v.ID, Name: v.Name, Email: v.Email, Via: v.Via}
	})
}

func (s *Server) handleMemberAccess(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if r.PathValue("user_id") == "permissions" { // check and look-ups: POST only
		w.Header().Set("Allow", "POST")
		respond.Error(w, r, gatehouse.Errorf(gatehouse.EMETHOD, "Method %s is not allowed here; allowed: POST.", r.Method))
		return
	}
	switch r.PathValue("part") {
	case "access":
	case "permissions": // PUT only, as before the wider pattern
		w.Header().Set("Allow", "PUT")
		respond.Error(w, r, gatehouse.Errorf(gatehouse.EMETHOD, "Method %s is not allowed here; allowed: PUT.", r.Method))
		return
	default:
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such endpoint."))
		return
	}
	v, err := s.Services.Lookups.MemberAccess(r.Context(), c, r.PathValue("user_id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, v)
}

// handleAccessReview streams every member's access as CSV.
func (s *Server) handleAccessReview(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	review, err := s.Services.Lookups.Review(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="access-review.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := review.WriteCSV(w); err != nil {
		s.Log.WarnContext(r.Context(), "access review: write failed", "err", err)
	}
}
