package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runAuditDeferred: where a background step links audit events into their
// chain (PostgreSQL), it links committed events on its own, in one chain
// without gaps; an unchained event edited or forged before it is linked
// (it no longer matches its own seal) is left out of the chain.
func runAuditDeferred(t *testing.T, e Engine) {
	ctx := context.Background()
	if s := e.Open(t); !s.DefersAuditChain() {
		t.Skip("this engine chains audit events as they are written")
	}
	t.Run("Background", func(t *testing.T) {
		s := e.Open(t)
		for i := range 3 {
			mustTx(t, s, func(tx *store.Conn) error {
				return tx.WriteAudit(ctx, &gatehouse.AuditEvent{OrgID: "org-bg", Action: "project.created", CreatedAt: baseTime.Add(time.Duration(i) * time.Second)})
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			seq, _, err := s.R().ChainHead(ctx, "org-bg")
			if err != nil {
				t.Fatal(err)
			}
			if seq == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the background step linked %d of 3 events in 10 s", seq)
			}
			time.Sleep(10 * time.Millisecond)
		}
		CheckAuditChain(t, AllAudit(t, s, "org-bg"))
	})
	t.Run("TamperedBeforeLinked", func(t *testing.T) {
		s := e.Open(t)
		keyID, key := MustKey(t).AuditKey()
		// Unchained events as WriteAudit records them (a random negative
		// seq, no prev_hash, the event's own seal), put in by hand.
		insert := func(seq int64, ev *gatehouse.AuditEvent) {
			t.Helper()
			if _, err := s.WriterDB().ExecContext(ctx, `INSERT INTO audit_events (id, chain_id, seq, org_id, action, target_type, target_id, summary, created_at, prev_hash, hash, key_id)
				VALUES ($1, $2, $3, $2, $4, $5, $6, $7, $8, '', $9, $10)`, ev.ID, ev.OrgID, seq, ev.Action, ev.TargetType, ev.TargetID,
				string(ev.Summary), ev.CreatedAt.UnixMicro(), ev.Hash, ev.KeyID); err != nil {
				t.Fatal(err)
			}
		}
		event := func(action string, at time.Time) *gatehouse.AuditEvent {
			ev := &gatehouse.AuditEvent{ID: uuid.NewString(), OrgID: "org-t", Action: action, TargetType: "project", TargetID: "p",
				Summary: json.RawMessage(`{}`), CreatedAt: at, KeyID: keyID}
			ev.Hash = store.AuditMAC(key, ev)
			return ev
		}
		honest := event("project.created", baseTime)
		insert(-11, honest)
		edited := event("project.updated", baseTime.Add(time.Second))
		insert(-12, edited)
		if _, err := s.WriterDB().ExecContext(ctx, `UPDATE audit_events SET summary = '{"name":"forged"}' WHERE id = $1`, edited.ID); err != nil {
			t.Fatal(err)
		}
		forged := event("member.added", baseTime.Add(2*time.Second))
		forged.KeyID, forged.Hash = "", store.AuditHash(forged) // no key at hand
		insert(-13, forged)

		got := AllAudit(t, s, "org-t") // links what it may
		var linked []*gatehouse.AuditEvent
		pending := map[string]bool{}
		for _, g := range got {
			if g.Seq > 0 {
				linked = append(linked, g)
			} else {
				pending[g.ID] = true
			}
		}
		if len(linked) != 1 || linked[0].ID != honest.ID || !pending[edited.ID] || !pending[forged.ID] {
			t.Fatalf("linked %v, pending %v; want only the honest event linked", auditIDs(linked), pending)
		}
		CheckAuditChain(t, linked)
		if seq, hash, err := s.R().ChainHead(ctx, "org-t"); err != nil || seq != 1 || hash != linked[0].Hash {
			t.Fatalf("head = %d %s %v", seq, hash, err)
		}
		var unchained []string
		if err := s.R().UnchainedAudit(ctx, "org-t", func(e *gatehouse.AuditEvent) error {
			if ok, _ := s.CheckPreSeal(e); ok {
				t.Errorf("tampered unchained event %s matches its seal", e.ID)
			}
			unchained = append(unchained, e.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(unchained) != 2 {
			t.Fatalf("unchained = %v, want the edited and the forged event", unchained)
		}
	})
}
