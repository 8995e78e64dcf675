package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Deferred chaining (PostgreSQL). Extending an organization's chain inside
// the writing transaction locks the chain's head row until commit, so every
// audited write of an organization waits for the one before it to commit:
// on PostgreSQL that is a commit's latency (a WAL flush) per write, whatever
// the number of connections. Instead, WriteAudit records the event unchained
// (seq negative, prev_hash empty) with a seal of its own, the pre-seal: the
// HMAC of every field with seq 0 and an empty prev_hash. A background step
// (and Verify, before it checks) links the committed unchained events of a
// chain in one short transaction under the head's lock: it checks each
// event's pre-seal, gives it the next seq and the previous event's hash, and
// seals it as a synchronously chained event would be. Only committed events
// are visible to it, so the chain follows commit order, and an event
// committed later is linked by a later step.
//
// Tamper evidence: once linked, an event is exactly as if written chained
// (edited, deleted or inserted events break the chain). Before that, an
// edited or forged unchained event fails its pre-seal (the chainer leaves it
// unlinked and Verify reports it); a deleted unchained event leaves no trace
// (the window is the time to the next step, milliseconds under load and
// chainInterval at most).

// chainInterval is how often the background step looks for unchained events
// written by other processes (its own writes wake it at once).
const chainInterval = time.Second

// chainBatch bounds the events one step links per chain and transaction.
const chainBatch = 1000

// DeferAuditChain makes WriteAudit record events unchained and starts the
// background step linking them; it stops when the store closes. Call before
// use (postgres.Open does).
func (s *Store) DeferAuditChain() {
	s.chainKick = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.OnClose(func() error {
		cancel()
		<-done
		return nil
	})
	go func() {
		defer close(done)
		t := time.NewTicker(chainInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.chainKick:
				// Let concurrent writers' commits gather into one step.
				select {
				case <-ctx.Done():
					return
				case <-time.After(2 * time.Millisecond):
				}
			case <-t.C:
			}
			if err := s.CatchUpAudit(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("audit: linking unchained events failed; retrying", "err", err)
			}
		}
	}()
}

// DefersAuditChain reports whether events are chained in a background step.
func (s *Store) DefersAuditChain() bool { return s.chainKick != nil }

func (s *Store) kickChain() {
	select {
	case s.chainKick <- struct{}{}:
	default:
	}
}

// preSeal is an unchained event's seal: the event's own HMAC with seq 0 and
// an empty prev_hash, under the key it names.
func (s *Store) preSeal(e *gatehouse.AuditEvent) (string, error) {
	key, ok := s.audit.keys[e.KeyID]
	if !ok {
		return "", ErrUnknownAuditKey
	}
	u := *e
	u.Seq, u.PrevHash = 0, ""
	return AuditMAC(key, &u), nil
}

// CheckPreSeal reports whether an unchained event still matches its pre-seal.
func (s *Store) CheckPreSeal(e *gatehouse.AuditEvent) (bool, error) {
	want, err := s.preSeal(e)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(want), []byte(e.Hash)), nil
}

// writeUnchained records e for the background step to link. e.Seq stays 0
// (not yet in the chain) and e.Hash is its pre-seal.
func (c *Conn) writeUnchained(ctx context.Context, e *gatehouse.AuditEvent, chain string) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return gatehouse.Internal(err)
	}
	// A random negative placeholder, unique within the chain (UNIQUE
	// (chain_id, seq)) with overwhelming probability.
	placeholder := -int64(binary.BigEndian.Uint64(b[:])>>2) - 1
	e.Seq, e.PrevHash, e.KeyID = 0, "", c.s.audit.current
	pre, err := c.s.preSeal(e)
	if err != nil {
		return gatehouse.Internal(err)
	}
	e.Hash = pre
	_, err = c.exec(ctx, `INSERT INTO audit_events (id, chain_id, seq, org_id, actor_kind, actor_id, actor_name, action,
		target_type, target_id, summary, ip, user_agent, request_id, created_at, prev_hash, hash, key_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		e.ID, chain, placeholder, nullStr(e.OrgID), e.ActorKind, e.ActorID, e.ActorName, e.Action,
		e.TargetType, e.TargetID, string(e.Summary), e.IP, e.UserAgent, e.RequestID, ts(e.CreatedAt), "", e.Hash, e.KeyID)
	if err != nil {
		return err
	}
	c.AfterCommit(c.s.kickChain)
	return nil
}

// CatchUpAudit links every committed unchained event into its chain. It is
// a no-op where events are chained as they are written (SQLite).
func (s *Store) CatchUpAudit(ctx context.Context) error {
	if !s.DefersAuditChain() {
		return nil
	}
	rows, err := s.writer.QueryContext(ctx, `SELECT DISTINCT chain_id FROM audit_events WHERE seq < 0`)
	if err != nil {
		return s.R().wrap(err, "unchained audit")
	}
	var chains []string
	for rows.Next() {
		var ch string
		if err := rows.Scan(&ch); err != nil {
			rows.Close()
			return s.R().wrap(err, "unchained audit")
		}
		chains = append(chains, ch)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.R().wrap(err, "unchained audit")
	}
	for _, ch := range chains {
		if err := s.linkChain(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// CatchUpOrgAudit links an organization's committed unchained events ("" for
// the no-organization chain); a no-op where events are chained as written.
func (s *Store) CatchUpOrgAudit(ctx context.Context, orgID string) error {
	if !s.DefersAuditChain() {
		return nil
	}
	return s.linkChain(ctx, chainID(orgID))
}

// linkChain links a chain's unchained events, chainBatch per transaction,
// until none that pass their pre-seal are left.
func (s *Store) linkChain(ctx context.Context, chain string) error {
	for {
		read, linked, err := s.linkBatch(ctx, chain)
		if err != nil || read < chainBatch || linked == 0 {
			return err
		}
	}
}

// linkBatch links up to chainBatch unchained events of a chain in one
// transaction and returns how many it read and how many it linked.
func (s *Store) linkBatch(ctx context.Context, chain string) (read, linked int, err error) {
	err = s.Tx(ctx, func(tx *Conn) error {
		var seq int64
		var last string
		head := func() error {
			return tx.q.QueryRowContext(ctx, `SELECT seq, last_hash FROM audit_chains WHERE chain_id = $1 `+s.dialect.ForUpdate(), chain).Scan(&seq, &last)
		}
		err := head()
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.exec(ctx, `INSERT INTO audit_chains (chain_id, seq, last_hash) VALUES ($1, 0, $2) ON CONFLICT (chain_id) DO NOTHING`, chain, GenesisHash); err != nil {
				return err
			}
			err = head()
		}
		if err != nil {
			return tx.wrap(err, "audit chain head")
		}
		// After the head's lock: the rows another step linked meanwhile are
		// no longer unchained in this statement's snapshot.
		rows, err := tx.q.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE chain_id = $1 AND seq < 0
			ORDER BY created_at, id LIMIT $2`, chain, chainBatch)
		if err != nil {
			return tx.wrap(err, "unchained events")
		}
		var evs []*gatehouse.AuditEvent
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return tx.wrap(err, "scan audit")
			}
			evs = append(evs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.wrap(err, "unchained rows")
		}
		read, linked = len(evs), 0
		for _, e := range evs {
			placeholder := e.Seq
			e.Seq, e.PrevHash = 0, ""
			if ok, err := s.CheckPreSeal(e); err != nil || !ok {
				// Edited or forged before it was linked: left out of the
				// chain, and Verify reports it.
				if _, seen := s.chainRefused.LoadOrStore(e.ID, true); !seen {
					slog.Error("audit: an unchained event does not match its seal; not linked", "event", e.ID, "chain", chain, "err", err)
				}
				continue
			}
			seq++
			e.Seq, e.PrevHash, e.KeyID = seq, last, s.audit.current
			e.Hash = AuditMAC(s.audit.keys[e.KeyID], e)
			res, err := tx.exec(ctx, `UPDATE audit_events SET seq = $2, prev_hash = $3, hash = $4, key_id = $5 WHERE id = $1 AND seq = $6`,
				e.ID, e.Seq, e.PrevHash, e.Hash, e.KeyID, placeholder)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return gatehouse.Internal(fmt.Errorf("audit: event %s changed while being linked", e.ID))
			}
			last = e.Hash
			linked++
		}
		if linked == 0 {
			return nil
		}
		_, err = tx.exec(ctx, `UPDATE audit_chains SET seq = $2, last_hash = $3 WHERE chain_id = $1`, chain, seq, last)
		return err
	})
	return read, linked, err
}

// UnchainedAudit calls fn for each of an organization's events not linked
// yet ("" for the no-organization chain), with seq 0 and its pre-seal as
// hash, oldest first.
func (c *Conn) UnchainedAudit(ctx context.Context, orgID string, fn func(*gatehouse.AuditEvent) error) error {
	return c.streamEvents(ctx, "unchained", `SELECT `+auditColumns+` FROM audit_events WHERE chain_id = $1 AND seq < 0 ORDER BY created_at, id`,
		[]any{chainID(orgID)}, func(e *gatehouse.AuditEvent) error {
			e.Seq = 0
			return fn(e)
		})
}
