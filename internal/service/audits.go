package service

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Audits reads an organization's audit log.
type Audits struct {
	*base
}

var actionFilterRe = regexp.MustCompile(`^[a-z_]+(\.([a-z_]+)?)?$`)

func (s *Audits) filter(c *Caller, f store.AuditFilter) (store.AuditFilter, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAudit, authz.Read); err != nil {
		return f, err
	}
	f.OrgID = c.OrgID
	if f.Action != "" && !actionFilterRe.MatchString(f.Action) {
		return f, gatehouse.Invalid("Invalid action filter.", gatehouse.FieldError{Field: "action", Message: "must be an action like invitation.created, or a prefix like invitation."})
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, gatehouse.Invalid("Invalid time range.", gatehouse.FieldError{Field: "from", Message: "must be before to"})
	}
	return f, nil
}

// List returns one page of events, newest first: audit read.
func (s *Audits) List(ctx context.Context, c *Caller, f store.AuditFilter) (gatehouse.Page[*gatehouse.AuditEvent], error) {
	f, err := s.filter(c, f)
	if err != nil {
		return gatehouse.Page[*gatehouse.AuditEvent]{}, err
	}
	evs, err := s.store.R().ListAudit(ctx, f)
	if err != nil {
		return gatehouse.Page[*gatehouse.AuditEvent]{}, err
	}
	return gatehouse.MakePage(evs, f.Page, func(e *gatehouse.AuditEvent) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: e.CreatedAt, ID: e.ID}
	}), nil
}

// Export streams every matching event to fn, newest first.
func (s *Audits) Export(ctx context.Context, c *Caller, f store.AuditFilter, fn func(*gatehouse.AuditEvent) error) error {
	f, err := s.filter(c, f)
	if err != nil {
		return err
	}
	return s.store.R().StreamAudit(ctx, f, fn)
}

// Verification is the result of checking a hash chain.
type Verification struct {
	OK     bool  `json:"ok"`
	Events int64 `json:"events"`
	// The first event that does not fit, and why.
	BrokenEvent *string `json:"broken_event,omitempty"`
	BrokenSeq   *int64  `json:"broken_seq,omitempty"`
	Reason      string  `json:"reason,omitempty"`
}

var errStop = errors.New("stop")

// Verify recomputes the organization's hash chain: an edited event no longer
// hashes to its stored hash, a deleted one leaves a gap in the sequence, an
// inserted one breaks the link to its neighbour, and a truncated tail no
// longer meets the recorded head.
func (s *Audits) Verify(ctx context.Context, c *Caller) (*Verification, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAudit, authz.Read); err != nil {
		return nil, err
	}
	conn := s.store.R()
	headSeq, headHash, err := conn.ChainHead(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	v := &Verification{OK: true}
	prev := store.GenesisHash
	var seq int64
	broken := func(e *gatehouse.AuditEvent, reason string) error {
		v.OK, v.Reason = false, reason
		id, n := e.ID, e.Seq
		v.BrokenEvent, v.BrokenSeq = &id, &n
		return errStop
	}
	err = conn.StreamChain(ctx, c.OrgID, func(e *gatehouse.AuditEvent) error {
		seq++
		v.Events++
		switch {
		case e.Seq != seq:
			return broken(e, "sequence gap: an event before this one is missing")
		case e.PrevHash != prev:
			return broken(e, "link broken: prev_hash does not match the previous event")
		case store.AuditHash(e) != e.Hash:
			return broken(e, "contents changed: the event does not match its hash")
		}
		prev = e.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if v.OK && (seq != headSeq || prev != headHash) {
		v.OK, v.Reason = false, "the chain ends before its recorded head: events at the end are missing"
		n := seq + 1
		v.BrokenSeq = &n
	}
	return v, nil
}

// SummaryOf decodes an event's summary for display.
func SummaryOf(e *gatehouse.AuditEvent) any {
	var v any
	if json.Unmarshal(e.Summary, &v) != nil {
		return map[string]any{}
	}
	return v
}
