package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
)

// noOrgChain is the chain of events outside any organization.
const noOrgChain = "-"

// chainID names an organization's chain, or the no-organization chain.
func chainID(orgID string) string {
	if orgID == "" {
		return noOrgChain
	}
	return orgID
}

// GenesisHash starts every chain.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// WriteAudit records one event inside the caller's transaction, extending the
// hash chain of its organization. Summary must never hold secrets.
func (c *Conn) WriteAudit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if !c.inTx {
		return gatehouse.Internal(fmt.Errorf("WriteAudit outside a transaction"))
	}
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = Now()
	}
	if len(e.Summary) == 0 {
		e.Summary = json.RawMessage(`{}`)
	}
	chain := chainID(e.OrgID)
	if c.s.chainKick != nil {
		if c.s.audit.current == "" {
			return gatehouse.Internal(fmt.Errorf("WriteAudit: no audit key"))
		}
		return c.writeUnchained(ctx, e, chain) // audit_defer.go
	}
	if c.batch != nil {
		return c.writeBatched(ctx, e, chain) // audit_heads.go
	}
	// The UPDATE locks the chain's head row until commit, so concurrent
	// writers of one chain queue up instead of forking it. The head is
	// created on first use only: an INSERT … ON CONFLICT on every write
	// would wait on the lock too, even when the row exists.
	head := func() error {
		return c.q.QueryRowContext(ctx, `UPDATE audit_chains SET seq = seq + 1 WHERE chain_id = $1 RETURNING seq, last_hash`, chain).Scan(&e.Seq, &e.PrevHash)
	}
	err := head()
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := c.exec(ctx, `INSERT INTO audit_chains (chain_id, seq, last_hash) VALUES ($1, 0, $2) ON CONFLICT (chain_id) DO NOTHING`, chain, GenesisHash); err != nil {
			return err
		}
		err = head()
	}
	if err != nil {
		return c.wrap(err, "audit chain")
	}
	if c.s.audit.current == "" {
		return gatehouse.Internal(fmt.Errorf("WriteAudit: no audit key"))
	}
	e.KeyID = c.s.audit.current
	e.Hash = AuditMAC(c.s.audit.keys[e.KeyID], e)
	if _, err := c.exec(ctx, `UPDATE audit_chains SET last_hash = $2 WHERE chain_id = $1`, chain, e.Hash); err != nil {
		return err
	}
	return c.insertChained(ctx, e, chain)
}

// insertChained inserts an event already given its seq and seal.
func (c *Conn) insertChained(ctx context.Context, e *gatehouse.AuditEvent, chain string) error {
	_, err := c.exec(ctx, `INSERT INTO audit_events (id, chain_id, seq, org_id, actor_kind, actor_id, actor_name, action,
		target_type, target_id, summary, ip, user_agent, request_id, created_at, prev_hash, hash, key_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		e.ID, chain, e.Seq, nullStr(e.OrgID), e.ActorKind, e.ActorID, e.ActorName, e.Action,
		e.TargetType, e.TargetID, string(e.Summary), e.IP, e.UserAgent, e.RequestID, ts(e.CreatedAt), e.PrevHash, e.Hash, e.KeyID)
	return err
}

// AuditHash is the legacy seal: plain SHA-256 over the previous hash and
// every recorded field, each length-prefixed so that no two different events
// hash alike. Anyone can recompute it, so it only verifies the carried-over
// prefix of a chain (events written before HMAC sealing).
func AuditHash(e *gatehouse.AuditEvent) string {
	h := sha256.New()
	b := sealBuffers.Get().(*[]byte)
	*b = appendAuditFields((*b)[:0], e)
	h.Write(*b)
	putSealBuffer(b)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditMAC seals an event: HMAC-SHA-256 under the audit key over the same
// fields and the key's id. Without the key nobody can recompute it.
func AuditMAC(key []byte, e *gatehouse.AuditEvent) string {
	h := hmac.New(sha256.New, key)
	b := sealBuffers.Get().(*[]byte)
	*b = appendSealField(appendAuditFields((*b)[:0], e), e.KeyID)
	h.Write(*b)
	putSealBuffer(b)
	return hex.EncodeToString(h.Sum(nil))
}

// sealBuffers hold the bytes a seal is computed over, between events.
var sealBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putSealBuffer pools b again, unless a rare huge event grew it.
func putSealBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 {
		sealBuffers.Put(b)
	}
}

// appendAuditFields appends what a seal covers: every recorded field as its
// length in decimal, ':', itself and ';' (TestAuditSealFormat pins it:
// chains sealed by earlier builds must keep verifying).
func appendAuditFields(b []byte, e *gatehouse.AuditEvent) []byte {
	var num [20]byte
	for _, f := range [...]string{e.PrevHash, e.ID} {
		b = appendSealField(b, f)
	}
	b = appendSealField(b, strconv.AppendInt(num[:0], e.Seq, 10))
	for _, f := range [...]string{e.OrgID, e.ActorKind, e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID} {
		b = appendSealField(b, f)
	}
	b = appendSealField(b, e.Summary)
	for _, f := range [...]string{e.IP, e.UserAgent, e.RequestID} {
		b = appendSealField(b, f)
	}
	return appendSealField(b, strconv.AppendInt(num[:0], e.CreatedAt.UnixMicro(), 10))
}

func appendSealField[T ~string | ~[]byte](b []byte, f T) []byte {
	b = strconv.AppendInt(b, int64(len(f)), 10)
	b = append(b, ':')
	b = append(b, f...)
	return append(b, ';')
}

const auditColumns = `id, seq, COALESCE(org_id, ''), actor_kind, actor_id, actor_name, action, target_type, target_id,
	summary, ip, user_agent, request_id, created_at, prev_hash, hash, key_id`

// AuditFilter lives in the root package (it appears in service signatures).
type AuditFilter = gatehouse.AuditFilter

// auditQuery builds the filtered query for f (without order or limit).
func auditQuery(f AuditFilter) (string, []any) {
	chain := chainID(f.OrgID)
	q := `SELECT ` + auditColumns + ` FROM audit_events WHERE chain_id = $1`
	args := []any{chain}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.ActorID != "" {
		add("actor_id = $%d", f.ActorID)
	}
	if f.Action != "" {
		if f.Action[len(f.Action)-1] == '.' {
			// LIKE, not substr(): PostgreSQL estimates a LIKE prefix from
			// its statistics, so a common prefix reads the chain's ordered
			// index instead of scanning and sorting the table (it took
			// substr() = … as matching 0.5% of rows). The service admits
			// only lowercase letters, '_' and '.', so SQLite's
			// case-insensitive LIKE matches the same rows.
			add(`action LIKE $%d ESCAPE '\'`, escapeLike(f.Action)+"%")
		} else {
			add("action = $%d", f.Action)
		}
	}
	if f.TargetType != "" {
		add("target_type = $%d", f.TargetType)
	}
	if f.TargetID != "" {
		add("target_id = $%d", f.TargetID)
	}
	if !f.From.IsZero() {
		add("created_at >= $%d", ts(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < $%d", ts(f.To))
	}
	return q, args
}

func scanAudit(rows *sql.Rows) (*gatehouse.AuditEvent, error) {
	var e gatehouse.AuditEvent
	var summary string
	var created int64
	if err := rows.Scan(&e.ID, &e.Seq, &e.OrgID, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID,
		&summary, &e.IP, &e.UserAgent, &e.RequestID, &created, &e.PrevHash, &e.Hash, &e.KeyID); err != nil {
		return nil, err
	}
	e.Summary, e.CreatedAt = json.RawMessage(summary), fromTS(created)
	return &e, nil
}

// ListAudit returns events newest first, one page.
func (c *Conn) ListAudit(ctx context.Context, f AuditFilter) ([]*gatehouse.AuditEvent, error) {
	q, args := auditQuery(f)
	q, args = keyset(q, args, f.Page)
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "list audit")
	}
	defer rows.Close()
	var out []*gatehouse.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, c.wrap(err, "scan audit")
		}
		e.Seq = max(e.Seq, 0) // not linked yet (audit_defer.go)
		out = append(out, e)
	}
	return out, c.wrap(rows.Err(), "audit rows")
}

// StreamAudit calls fn for every matching event, newest first, holding one
// row at a time (for NDJSON export of any size).
func (c *Conn) StreamAudit(ctx context.Context, f AuditFilter, fn func(*gatehouse.AuditEvent) error) error {
	q, args := auditQuery(f)
	return c.streamEvents(ctx, "audit", q+` ORDER BY created_at DESC, id DESC`, args, fn)
}

// StreamChain calls fn for every event of an organization's chain ("" for
// the no-organization chain) in chain order (events not linked yet,
// audit_defer.go, are left out).
func (c *Conn) StreamChain(ctx context.Context, orgID string, fn func(*gatehouse.AuditEvent) error) error {
	chain := chainID(orgID)
	return c.streamEvents(ctx, "chain", `SELECT `+auditColumns+` FROM audit_events WHERE chain_id = $1 AND seq > 0 ORDER BY seq`, []any{chain}, fn)
}

// streamEvents runs q, a query of audit events, and calls fn for each row in
// turn, holding one at a time; name ("audit", "chain") labels its errors.
func (c *Conn) streamEvents(ctx context.Context, name, q string, args []any, fn func(*gatehouse.AuditEvent) error) error {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return c.wrap(err, "stream "+name)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return c.wrap(err, "scan audit")
		}
		e.Seq = max(e.Seq, 0) // not linked yet (audit_defer.go)
		if err := fn(e); err != nil {
			return err
		}
	}
	return c.wrap(rows.Err(), name+" rows")
}

// ChainHead returns a chain's recorded length and last hash (0 and the
// genesis hash for an empty chain).
func (c *Conn) ChainHead(ctx context.Context, orgID string) (int64, string, error) {
	if err := c.flushChains(ctx); err != nil {
		return 0, "", err
	}
	chain := chainID(orgID)
	var seq int64
	var last string
	err := c.q.QueryRowContext(ctx, `SELECT seq, last_hash FROM audit_chains WHERE chain_id = $1`, chain).Scan(&seq, &last)
	if err == sql.ErrNoRows {
		return 0, GenesisHash, nil
	}
	return seq, last, c.wrap(err, "chain head")
}
