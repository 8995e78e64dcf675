package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// Chain heads kept by a group-commit batch (batch_state.go). Extending a
// chain costs three statements when the head lives only in its row (read
// and bump seq, write last_hash, insert the event). In a batch the head is
// read once, extended in memory, and written once before the commit: the
// chain written is exactly the one the row-by-row code writes. A rollback
// puts the heads back as they were, so the next event links to the last
// event kept.
type chainHead struct {
	seq   int64
	hash  string
	dirty bool // moved since it was read or last written
}

// next reserves the chain's next position: its seq and previous hash.
// The first use in a batch reads the head row (creating it for a new chain).
func (c *Conn) nextInChain(ctx context.Context, chain string) (int64, string, error) {
	h := c.batch
	if cur, ok := h.chains[chain]; ok {
		return cur.seq + 1, cur.hash, nil
	}
	var seq int64
	var last string
	err := c.q.QueryRowContext(ctx, `SELECT seq, last_hash FROM audit_chains WHERE chain_id = $1`, chain).Scan(&seq, &last)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := c.exec(ctx, `INSERT INTO audit_chains (chain_id, seq, last_hash) VALUES ($1, 0, $2)`, chain, GenesisHash); err != nil {
			return 0, "", err
		}
		seq, last, err = 0, GenesisHash, nil
	}
	if err != nil {
		return 0, "", c.wrap(err, "audit chain")
	}
	if h.chains == nil {
		h.chains = make(map[string]chainHead, 1)
	}
	h.chains[chain] = chainHead{seq: seq, hash: last}
	return seq + 1, last, nil
}

// extended records that the chain's head is now (seq, hash).
func (c *Conn) extended(chain string, seq int64, hash string) {
	c.batch.chains[chain] = chainHead{seq: seq, hash: hash, dirty: true}
}

// flushChains writes every head moved in memory to its row. The batch calls
// it before committing; a read of the head rows inside the batch calls it
// first, so it reads what the events say.
func (c *Conn) flushChains(ctx context.Context) error {
	if c.batch == nil {
		return nil
	}
	for chain, h := range c.batch.chains {
		if !h.dirty {
			continue
		}
		if _, err := c.exec(ctx, `UPDATE audit_chains SET seq = $2, last_hash = $3 WHERE chain_id = $1`, chain, h.seq, h.hash); err != nil {
			return err
		}
		h.dirty = false
		c.batch.chains[chain] = h
	}
	return nil
}

// writeBatched is WriteAudit inside a group-commit batch: one statement,
// the event's INSERT, with the head kept in memory until the commit.
func (c *Conn) writeBatched(ctx context.Context, e *gatehouse.AuditEvent, chain string) error {
	if c.s.audit.current == "" {
		return gatehouse.Internal(fmt.Errorf("WriteAudit: no audit key"))
	}
	seq, prev, err := c.nextInChain(ctx, chain)
	if err != nil {
		return err
	}
	e.Seq, e.PrevHash, e.KeyID = seq, prev, c.s.audit.current
	e.Hash = AuditMAC(c.s.audit.keys[e.KeyID], e)
	if err := c.insertChained(ctx, e, chain); err != nil {
		return err
	}
	c.extended(chain, e.Seq, e.Hash)
	return nil
}
