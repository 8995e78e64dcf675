package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runAuditSeal: events are sealed with the current key and name it; heads
// are listed per chain; the carry-over seals legacy chains once and only
// while no sealed event exists.
func runAuditSeal(t *testing.T, e Engine) {
	ctx := context.Background()
	ev := func(orgID string, at time.Time) *gatehouse.AuditEvent {
		return &gatehouse.AuditEvent{OrgID: orgID, ActorKind: "user", ActorID: "u", ActorName: "Ada", Action: "project.created",
			TargetType: "project", TargetID: "p", CreatedAt: at}
	}
	t.Run("SealedAndHeads", func(t *testing.T) {
		s := e.Open(t)
		mustWriteAudit(t, s, ev("org-a", baseTime), ev("org-a", baseTime.Add(time.Second)), ev("", baseTime))
		id, _ := MustKey(t).AuditKey()
		got := AllAudit(t, s, "org-a")
		if len(got) != 2 || got[0].KeyID != id || got[1].KeyID != id || s.AuditKeyID() != id {
			t.Fatalf("key ids %q %q, want %q", got[0].KeyID, got[1].KeyID, id)
		}
		if want, err := s.AuditSeal(got[1]); err != nil || want != got[1].Hash {
			t.Fatalf("AuditSeal = %q, %v; stored %q", want, err, got[1].Hash)
		}
		heads, err := s.R().ChainHeads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) != 2 || heads[0].OrgID != "" || heads[0].Seq != 1 || heads[1].OrgID != "org-a" || heads[1].Seq != 2 || heads[1].Hash != got[1].Hash {
			t.Fatalf("heads = %+v", heads)
		}
		// Sealed events exist: nothing is carried over.
		if n, err := s.CarryOverAudit(ctx); err != nil || n != 0 {
			t.Fatalf("carry over with sealed events: %d, %v", n, err)
		}
		if seq, seal, err := s.R().ChainLegacy(ctx, "org-a"); err != nil || seq != 0 || seal != "" {
			t.Fatalf("legacy = %d %q %v", seq, seal, err)
		}
	})
	t.Run("CarryOver", func(t *testing.T) {
		s := e.Open(t)
		mustWriteAudit(t, s, ev("org-a", baseTime), ev("org-a", baseTime.Add(time.Second)))
		// Make it a chain of the previous version: plain SHA-256, no key id.
		got := AllAudit(t, s, "org-a")
		prev := GenesisHash
		for _, g := range got {
			g.KeyID, g.PrevHash = "", prev
			g.Hash = store.AuditHash(g)
			if _, err := s.WriterDB().ExecContext(ctx, `UPDATE audit_events SET key_id = '', prev_hash = $2, hash = $3 WHERE id = $1`, g.ID, g.PrevHash, g.Hash); err != nil {
				t.Fatal(err)
			}
			prev = g.Hash
		}
		if _, err := s.WriterDB().ExecContext(ctx, `UPDATE audit_chains SET last_hash = $1 WHERE chain_id = 'org-a'`, prev); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CarryOverAudit(ctx); err != nil || n != 1 {
			t.Fatalf("carry over: %d, %v", n, err)
		}
		seq, seal, err := s.R().ChainLegacy(ctx, "org-a")
		if err != nil || seq != 2 || seal == "" {
			t.Fatalf("legacy = %d %q %v", seq, seal, err)
		}
		if ok, err := s.CheckLegacySeal("org-a", seq, prev, seal); err != nil || !ok {
			t.Fatalf("the seal does not check: %v %v", ok, err)
		}
		if ok, _ := s.CheckLegacySeal("org-a", seq, GenesisHash, seal); ok {
			t.Fatal("the seal checks another hash")
		}
		if n, err := s.CarryOverAudit(ctx); err != nil || n != 0 {
			t.Fatalf("second carry over: %d, %v", n, err)
		}
	})
}
