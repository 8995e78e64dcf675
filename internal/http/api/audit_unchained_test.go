package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestAuditVerifyUnchained: verify links every committed event first (where
// a background step links them, PostgreSQL) and reports the rest as
// pending, each checked against its own seal: an unchained event forged
// without the key breaks the check, named, without a seq.
func TestAuditVerifyUnchained(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		owner, _ := srv.Signup("Owner", "owner@example.com")
		org := srv.CreateOrg(owner, "Acme")
		srv.CreateProject(owner, org, "P1")
		verify := func() map[string]any {
			return srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/audits/verify", Token: owner, Header: apptest.OrgHeader(org)})
		}
		v := verify()
		if v["ok"] != true || v["events"] != float64(2) || v["pending"] != float64(0) {
			t.Fatalf("verify = %v, want 2 events, all linked", v)
		}
		if !srv.Store.DefersAuditChain() {
			return // events are chained as they are written: nothing is ever unchained
		}
		forged := &gatehouse.AuditEvent{ID: uuid.NewString(), OrgID: org, Action: "member.added", TargetType: "member",
			TargetID: uuid.NewString(), Summary: json.RawMessage(`{}`), CreatedAt: store.Now()}
		forged.Hash = store.AuditHash(forged) // plain SHA-256: no key at hand
		exec(t, srv, `INSERT INTO audit_events (id, chain_id, seq, org_id, action, target_type, target_id, summary, created_at, prev_hash, hash)
			VALUES ($1, $2, -7, $2, $3, $4, $5, '{}', $6, '', $7)`, forged.ID, org, forged.Action, forged.TargetType,
			forged.TargetID, forged.CreatedAt.UnixMicro(), forged.Hash)
		v = verify()
		if v["ok"] != false || v["broken_event"] != forged.ID || v["broken_seq"] != nil || v["pending"] != float64(1) ||
			!strings.Contains(v["reason"].(string), "not yet chained") || v["events"] != float64(2) {
			t.Fatalf("verify = %v, want the forged unchained event named", v)
		}
		// The listing shows it unchained: seq 0, no prev_hash.
		list := srv.Must(200, apptest.Req{Method: "GET", Path: "/v1/audits", Token: owner, Header: apptest.OrgHeader(org)})
		found := false
		for _, it := range list["data"].([]any) {
			ev := it.(map[string]any)
			if ev["id"] == forged.ID {
				found = ev["seq"] == float64(0) && ev["prev_hash"] == ""
			}
		}
		if !found {
			t.Fatalf("listing = %v, want the unchained event with seq 0 and no prev_hash", list)
		}
	})
}
