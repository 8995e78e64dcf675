package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse"

	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The organization's second-factor policy, a piece of its own so that it
// merges with a wider policy document.
func (s *Server) registerMFAPolicy() {
	s.handle("GET /v1/organizations/{id}/policy/mfa", s.orgScoped(s.handleGetMFAPolicy))
	s.handle("PUT /v1/organizations/{id}/policy/mfa", s.orgScoped(s.handleSetMFAPolicy))
}

func mfaPolicyJSON(p *service.MFAPolicy) map[string]any {
	without := make([]map[string]string, 0, len(p.WithoutMFA))
	for _, m := range p.WithoutMFA {
		without = append(without, map[string]string{"user_id": m.UserID, "email": m.Email, "name": m.Name})
	}
	return map[string]any{"require_mfa": p.RequireMFA, "members_without_mfa": without}
}

func (s *Server) handleGetMFAPolicy(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	p, err := s.Services.Orgs.MFAPolicy(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, mfaPolicyJSON(p))
}

func (s *Server) handleSetMFAPolicy(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		RequireMFA *bool `json:"require_mfa"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.RequireMFA == nil {
		respond.Error(w, r, gatehouse.Invalid("require_mfa is required.", gatehouse.FieldError{Field: "require_mfa", Message: "is required"}))
		return
	}
	p, err := s.Services.Orgs.SetMFAPolicy(r.Context(), c, *in.RequireMFA)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, mfaPolicyJSON(p))
}

// listMembersMFA lists members, each with mfa_enabled (looked up once per page).
func (s *Server) listMembersMFA(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var on map[string]bool
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*service.MemberView], error) {
		pg, err := s.Services.Members.List(r.Context(), c, r.URL.Query().Get("q"), page)
		if err != nil {
			return pg, err
		}
		ids := make([]string, len(pg.Items))
		for i, v := range pg.Items {
			ids[i] = v.UserID
		}
		on, err = s.Services.Members.MFAEnabled(r.Context(), ids)
		return pg, err
	}, func(v *service.MemberView) memberJSON {
		out := toMemberJSON(v)
		out.MFAEnabled = on[v.UserID]
		return out
	})
}

// memberWithMFA converts one member with its mfa_enabled (false when the
// look-up fails: the flag is advisory, the member itself is the answer).
func (s *Server) memberWithMFA(r *http.Request, v *service.MemberView) memberJSON {
	out := toMemberJSON(v)
	if on, err := s.Services.Members.MFAEnabled(r.Context(), []string{v.UserID}); err == nil {
		out.MFAEnabled = on[v.UserID]
	}
	return out
}
