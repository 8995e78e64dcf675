package service

// Bulk invitations: many single invitations in one transaction, each row
// validated and authorized exactly like a single create (it runs the same
// code, in a savepoint of its own), the rows that pass kept together.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxBulkInvitations bounds one bulk request.
const MaxBulkInvitations = 500

// BulkRow is the outcome of one row: the invitation, or the refusal a
// single create would have given (field paths under invitations[i]).
type BulkRow struct {
	Invitation *InvitationView
	Err        error
}

// CreateBulk invites every row that passes, in one transaction; the others
// get their own refusal. The same address twice in one request is refused
// on the later row (409 duplicate_in_request). Each row counts against the
// daily limit. Needs members write for the request as a whole.
func (s *Invitations) CreateBulk(ctx context.Context, c *Caller, rows []InviteInput) ([]BulkRow, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows) > MaxBulkInvitations {
		return nil, fields(&gatehouse.FieldError{Field: "invitations", Message: fmt.Sprintf("must list from 1 to %d invitations", MaxBulkInvitations)})
	}
	out := make([]BulkRow, len(rows))
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		// The organization's lock first, as every single create takes it.
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		inner := store.WithTx(ctx, tx)
		seen := map[string]int{}
		for i, in := range rows {
			out[i] = BulkRow{}
			if email, ferr := ValidateEmail("email", in.Email); ferr == nil {
				key := store.NormalizeEmail(email)
				if first, dup := seen[key]; dup {
					out[i].Err = &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "duplicate_in_request",
						Message: fmt.Sprintf("This address is already invited by invitations[%d] of this request.", first), Extra: map[string]any{"duplicate_of": first}}
					continue
				}
				seen[key] = i
			}
			v, err := s.Create(inner, c, in)
			if err != nil {
				switch gatehouse.ErrorCode(err) {
				case gatehouse.EINTERNAL, gatehouse.EUNAVAILABLE:
					return err // not the row's fault: the whole request fails
				}
				out[i].Err = underRow(err, i)
				continue
			}
			out[i].Invitation = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// underRow moves a refusal's field paths under invitations[i].
func underRow(err error, i int) error {
	e := gatehouse.AsError(err)
	if len(e.Fields) == 0 {
		return e
	}
	c := *e
	c.Fields = make([]gatehouse.FieldError, len(e.Fields))
	for j, f := range e.Fields {
		f.Field = fmt.Sprintf("invitations[%d].%s", i, f.Field)
		c.Fields[j] = f
	}
	return &c
}

// ParseInvitationsCSV reads email,name,role rows (a first line starting
// with "email" is a header; blank lines are skipped), for the API's
// text/csv body and the dashboard's upload. A read error is kept as the
// cause, so a caller can tell a body that was too large.
func ParseInvitationsCSV(body io.Reader) ([]InviteInput, error) {
	cr := csv.NewReader(body)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []InviteInput
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Message: fmt.Sprintf("The CSV is malformed: %v.", err), Cause: err}
			}
			return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Message: "The CSV could not be read.", Cause: err}
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
		row := InviteInput{Email: strings.TrimSpace(rec[0])}
		if len(rec) > 1 {
			row.Name = strings.TrimSpace(rec[1])
		}
		if len(rec) > 2 {
			row.Role = strings.TrimSpace(rec[2])
		}
		rows = append(rows, row)
		if len(rows) > MaxBulkInvitations {
			return nil, fields(&gatehouse.FieldError{Field: "invitations", Message: fmt.Sprintf("must list from 1 to %d invitations", MaxBulkInvitations)})
		}
	}
	return rows, nil
}
