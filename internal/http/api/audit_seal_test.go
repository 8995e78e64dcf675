package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// sealWorld is an organization with five audit events.
type sealWorld struct {
	srv   *apptest.Server
	owner string
	org   string
}

func newSealWorld(t *testing.T, e storetest.Engine) *sealWorld {
	srv := apptest.New(t, e)
	owner, _ := srv.Signup("Owner", "owner@example.com")
	org := srv.CreateOrg(owner, "Acme")
	for i := range 4 {
		srv.CreateProject(owner, org, fmt.Sprintf("P%d", i))
	}
	return &sealWorld{srv: srv, owner: owner, org: org}
}

func (w *sealWorld) verify(t *testing.T, query string) map[string]any {
	t.Helper()
	return w.srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/audits/verify" + query, Token: w.owner, Header: apptest.OrgHeader(w.org)})
}

// chain returns the organization's events, oldest first.
func (w *sealWorld) chain(t *testing.T) []*gatehouse.AuditEvent {
	t.Helper()
	if err := w.srv.Store.CatchUpAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	var evs []*gatehouse.AuditEvent
	if err := w.srv.Store.R().StreamChain(context.Background(), w.org, func(e *gatehouse.AuditEvent) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// rewrite edits event i's summary and recomputes every hash from it on with
// seal, as someone with write access to the database would, head included.
func (w *sealWorld) rewrite(t *testing.T, i int, seal func(e *gatehouse.AuditEvent)) {
	t.Helper()
	evs := w.chain(t)
	evs[i].Summary = []byte(`{"name":"forged"}`)
	prev := evs[i].PrevHash
	for _, e := range evs[i:] {
		e.PrevHash = prev
		seal(e)
		exec(t, w.srv, `UPDATE audit_events SET summary = $2, prev_hash = $3, hash = $4, key_id = $5 WHERE id = $1`,
			e.ID, string(e.Summary), e.PrevHash, e.Hash, e.KeyID)
		prev = e.Hash
	}
	exec(t, w.srv, `UPDATE audit_chains SET last_hash = $2 WHERE chain_id = $1`, w.org, prev)
}

func wantBroken(t *testing.T, v map[string]any, seq int64, reason string) {
	t.Helper()
	if v["ok"] != false || (seq > 0 && v["broken_seq"] != float64(seq)) || !strings.Contains(fmt.Sprint(v["reason"]), reason) {
		t.Fatalf("verify = %v, want broken at seq %d (%s)", v, seq, reason)
	}
}

// TestAuditSealed: the chain is HMAC-sealed, so recomputing it with plain
// SHA-256 (all an attacker without the key can do) is caught; a checkpoint
// catches a wiped or truncated chain and a rewrite by a key holder.
func TestAuditSealed(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OKHeadAndCheckpoint", func(t *testing.T) {
			w := newSealWorld(t, e)
			v := w.verify(t, "")
			head, _ := v["head"].(map[string]any)
			evs := w.chain(t)
			last := evs[len(evs)-1]
			if v["ok"] != true || head["seq"] != float64(5) || head["hash"] != last.Hash {
				t.Fatalf("verify = %v, want head 5:%s", v, last.Hash)
			}
			if last.KeyID == "" || !strings.HasPrefix(last.KeyID, "k-") {
				t.Fatalf("event sealed with key %q", last.KeyID)
			}
			if v := w.verify(t, fmt.Sprintf("?checkpoint=%d:%s", evs[2].Seq, evs[2].Hash)); v["ok"] != true {
				t.Fatalf("checkpoint of event 3: %v", v)
			}
			if v := w.verify(t, fmt.Sprintf("?checkpoint=%d:%s", last.Seq, strings.ToUpper(last.Hash))); v["ok"] != true {
				t.Fatalf("upper-case checkpoint: %v", v)
			}
		})
		t.Run("ErrBadCheckpoint", func(t *testing.T) {
			w := newSealWorld(t, e)
			for _, cp := range []string{"", "5", "x:y", "5:abc", "-1:" + strings.Repeat("0", 64)} {
				resp := w.srv.Do(apptest.Req{Method: "GET", Path: "/v1/audits/verify?checkpoint=" + cp, Token: w.owner, Header: apptest.OrgHeader(w.org)})
				p := apptest.Problem(t, resp, 400)
				if !strings.Contains(string(resp.Body), "checkpoint") {
					t.Fatalf("checkpoint %q: %v", cp, p)
				}
			}
		})
		t.Run("ErrRewrittenWithSHA256", func(t *testing.T) {
			w := newSealWorld(t, e)
			w.rewrite(t, 2, func(e *gatehouse.AuditEvent) { e.KeyID = ""; e.Hash = store.AuditHash(e) })
			wantBroken(t, w.verify(t, ""), 3, "unsealed event")
		})
		t.Run("ErrRewrittenWithSHA256KeepingKeyID", func(t *testing.T) {
			w := newSealWorld(t, e)
			w.rewrite(t, 2, func(e *gatehouse.AuditEvent) { e.Hash = store.AuditHash(e) })
			wantBroken(t, w.verify(t, ""), 3, "contents changed")
		})
		t.Run("ErrRewrittenWithAnotherKey", func(t *testing.T) {
			w := newSealWorld(t, e)
			other, _ := secret.NewKey("another-secret-key-0123456789")
			id, key := other.AuditKey()
			w.rewrite(t, 2, func(e *gatehouse.AuditEvent) { e.KeyID = id; e.Hash = store.AuditMAC(key, e) })
			wantBroken(t, w.verify(t, ""), 3, "not configured")
			// That key configured as an old secret key (a rotation): the
			// events it sealed verify again.
			w.srv.Store.AddAuditKey(other)
			if v := w.verify(t, ""); v["ok"] != true {
				t.Fatalf("with the old key configured: %v", v)
			}
		})
		t.Run("ErrWipedFailsCheckpoint", func(t *testing.T) {
			w := newSealWorld(t, e)
			head := w.verify(t, "")["head"].(map[string]any)
			cp := fmt.Sprintf("?checkpoint=%v:%v", head["seq"], head["hash"])
			exec(t, w.srv, `DELETE FROM audit_events WHERE chain_id = $1`, w.org)
			exec(t, w.srv, `DELETE FROM audit_chains WHERE chain_id = $1`, w.org)
			if v := w.verify(t, ""); v["ok"] != true || v["events"] != float64(0) {
				t.Fatalf("a wiped chain without checkpoint: %v", v)
			}
			wantBroken(t, w.verify(t, cp), 1, "wiped or truncated")
		})
		t.Run("ErrTruncatedFailsCheckpoint", func(t *testing.T) {
			w := newSealWorld(t, e)
			evs := w.chain(t)
			cp := fmt.Sprintf("?checkpoint=%d:%s", evs[4].Seq, evs[4].Hash)
			exec(t, w.srv, `DELETE FROM audit_events WHERE chain_id = $1 AND seq > 3`, w.org)
			exec(t, w.srv, `UPDATE audit_chains SET seq = 3, last_hash = $2 WHERE chain_id = $1`, w.org, evs[2].Hash)
			if v := w.verify(t, ""); v["ok"] != true {
				t.Fatalf("a truncated chain and head without checkpoint: %v", v)
			}
			wantBroken(t, w.verify(t, cp), 4, "wiped or truncated")
		})
		t.Run("ErrKeyHolderRewriteFailsCheckpoint", func(t *testing.T) {
			w := newSealWorld(t, e)
			evs := w.chain(t)
			cp := fmt.Sprintf("?checkpoint=%d:%s", evs[3].Seq, evs[3].Hash)
			id, key := storetest.MustKey(t).AuditKey()
			w.rewrite(t, 1, func(e *gatehouse.AuditEvent) { e.KeyID = id; e.Hash = store.AuditMAC(key, e) })
			if v := w.verify(t, ""); v["ok"] != true {
				t.Fatalf("a rewrite under the key without checkpoint: %v", v)
			}
			wantBroken(t, w.verify(t, cp), 4, "checkpoint mismatch")
		})
	})
}

// TestAuditCarryOver: chains written before sealing (plain SHA-256, no key
// id) verify after the carry-over, new events are sealed after them, and a
// rewrite of the carried-over prefix is caught by its sealed end.
func TestAuditCarryOver(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		legacy := func(t *testing.T) *sealWorld {
			w := newSealWorld(t, e)
			// Turn the chain into one written by the previous version.
			w.rewrite(t, 0, func(e *gatehouse.AuditEvent) { e.KeyID = ""; e.Hash = store.AuditHash(e) })
			exec(t, w.srv, `UPDATE audit_chains SET legacy_seq = 0, legacy_seal = ''`)
			// The other chains (sign-ups) hold sealed events, which would mean
			// "carried over already": this database has only the old chain.
			exec(t, w.srv, `DELETE FROM audit_events WHERE chain_id <> $1`, w.org)
			exec(t, w.srv, `DELETE FROM audit_chains WHERE chain_id <> $1`, w.org)
			wantBroken(t, w.verify(t, ""), 1, "unsealed event")
			n, err := w.srv.Store.CarryOverAudit(context.Background())
			if err != nil || n == 0 {
				t.Fatalf("carry over: %d, %v", n, err)
			}
			return w
		}
		t.Run("OKCarriedOver", func(t *testing.T) {
			w := legacy(t)
			if v := w.verify(t, ""); v["ok"] != true || v["events"] != float64(5) {
				t.Fatalf("carried-over chain: %v", v)
			}
			w.srv.CreateProject(w.owner, w.org, "After")
			if v := w.verify(t, ""); v["ok"] != true || v["events"] != float64(6) {
				t.Fatalf("carried-over chain with a sealed event after it: %v", v)
			}
			if evs := w.chain(t); evs[5].KeyID == "" || evs[4].KeyID != "" {
				t.Fatalf("key ids %q, %q", evs[4].KeyID, evs[5].KeyID)
			}
			// Carried over once: a second run changes nothing.
			if n, err := w.srv.Store.CarryOverAudit(context.Background()); err != nil || n != 0 {
				t.Fatalf("second carry over: %d, %v", n, err)
			}
		})
		t.Run("ErrLegacyPrefixRewritten", func(t *testing.T) {
			w := legacy(t)
			w.rewrite(t, 1, func(e *gatehouse.AuditEvent) { e.KeyID = ""; e.Hash = store.AuditHash(e) })
			wantBroken(t, w.verify(t, ""), 5, "carried over")
		})
		t.Run("ErrLegacyExtended", func(t *testing.T) {
			w := legacy(t)
			// One more plain SHA-256 event after the sealed prefix.
			w.srv.CreateProject(w.owner, w.org, "After")
			w.rewrite(t, 5, func(e *gatehouse.AuditEvent) { e.KeyID = ""; e.Hash = store.AuditHash(e) })
			wantBroken(t, w.verify(t, ""), 6, "unsealed event")
		})
	})
}

// TestAuditCheckpointLog: changed heads are logged as audit.checkpoint,
// unchanged ones are not logged again.
func TestAuditCheckpointLog(t *testing.T) {
	t.Parallel()
	w := newSealWorld(t, storetest.SQLite())
	ctx := context.Background()
	n, err := w.srv.Main.LogAuditCheckpoints(ctx)
	if err != nil || n == 0 {
		t.Fatalf("first round logged %d heads (%v)", n, err)
	}
	head := w.verify(t, "")["head"].(map[string]any)
	want := fmt.Sprintf(`"checkpoint":"%v:%v"`, head["seq"], head["hash"])
	if logs := w.srv.Logs.String(); !strings.Contains(logs, `"msg":"audit.checkpoint"`) || !strings.Contains(logs, want) {
		t.Fatalf("no audit.checkpoint line with %s in:\n%s", want, logs)
	}
	if n, _ := w.srv.Main.LogAuditCheckpoints(ctx); n != 0 {
		t.Fatalf("unchanged heads logged again: %d", n)
	}
	w.srv.CreateProject(w.owner, w.org, "More")
	if n, _ := w.srv.Main.LogAuditCheckpoints(ctx); n != 1 {
		t.Fatalf("after one change, %d heads logged", n)
	}
}
