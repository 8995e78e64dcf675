package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestGroupCommitAuditChain: inside a batch the chain's head is kept in
// memory and written once before the commit (store/audit_heads.go). Events
// of callers that fail, of nested savepoints that fail, and of a caller that
// reads the head rows and then fails, are rolled back with their heads: the
// committed chain has no gap, every event links to the one before and
// verifies under the key, and the head row names the last event.
func TestGroupCommitAuditChain(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	const n = 40
	event := func(tx *store.Conn, what string) error {
		return tx.WriteAudit(ctx, &gatehouse.AuditEvent{OrgID: "org-g", Action: "test." + what, TargetType: "test", TargetID: what})
	}
	var mu sync.Mutex
	kept := map[string]bool{}
	inOneBatch(n, func(i int, hold func()) {
		var mine []string
		err := s.Tx(ctx, func(tx *store.Conn) error {
			hold()
			first := fmt.Sprintf("c%02d", i)
			if err := event(tx, first); err != nil {
				return err
			}
			mine = append(mine, first)
			switch i % 4 {
			case 1:
				return errors.New("refused after auditing") // rolled back alone
			case 2:
				// A nested savepoint that audits, then fails: its event goes.
				nerr := s.Tx(store.WithTx(ctx, tx), func(inner *store.Conn) error {
					if err := event(inner, first+"-nested"); err != nil {
						return err
					}
					return errors.New("nested refusal")
				})
				if nerr == nil {
					return errors.New("the nested savepoint did not fail")
				}
				after := first + "-after"
				mine = append(mine, after)
				return event(tx, after)
			case 3:
				if i%8 == 7 {
					// The head row read inside the batch is the events' head.
					seq, hash, err := tx.ChainHead(ctx, "org-g")
					if err != nil {
						return err
					}
					if seq < 1 || hash == store.GenesisHash {
						return fmt.Errorf("head inside the batch: %d %s", seq, hash)
					}
					return errors.New("refused after reading the head") // its flush is rolled back too
				}
			}
			return nil
		})
		if err == nil {
			mu.Lock()
			for _, m := range mine {
				kept[m] = true
			}
			mu.Unlock()
		}
	})
	// After the batch, an event on its own transaction continues the chain.
	if err := s.Tx(ctx, func(tx *store.Conn) error { return event(tx, "last") }); err != nil {
		t.Fatal(err)
	}
	kept["last"] = true

	keyID, key := storetest.MustKey(t).AuditKey()
	prev, seq, seen := store.GenesisHash, int64(0), map[string]bool{}
	err := s.R().StreamChain(ctx, "org-g", func(e *gatehouse.AuditEvent) error {
		seq++
		if e.Seq != seq || e.PrevHash != prev {
			return fmt.Errorf("event %s: seq %d prev %.8s, want %d %.8s", e.TargetID, e.Seq, e.PrevHash, seq, prev)
		}
		if e.KeyID != keyID || store.AuditMAC(key, e) != e.Hash {
			return fmt.Errorf("event %d does not verify", e.Seq)
		}
		seen[e.TargetID] = true
		prev = e.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(kept) {
		t.Errorf("chain holds %d events, want the %d committed", len(seen), len(kept))
	}
	for k := range kept {
		if !seen[k] {
			t.Errorf("committed event %s missing from the chain", k)
		}
	}
	headSeq, headHash, err := s.R().ChainHead(ctx, "org-g")
	if err != nil || headSeq != seq || headHash != prev {
		t.Errorf("head row %d %.8s (%v), want %d %.8s", headSeq, headHash, err, seq, prev)
	}
}
