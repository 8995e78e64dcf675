package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

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

// parseBulkCSV reads email,name,role rows.
func parseBulkCSV(body io.Reader) ([]service.InviteInput, error) {
	cr := csv.NewReader(body)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []service.InviteInput
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The body is larger than 1 MiB.")
		}
		if err != nil {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The CSV is malformed: %v.", err)
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			continue // the header
		}
		if len(rec) > 3 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "CSV line %d has %d columns; expected email,name,role.", line, len(rec))
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := service.InviteInput{Email: strings.TrimSpace(rec[0])}
		if len(rec) > 1 {
			row.Name = strings.TrimSpace(rec[1])
		}
		if len(rec) > 2 {
			row.Role = strings.TrimSpace(rec[2])
		}
		rows = append(rows, row)
		if len(rows) > service.MaxBulkInvitations {
			return nil, gatehouse.Invalid("The request has invalid fields.", gatehouse.FieldError{Field: "invitations", Message: fmt.Sprintf("must list from 1 to %d invitations", service.MaxBulkInvitations)})
		}
	}
	return rows, nil
}
