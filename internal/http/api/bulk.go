package api

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerBulk() {
	s.handle("POST /v1/members/invitations/bulk", s.scoped(s.handleBulkInvitations))
}

type bulkRowJSON struct {
	Email          string            `json:"email"`
	Name           string            `json:"name"`
	Role           string            `json:"role"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	Authentication string            `json:"authentication"`
	ExpiresInDays  *int              `json:"expires_in_days"`
	RedirectURL    string            `json:"redirect_url"`
}

// handleBulkInvitations takes {"invitations":[…]} or text/csv (email,name,role;
// a first line starting with "email" is a header) and answers one result per
// row, in order.
func (s *Server) handleBulkInvitations(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var rows []service.InviteInput
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "text/csv" {
		var err error
		if rows, err = parseBulkCSV(http.MaxBytesReader(w, r.Body, respond.MaxBodyBytes)); err != nil {
			respond.Error(w, r, err)
			return
		}
	} else {
		var in struct {
			Invitations []bulkRowJSON `json:"invitations"`
		}
		if !decode(w, r, &in) {
			return
		}
		for _, row := range in.Invitations {
			rows = append(rows, service.InviteInput{Email: row.Email, Name: row.Name, Role: row.Role, Grants: row.Permissions,
				Authentication: row.Authentication, ExpiresInDays: row.ExpiresInDays, RedirectURL: row.RedirectURL})
		}
	}
	res, err := s.Services.Invitations.CreateBulk(r.Context(), c, rows)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]map[string]any, len(res))
	rid := respond.RequestIDFunc(r.Context())
	for i, row := range res {
		if row.Err != nil {
			body := respond.ProblemBody(row.Err, rid)
			out[i] = map[string]any{"status": body["status"], "problem": body}
			continue
		}
		out[i] = map[string]any{"status": http.StatusCreated, "invitation": toInvitationJSON(row.Invitation)}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"results": out})
}

// parseBulkCSV reads email,name,role rows (service.ParseInvitationsCSV),
// a body over the limit being 413.
func parseBulkCSV(body io.Reader) ([]service.InviteInput, error) {
	rows, err := service.ParseInvitationsCSV(body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The body is larger than 1 MiB.")
	}
	return rows, err
}
