package web

// Invite Member for many at once: addresses pasted into the form (one per
// line, or separated by commas) get the same access; an uploaded CSV
// (email,name,role) gives each row its own. Both go through the bulk
// service, each row refused or invited on its own, and the page after
// lists every row's outcome.

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// maxCSVBytes bounds an uploaded CSV (500 rows fit many times over).
const maxCSVBytes = 1 << 20

type bulkResultRow struct {
	Email   string
	Name    string
	OK      bool
	Status  int
	Message string
	Expires string
}

type bulkResultsData struct {
	Rows             []bulkResultRow
	Invited, Refused int
	Source           string // "pasted" or "csv"
}

// splitAddresses reads pasted addresses: one per line, or separated by
// commas, semicolons or spaces; blanks dropped.
func splitAddresses(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
}

// inviteMany sends the invite form's access to every pasted address.
func (h *Handler) inviteMany(rc *reqCtx, f *form, st *accessState, in service.InviteInput, addrs []string) {
	if len(addrs) > service.MaxBulkInvitations {
		f.Set("emails", "Paste at most 500 addresses at once.")
		f.Error = "Please correct the fields marked below."
		h.showInvite(rc, f, st, nil, http.StatusBadRequest)
		return
	}
	rows := make([]service.InviteInput, len(addrs))
	for i, a := range addrs {
		row := in
		row.Email, row.Name = a, ""
		rows[i] = row
	}
	res, err := h.svc.Invitations.CreateBulk(rc.r.Context(), rc.Caller, rows)
	if err != nil {
		status := f.apply(err)
		h.showInvite(rc, f, st, nil, status)
		return
	}
	h.showBulkResults(rc, rows, res, "pasted")
}

// inviteCSV reads an uploaded email,name,role file and invites each row.
func (h *Handler) inviteCSV(rc *reqCtx) {
	r := rc.r
	r.Body = http.MaxBytesReader(rc.w, r.Body, maxCSVBytes+64<<10)
	if err := r.ParseMultipartForm(maxCSVBytes); err != nil {
		h.csvFailed(rc, "The upload could not be read: choose a CSV file of at most 1 MiB.")
		return
	}
	file, _, err := r.FormFile("csv")
	if err != nil {
		h.csvFailed(rc, "Choose a CSV file to upload.")
		return
	}
	defer file.Close()
	rows, err := service.ParseInvitationsCSV(io.LimitReader(file, maxCSVBytes))
	if err != nil {
		h.csvFailed(rc, gatehouse.AsError(err).Message)
		return
	}
	if len(rows) == 0 {
		h.csvFailed(rc, "The file has no rows: write one invitation per line as email,name,role.")
		return
	}
	res, err := h.svc.Invitations.CreateBulk(r.Context(), rc.Caller, rows)
	if err != nil {
		var e *gatehouse.Error
		if errors.As(err, &e) && statusOf(e.Code) < 500 {
			h.csvFailed(rc, e.Message)
			return
		}
		h.failPage(rc.w, r, rc, err)
		return
	}
	h.showBulkResults(rc, rows, res, "csv")
}

// csvFailed shows the invite page with the upload's problem.
func (h *Handler) csvFailed(rc *reqCtx, msg string) {
	f := newForm(nil)
	f.Set("csv", msg)
	f.Error = "The CSV file was not used: " + msg
	h.showInvite(rc, f, newAccessState(), nil, http.StatusBadRequest)
}

func (h *Handler) showBulkResults(rc *reqCtx, rows []service.InviteInput, res []service.BulkRow, source string) {
	d := bulkResultsData{Source: source}
	for i, row := range res {
		out := bulkResultRow{Email: rows[i].Email, Name: rows[i].Name}
		if row.Err != nil {
			e := gatehouse.AsError(row.Err)
			out.Status = statusOf(e.Code)
			out.Message = e.Message
			if first, ok := e.Extra["duplicate_of"].(int); ok && e.Reason == "duplicate_in_request" {
				out.Message = "Already on row " + strconv.Itoa(first+1) + " of this list."
			}
			if len(e.Fields) > 0 {
				f := e.Fields[0]
				label := f.Field
				if j := strings.LastIndexByte(label, '.'); j >= 0 {
					label = label[j+1:]
				}
				out.Message = messageFor(labelOf(label), f.Message)
			}
			d.Refused++
		} else {
			out.OK, out.Status = true, http.StatusCreated
			out.Expires = row.Invitation.ExpiresAt.UTC().Format("2 Jan 2006")
			d.Invited++
		}
		d.Rows = append(d.Rows, out)
	}
	p := rc.page("Invitations sent", "members")
	p.Data = d
	status := http.StatusOK
	if d.Invited == 0 {
		status = http.StatusUnprocessableEntity
	}
	h.renderStatus(rc.w, rc.r, status, "invite-results", p)
}

// labelOf names a field for a message ("email" → "Email").
func labelOf(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	if field == "" {
		return field
	}
	return strings.ToUpper(field[:1]) + field[1:]
}
