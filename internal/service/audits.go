package service

import (
	"context"
	"crypto/hmac"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Audits reads an organization's audit log.
type Audits struct {
	*base
}

var actionFilterRe = regexp.MustCompile(`^[a-z_]+(\.([a-z_]+)?)?$`)

func (s *Audits) filter(c *Caller, f gatehouse.AuditFilter) (gatehouse.AuditFilter, error) {
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
func (s *Audits) List(ctx context.Context, c *Caller, f gatehouse.AuditFilter) (gatehouse.Page[*gatehouse.AuditEvent], error) {
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
func (s *Audits) Export(ctx context.Context, c *Caller, f gatehouse.AuditFilter, fn func(*gatehouse.AuditEvent) error) error {
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
	// Pending counts events recorded but not linked into the chain yet
	// (PostgreSQL links them in a background step): each was checked
	// against its own seal, but a deleted one would leave no trace.
	Pending int64 `json:"pending"`
	// Head is the last event the check reached intact (seq 0 and the
	// genesis hash for an empty chain): a client may keep it as a checkpoint.
	Head ChainHead `json:"head"`
	// The first event that does not fit, and why.
	BrokenEvent *string `json:"broken_event,omitempty"`
	BrokenSeq   *int64  `json:"broken_seq,omitempty"`
	Reason      string  `json:"reason,omitempty"`
}

// ChainHead names one event of a chain by its position and seal.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

var checkpointRe = regexp.MustCompile(`^([0-9]{1,18}):([0-9a-f]{64})$`)

// ParseCheckpoint reads "N:HASH", a head a client saved earlier.
func ParseCheckpoint(v string) (*ChainHead, error) {
	m := checkpointRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(v)))
	if m == nil {
		return nil, gatehouse.Invalid("Invalid checkpoint.", gatehouse.FieldError{Field: "checkpoint", Message: "must be SEQ:HASH, a head answered by an earlier verification (seq, then 64 hex digits)"})
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return &ChainHead{Seq: n, Hash: m[2]}, nil
}

var errStop = errors.New("stop")

// Verify recomputes the organization's chain: an edited event no longer
// matches its seal, a deleted one leaves a gap in the sequence, an inserted
// one breaks the link to its neighbour, and a truncated tail no longer meets
// the recorded head. New events are sealed with HMAC under a key kept
// outside the database, so recomputing the chain needs that key; plain
// SHA-256 events verify only inside the prefix carried over at the upgrade,
// whose end is sealed. A checkpoint (a head saved earlier) must still be in
// the chain with the same seal: this catches a chain wiped, truncated, or
// rewritten by someone holding the key.
func (s *Audits) Verify(ctx context.Context, c *Caller, checkpoint *ChainHead) (*Verification, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAudit, authz.Read); err != nil {
		return nil, err
	}
	// Where events are linked by a background step (PostgreSQL), link the
	// committed ones first: the check then covers every event but those
	// committed after this point, reported as pending.
	if err := s.store.CatchUpOrgAudit(ctx, c.OrgID); err != nil {
		return nil, err
	}
	conn := s.store.R()
	headSeq, headHash, err := conn.ChainHead(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	legacySeq, legacySeal, err := conn.ChainLegacy(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	v := &Verification{OK: true, Head: ChainHead{Hash: store.GenesisHash}}
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
		if e.Seq != seq {
			return broken(e, "sequence gap: an event before this one is missing")
		}
		if e.PrevHash != prev {
			return broken(e, "link broken: prev_hash does not match the previous event")
		}
		if e.KeyID == "" && e.Seq > legacySeq {
			return broken(e, "unsealed event: only events written before HMAC sealing may carry a plain SHA-256 hash")
		}
		want, err := s.store.AuditSeal(e)
		if errors.Is(err, store.ErrUnknownAuditKey) {
			return broken(e, "sealed with key "+e.KeyID+", which is not configured (add the former secret key to GATEHOUSE_OLD_SECRET_KEYS)")
		}
		if err != nil {
			return err
		}
		if !hmac.Equal([]byte(want), []byte(e.Hash)) {
			return broken(e, "contents changed: the event does not match its seal")
		}
		if e.Seq == legacySeq {
			ok, err := s.store.CheckLegacySeal(c.OrgID, e.Seq, e.Hash, legacySeal)
			if err != nil && !errors.Is(err, store.ErrUnknownAuditKey) {
				return err
			}
			if !ok {
				return broken(e, "the end of the events carried over from before HMAC sealing does not match its seal")
			}
		}
		if checkpoint != nil && e.Seq == checkpoint.Seq && e.Hash != checkpoint.Hash {
			return broken(e, "checkpoint mismatch: the chain no longer holds this event with the checkpoint's hash (rewritten)")
		}
		prev = e.Hash
		v.Head = ChainHead{Seq: e.Seq, Hash: e.Hash}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if v.OK && legacySeq > seq {
		v.OK, v.Reason = false, "events carried over from before HMAC sealing are missing"
		n := seq + 1
		v.BrokenSeq = &n
	}
	if v.OK && (seq != headSeq || prev != headHash) {
		v.OK, v.Reason = false, "the chain ends before its recorded head: events at the end are missing"
		n := seq + 1
		v.BrokenSeq = &n
	}
	if v.OK && checkpoint != nil && checkpoint.Seq > seq {
		v.OK, v.Reason = false, "checkpoint mismatch: the chain ends before the checkpoint's event (wiped or truncated)"
		n := seq + 1
		v.BrokenSeq = &n
	}
	if v.OK && checkpoint != nil && checkpoint.Seq == 0 && checkpoint.Hash != store.GenesisHash {
		v.OK, v.Reason = false, "checkpoint mismatch: seq 0 is the empty chain, whose hash is 64 zeros"
	}
	if !v.OK {
		return v, nil
	}
	// Events not linked yet (committed after the catch-up above, or left out
	// by the chainer): each must still match its own seal.
	unchained := func(e *gatehouse.AuditEvent, reason string) error {
		v.OK, v.Reason = false, reason
		id := e.ID
		v.BrokenEvent = &id // no seq: it has no place in the chain yet
		return errStop
	}
	err = conn.UnchainedAudit(ctx, c.OrgID, func(e *gatehouse.AuditEvent) error {
		v.Pending++
		ok, err := s.store.CheckPreSeal(e)
		if errors.Is(err, store.ErrUnknownAuditKey) {
			return unchained(e, "not yet chained, and sealed with key "+e.KeyID+", which is not configured")
		}
		if err != nil {
			return err
		}
		if !ok {
			return unchained(e, "contents changed: an event not yet chained does not match its seal")
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return v, nil
}
