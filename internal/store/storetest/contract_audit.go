package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// GenesisHash is the PrevHash of the first event of every chain.
var GenesisHash = strings.Repeat("0", 64)

func mustWriteAudit(tb testing.TB, s *store.Store, events ...*gatehouse.AuditEvent) {
	tb.Helper()
	mustTx(tb, s, func(tx *store.Conn) error {
		for _, e := range events {
			if err := tx.WriteAudit(context.Background(), e); err != nil {
				return err
			}
		}
		return nil
	})
	if !s.DefersAuditChain() {
		return
	}
	// Recorded unchained, each under its own seal; then linked, and the
	// written events take the place they were given in the chain.
	for _, e := range events {
		if ok, err := s.CheckPreSeal(e); e.Seq != 0 || e.PrevHash != "" || err != nil || !ok {
			tb.Fatalf("unchained event %s: seq %d prev %q, pre-seal ok %v %v", e.ID, e.Seq, e.PrevHash, ok, err)
		}
	}
	chained := map[string]*gatehouse.AuditEvent{}
	for _, w := range events {
		if _, done := chained[w.ID]; done {
			continue
		}
		for _, e := range AllAudit(tb, s, w.OrgID) {
			chained[e.ID] = e
		}
	}
	for _, e := range events {
		if c := chained[e.ID]; c != nil && e.OrgID == c.OrgID {
			e.Seq, e.PrevHash, e.Hash = c.Seq, c.PrevHash, c.Hash
		}
	}
}

func mustListAudit(tb testing.TB, s *store.Store, f store.AuditFilter) []*gatehouse.AuditEvent {
	tb.Helper()
	events, err := s.R().ListAudit(context.Background(), f)
	if err != nil {
		tb.Fatalf("ListAudit(%+v): %v", f, err)
	}
	return events
}

// AllAudit returns every event of one chain (orgID "" for the chain outside
// any organization), following keyset pages, in seq order.
func AllAudit(tb testing.TB, s *store.Store, orgID string) []*gatehouse.AuditEvent {
	tb.Helper()
	// Where a background step links events (PostgreSQL), link them now.
	if err := s.CatchUpAudit(context.Background()); err != nil {
		tb.Fatalf("CatchUpAudit: %v", err)
	}
	var all []*gatehouse.AuditEvent
	p := gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit}
	for {
		page := gatehouse.MakePage(mustListAudit(tb, s, store.AuditFilter{OrgID: orgID, Page: p}), p, auditCursor)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			break
		}
		p.After = cursorOf(tb, page.NextCursor)
	}
	slices.SortFunc(all, func(a, b *gatehouse.AuditEvent) int { return int(a.Seq - b.Seq) })
	return all
}

// CheckAuditChain fails unless events (in seq order) form an unbroken chain:
// seq 1..n, the first linked to the genesis hash, each linked to the hash of
// the one before, and each stored hash equal to its recomputation.
func CheckAuditChain(tb testing.TB, events []*gatehouse.AuditEvent) {
	tb.Helper()
	prev := GenesisHash
	seen := map[string]bool{}
	keyID, key := MustKey(tb).AuditKey()
	for i, e := range events {
		if e.Seq != int64(i+1) {
			tb.Fatalf("event %d has seq %d, want %d", i, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			tb.Fatalf("event seq %d: prev_hash %s, want %s (the previous hash)", e.Seq, e.PrevHash, prev)
		}
		if e.KeyID != keyID {
			tb.Fatalf("event seq %d: sealed with key %q, want the current key %q", e.Seq, e.KeyID, keyID)
		}
		if got := store.AuditMAC(key, e); got != e.Hash {
			tb.Fatalf("event seq %d: stored hash %s, recomputed %s", e.Seq, e.Hash, got)
		}
		if seen[e.ID] {
			tb.Fatalf("event %s listed twice", e.ID)
		}
		seen[e.ID] = true
		prev = e.Hash
	}
}

func auditCursor(e *gatehouse.AuditEvent) gatehouse.Cursor {
	return gatehouse.Cursor{CreatedAt: e.CreatedAt, ID: e.ID}
}

func auditIDs(events []*gatehouse.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func runAudit(t *testing.T, e Engine) {
	ctx := context.Background()
	const org = "org-a"

	event := func(orgID, action string, at time.Time) *gatehouse.AuditEvent {
		return &gatehouse.AuditEvent{
			OrgID: orgID, ActorKind: gatehouse.PrincipalUser, ActorID: "user-1", ActorName: "Ada",
			Action: action, TargetType: "invitation", TargetID: "inv-1",
			Summary: json.RawMessage(`{"email": "bob@example.com", "role": "viewer"}`),
			IP:      "192.0.2.1", UserAgent: "test/1.0", RequestID: "req-1", CreatedAt: at,
		}
	}

	t.Run("WriteAudit", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			written := []*gatehouse.AuditEvent{
				event(org, "invitation.created", baseTime),
				event(org, "invitation.resent", baseTime.Add(time.Second)),
			}
			mustWriteAudit(t, s, written...)
			// A later transaction continues the chain.
			third := event(org, "invitation.revoked", baseTime.Add(2*time.Second))
			third.Summary = nil // stored as {}
			mustWriteAudit(t, s, third)
			written = append(written, third)

			for i, w := range written {
				if w.ID == "" || w.Seq != int64(i+1) || w.Hash == "" {
					t.Fatalf("written event %d: id %q seq %d hash %q", i, w.ID, w.Seq, w.Hash)
				}
			}
			got := AllAudit(t, s, org)
			if len(got) != 3 {
				t.Fatalf("listed %d events, want 3", len(got))
			}
			CheckAuditChain(t, got)
			for i, g := range got {
				w := written[i]
				if g.ID != w.ID || g.Hash != w.Hash || g.PrevHash != w.PrevHash || g.OrgID != org ||
					g.ActorKind != w.ActorKind || g.ActorID != w.ActorID || g.ActorName != w.ActorName ||
					g.Action != w.Action || g.TargetType != w.TargetType || g.TargetID != w.TargetID ||
					string(g.Summary) != string(w.Summary) || g.IP != w.IP || g.UserAgent != w.UserAgent ||
					g.RequestID != w.RequestID || !equalTime(g.CreatedAt, w.CreatedAt) {
					t.Fatalf("event %d read back as %+v, written %+v", i, g, w)
				}
			}
			if string(got[2].Summary) != `{}` {
				t.Fatalf("empty summary stored as %q, want {}", got[2].Summary)
			}
		})

		t.Run("ErrOutsideTx", func(t *testing.T) {
			s := e.Open(t)
			err := s.R().WriteAudit(ctx, event(org, "invitation.created", baseTime))
			wantCode(t, err, gatehouse.EINTERNAL)
			if got := AllAudit(t, s, org); len(got) != 0 {
				t.Fatalf("an event was written outside a transaction: %v", auditIDs(got))
			}
		})

		t.Run("ErrRolledBack", func(t *testing.T) {
			s := e.Open(t)
			mustWriteAudit(t, s, event(org, "a.one", baseTime))
			err := s.Tx(ctx, func(tx *store.Conn) error {
				if err := tx.WriteAudit(ctx, event(org, "a.lost", baseTime)); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("Tx = %v, want the function's error", err)
			}
			mustWriteAudit(t, s, event(org, "a.two", baseTime))
			got := AllAudit(t, s, org)
			CheckAuditChain(t, got) // no gap in seq, no link to the lost event
			if len(got) != 2 || got[0].Action != "a.one" || got[1].Action != "a.two" {
				t.Fatalf("chain = %v, want a.one, a.two", got)
			}
		})

		t.Run("IndependentChains", func(t *testing.T) {
			s := e.Open(t)
			// Interleave three chains: org-a, org-b and the no-org chain "-".
			for i := range 3 {
				at := baseTime.Add(time.Duration(i) * time.Second)
				mustWriteAudit(t, s, event("org-a", fmt.Sprintf("a.%d", i), at))
				mustWriteAudit(t, s, event("", fmt.Sprintf("none.%d", i), at), event("org-b", fmt.Sprintf("b.%d", i), at))
			}
			for _, tt := range []struct{ org, prefix string }{{"org-a", "a."}, {"org-b", "b."}, {"", "none."}} {
				got := AllAudit(t, s, tt.org)
				if len(got) != 3 {
					t.Fatalf("chain %q has %d events, want 3", tt.org, len(got))
				}
				CheckAuditChain(t, got)
				for _, ev := range got {
					if ev.OrgID != tt.org || !strings.HasPrefix(ev.Action, tt.prefix) {
						t.Fatalf("chain %q lists %q of org %q", tt.org, ev.Action, ev.OrgID)
					}
				}
			}
		})
	})

	t.Run("ListAudit", func(t *testing.T) {
		s := e.Open(t)
		type seed struct {
			actor, action, ttype, tid string
			min                       int
		}
		seeds := []seed{
			{"u1", "invitation.created", "invitation", "inv-1", 0},
			{"u2", "invitation.revoked", "invitation", "inv-1", 1},
			{"u1", "member.removed", "member", "u9", 2},
			{"u2", "invitations.imported", "invitation", "inv-2", 3},
			{"u1", "invitation.created.extra", "invitation", "inv-2", 4},
			{"u3", "api_key.created", "api_key", "k1", 5},
		}
		ids := make([]string, len(seeds))
		for i, sd := range seeds {
			ev := event(org, sd.action, baseTime.Add(time.Duration(sd.min)*time.Minute))
			ev.ActorID, ev.TargetType, ev.TargetID = sd.actor, sd.ttype, sd.tid
			mustWriteAudit(t, s, ev)
			ids[i] = ev.ID
		}
		// Another organization's and the no-org chain's events never show.
		other := event("org-b", "invitation.created", baseTime)
		other.ActorID = "u1"
		mustWriteAudit(t, s, other, event("", "invitation.created", baseTime))

		at := func(min int) time.Time { return baseTime.Add(time.Duration(min) * time.Minute) }
		for _, tt := range []struct {
			name string
			f    store.AuditFilter
			want []int // indexes into seeds, newest first
		}{
			{"OK", store.AuditFilter{}, []int{5, 4, 3, 2, 1, 0}},
			{"Actor", store.AuditFilter{ActorID: "u1"}, []int{4, 2, 0}},
			{"ActionExact", store.AuditFilter{Action: "invitation.created"}, []int{0}},
			{"ActionPrefix", store.AuditFilter{Action: "invitation."}, []int{4, 1, 0}},
			{"ActionPrefixNoMatch", store.AuditFilter{Action: "folder."}, nil},
			{"TargetType", store.AuditFilter{TargetType: "invitation"}, []int{4, 3, 1, 0}},
			{"TargetTypeAndID", store.AuditFilter{TargetType: "invitation", TargetID: "inv-2"}, []int{4, 3}},
			{"From", store.AuditFilter{From: at(3)}, []int{5, 4, 3}},
			{"To", store.AuditFilter{To: at(2)}, []int{1, 0}},
			{"FromTo", store.AuditFilter{From: at(1), To: at(4)}, []int{3, 2, 1}},
			{"Combined", store.AuditFilter{ActorID: "u1", Action: "invitation.", From: at(1)}, []int{4}},
			{"Limit", store.AuditFilter{Page: gatehouse.PageRequest{Limit: 2}}, []int{5, 4, 3}}, // FetchLimit: one more
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := tt.f
				f.OrgID = org
				got := auditIDs(mustListAudit(t, s, f))
				want := make([]string, len(tt.want))
				for i, j := range tt.want {
					want[i] = ids[j]
				}
				if !slices.Equal(got, want) {
					t.Fatalf("ListAudit(%+v) = %v, want %v", tt.f, got, want)
				}
			})
		}
		t.Run("NoOrgChain", func(t *testing.T) {
			got := mustListAudit(t, s, store.AuditFilter{})
			if len(got) != 1 || got[0].OrgID != "" {
				t.Fatalf("no-org chain lists %v", got)
			}
		})
	})

	t.Run("ListAuditPages", func(t *testing.T) {
		s := e.Open(t)
		// Seven events, four of them in one microsecond: the id orders ties.
		times := []time.Time{baseTime, baseTime.Add(time.Second), baseTime.Add(time.Second), baseTime.Add(time.Second),
			baseTime.Add(time.Second), baseTime.Add(2 * time.Second), baseTime.Add(3 * time.Second)}
		for i, at := range times {
			mustWriteAudit(t, s, event(org, fmt.Sprintf("page.%d", i), at))
		}
		full := mustListAudit(t, s, store.AuditFilter{OrgID: org, Page: gatehouse.PageRequest{Limit: 100}})
		if len(full) != len(times) {
			t.Fatalf("listed %d, want %d", len(full), len(times))
		}
		for i := 1; i < len(full); i++ {
			a, b := full[i-1], full[i]
			if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
				t.Fatalf("not newest first at %d: %v/%s before %v/%s", i, a.CreatedAt, a.ID, b.CreatedAt, b.ID)
			}
		}

		var got []string
		var sizes []int
		p := gatehouse.PageRequest{Limit: 3}
		for range 10 {
			page := gatehouse.MakePage(mustListAudit(t, s, store.AuditFilter{OrgID: org, Page: p}), p, auditCursor)
			got = append(got, auditIDs(page.Items)...)
			sizes = append(sizes, len(page.Items))
			if page.NextCursor == "" {
				break
			}
			p.After = cursorOf(t, page.NextCursor)
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Fatalf("page sizes %v, want [3 3 1]", sizes)
		}
		if want := auditIDs(full); !slices.Equal(got, want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}

		// Filters and pages combine.
		p = gatehouse.PageRequest{Limit: 2}
		f := store.AuditFilter{OrgID: org, From: baseTime.Add(time.Second), To: baseTime.Add(2 * time.Second), Page: p}
		page := gatehouse.MakePage(mustListAudit(t, s, f), p, auditCursor)
		f.Page.After = cursorOf(t, page.NextCursor)
		page2 := gatehouse.MakePage(mustListAudit(t, s, f), f.Page, auditCursor)
		if got := append(auditIDs(page.Items), auditIDs(page2.Items)...); !slices.Equal(got, auditIDs(full[2:6])) || page2.NextCursor != "" {
			t.Fatalf("filtered pages gave %v (next %q), want %v", got, page2.NextCursor, auditIDs(full[2:6]))
		}
	})
}

// runConcurrentAudit has writers in many goroutines, spread over two stores
// on one database (as two processes would be), extend one organization's
// chain, each event in its own transaction. The chain must come out whole.
func runConcurrentAudit(t *testing.T, e Engine) {
	const writers, perWriter = 10, 5
	dsn := e.NewDSN(t)
	stores := []*store.Store{e.OpenAt(t, dsn), e.OpenAt(t, dsn)}
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			for i := range perWriter {
				err := s.Tx(ctx, func(tx *store.Conn) error {
					return tx.WriteAudit(ctx, &gatehouse.AuditEvent{
						OrgID: "org-busy", ActorKind: gatehouse.PrincipalUser, ActorID: fmt.Sprintf("writer-%d", w),
						Action: "member.updated", TargetType: "member", TargetID: fmt.Sprintf("%d-%d", w, i),
					})
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d event %d: %w", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for i, s := range stores {
		got := AllAudit(t, s, "org-busy")
		if len(got) != writers*perWriter {
			t.Fatalf("store %d lists %d events, want %d", i, len(got), writers*perWriter)
		}
		CheckAuditChain(t, got)
		per := map[string]int{}
		for _, ev := range got {
			per[ev.ActorID]++
		}
		for w := range writers {
			if n := per[fmt.Sprintf("writer-%d", w)]; n != perWriter {
				t.Fatalf("writer %d has %d events in the chain, want %d", w, n, perWriter)
			}
		}
	}
}
