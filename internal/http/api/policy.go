package api

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerPolicy() {
	s.handle("GET /v1/organizations/{id}/policy", s.orgScoped(s.handleGetPolicy))
	s.handle("PATCH /v1/organizations/{id}/policy", s.orgScoped(s.handleUpdatePolicy))
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	p, err := s.Services.Orgs.GetPolicy(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (s *Server) handleUpdatePolicy(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		AllowedDomains    *[]string       `json:"allowed_domains"`
		InvitationsPerDay *int            `json:"invitations_per_day"`
		DefaultExpiryDays *int            `json:"default_expiry_days"`
		MaxExpiryDays     *int            `json:"max_expiry_days"`
		SeatLimit         json.RawMessage `json:"seat_limit"`
		WhoCanInvite      *string         `json:"who_can_invite"`
		RedirectURL       *string         `json:"redirect_url"`
		RemindAfterDays   json.RawMessage `json:"remind_after_days"`
		RequireMFA        *bool           `json:"require_mfa"`
	}
	if !decode(w, r, &in) {
		return
	}
	patch := service.PolicyPatch{AllowedDomains: in.AllowedDomains, InvitationsPerDay: in.InvitationsPerDay,
		DefaultExpiryDays: in.DefaultExpiryDays, MaxExpiryDays: in.MaxExpiryDays, WhoCanInvite: in.WhoCanInvite,
		RedirectURL: in.RedirectURL, RequireMFA: in.RequireMFA}
	switch {
	case len(in.RemindAfterDays) == 0:
	case string(in.RemindAfterDays) == "null":
		patch.ClearRemind = true
	default:
		var n int
		if err := json.Unmarshal(in.RemindAfterDays, &n); err != nil {
			respond.Error(w, r, gatehouse.Invalid("The request has invalid fields.", gatehouse.FieldError{Field: "remind_after_days", Message: "must be a whole number or null"}))
			return
		}
		patch.RemindAfterDays = &n
	}
	switch {
	case len(in.SeatLimit) == 0:
	case string(in.SeatLimit) == "null":
		patch.ClearSeatLimit = true
	default:
		var n int
		if err := json.Unmarshal(in.SeatLimit, &n); err != nil {
			respond.Error(w, r, gatehouse.Invalid("The request has invalid fields.", gatehouse.FieldError{Field: "seat_limit", Message: "must be a whole number or null"}))
			return
		}
		patch.SeatLimit = &n
	}
	p, err := s.Services.Orgs.UpdatePolicy(r.Context(), c, patch)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}
