package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// AuditKeyer hands out the key sealing the audit chain and its id.
type AuditKeyer interface {
	AuditKey() (id string, key []byte)
}

// auditKeys are the keys the store knows: the current one seals new events,
// the others (older secret keys) only verify.
type auditKeys struct {
	current string
	keys    map[string][]byte
}

// AddAuditKey lets events sealed under an older key (a former secret key)
// verify. It never seals with it. Call before serving.
func (s *Store) AddAuditKey(k AuditKeyer) {
	id, key := k.AuditKey()
	if s.audit.keys == nil {
		s.audit.keys = map[string][]byte{}
	}
	s.audit.keys[id] = key
}

// AuditKeyID is the id of the key sealing new events.
func (s *Store) AuditKeyID() string { return s.audit.current }

// ErrUnknownAuditKey is returned when an event names a key the store lacks.
var ErrUnknownAuditKey = fmt.Errorf("unknown audit key")

// AuditSeal recomputes an event's seal with the key it names (plain SHA-256
// for legacy events); ErrUnknownAuditKey when that key is not configured.
func (s *Store) AuditSeal(e *gatehouse.AuditEvent) (string, error) {
	if e.KeyID == "" {
		return AuditHash(e), nil
	}
	key, ok := s.audit.keys[e.KeyID]
	if !ok {
		return "", ErrUnknownAuditKey
	}
	return AuditMAC(key, e), nil
}

// legacySeal seals where a chain's carried-over prefix ends.
func legacySeal(keyID string, key []byte, chain string, seq int64, hash string) string {
	h := hmac.New(sha256.New, key)
	for _, f := range []string{"legacy", chain, fmt.Sprint(seq), hash} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return keyID + ":" + hex.EncodeToString(h.Sum(nil))
}

// CheckLegacySeal reports whether seal is the sealed end (seq, hash) of an
// organization's carried-over prefix. An empty seal with seq 0 (no prefix)
// holds.
func (s *Store) CheckLegacySeal(orgID string, seq int64, hash, seal string) (bool, error) {
	if seq == 0 && seal == "" {
		return true, nil
	}
	keyID, _, ok := strings.Cut(seal, ":")
	if !ok {
		return false, nil
	}
	key, known := s.audit.keys[keyID]
	if !known {
		return false, ErrUnknownAuditKey
	}
	return hmac.Equal([]byte(seal), []byte(legacySeal(keyID, key, chainID(orgID), seq, hash))), nil
}

// ChainLegacy returns how many events at the start of a chain are legacy
// (plain SHA-256) and the seal fixing where they end.
func (c *Conn) ChainLegacy(ctx context.Context, orgID string) (int64, string, error) {
	var seq int64
	var seal string
	err := c.q.QueryRowContext(ctx, `SELECT legacy_seq, legacy_seal FROM audit_chains WHERE chain_id = $1`, chainID(orgID)).Scan(&seq, &seal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return seq, seal, c.wrap(err, "chain legacy")
}

// CarryOverAudit seals the plain SHA-256 chains written before HMAC sealing,
// once: it runs only while no chain holds a sealed event or a carried-over
// prefix (the first start after the upgrade), and then fixes each chain's
// current head as the end of its legacy prefix, sealed with the current key.
// From then on a plain SHA-256 event verifies only inside that prefix. It
// returns how many chains it carried over.
func (s *Store) CarryOverAudit(ctx context.Context) (int, error) {
	if s.audit.current == "" {
		return 0, nil
	}
	n := 0
	err := s.Tx(ctx, func(tx *Conn) error {
		if err := tx.flushChains(ctx); err != nil {
			return err
		}
		rows, err := tx.q.QueryContext(ctx, `SELECT c.chain_id, c.seq, c.last_hash, c.legacy_seal, COALESCE(e.key_id, '')
			FROM audit_chains c LEFT JOIN audit_events e ON e.chain_id = c.chain_id AND e.seq = c.seq WHERE c.seq > 0`)
		if err != nil {
			return tx.wrap(err, "carry over")
		}
		type head struct {
			chain string
			seq   int64
			hash  string
		}
		var heads []head
		done := false
		for rows.Next() {
			var h head
			var seal, keyID string
			if err := rows.Scan(&h.chain, &h.seq, &h.hash, &seal, &keyID); err != nil {
				rows.Close()
				return tx.wrap(err, "carry over scan")
			}
			if seal != "" || keyID != "" {
				done = true
			}
			heads = append(heads, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.wrap(err, "carry over rows")
		}
		if done {
			return nil // carried over before: never again
		}
		key := s.audit.keys[s.audit.current]
		for _, h := range heads {
			seal := legacySeal(s.audit.current, key, h.chain, h.seq, h.hash)
			if _, err := tx.exec(ctx, `UPDATE audit_chains SET legacy_seq = $2, legacy_seal = $3 WHERE chain_id = $1`, h.chain, h.seq, seal); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ChainHeadRow is one chain's head.
type ChainHeadRow struct {
	OrgID string // "" for the no-organization chain
	Seq   int64
	Hash  string
}

// ChainHeads lists every chain's head (for the periodic checkpoint log).
func (c *Conn) ChainHeads(ctx context.Context) ([]ChainHeadRow, error) {
	if err := c.flushChains(ctx); err != nil {
		return nil, err
	}
	rows, err := c.q.QueryContext(ctx, `SELECT chain_id, seq, last_hash FROM audit_chains WHERE seq > 0 ORDER BY chain_id`)
	if err != nil {
		return nil, c.wrap(err, "chain heads")
	}
	defer rows.Close()
	var out []ChainHeadRow
	for rows.Next() {
		var h ChainHeadRow
		if err := rows.Scan(&h.OrgID, &h.Seq, &h.Hash); err != nil {
			return nil, c.wrap(err, "chain heads scan")
		}
		if h.OrgID == noOrgChain {
			h.OrgID = ""
		}
		out = append(out, h)
	}
	return out, c.wrap(rows.Err(), "chain heads rows")
}
