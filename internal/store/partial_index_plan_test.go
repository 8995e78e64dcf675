package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestPartialIndexPlans: the indexes that hold only the rows their queries
// ask for (migrations 00170, 00180 and 00200) are still the ones those queries
// read, on both engines: the queries' conditions imply the indexes' WHERE.
func TestPartialIndexPlans(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			st := e.Open(t)
			for _, c := range []struct{ index, query string }{
				{"invitations_prev_token", `SELECT id FROM invitations WHERE prev_token_hash = $1`},
				{"outbox_sent", `SELECT id FROM outbox WHERE status = 'sent' AND sent_at < $1 LIMIT 100`},
				// The mail worker's claim, and the metrics' counts (migration 00200).
				{"outbox_due", `SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1 AND locked_until <= $1
					ORDER BY next_attempt_at LIMIT 20`},
				{"outbox_due", `SELECT COUNT(*) FROM outbox WHERE status = 'queued'`},
				{"outbox_failed", `SELECT COUNT(*) FROM outbox WHERE status = 'failed'`},
				{"invitations_remind_due", `SELECT id FROM invitations WHERE reminded_at IS NULL AND remind_at <= $1 ORDER BY remind_at LIMIT 100`},
				{"invitations_token_expiry", `SELECT id FROM invitations WHERE status IN ('pending', 'expired') AND token_hash NOT LIKE 'expired:%'
					AND expires_at <= $1 AND token_sealed IS NOT NULL LIMIT 100`},
			} {
				arg := any(int64(1))
				if c.index == "invitations_prev_token" {
					arg = "h"
				}
				def := `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1`
				if e.Name == "postgres" {
					def = `SELECT indexdef FROM pg_indexes WHERE indexname = $1`
				}
				var ddl string
				if err := st.WriterDB().QueryRowContext(context.Background(), def, c.index).Scan(&ddl); err != nil {
					t.Fatalf("%s: %v", c.index, err)
				}
				if !strings.Contains(strings.ToUpper(ddl), " WHERE ") {
					t.Errorf("%s holds every row: %s", c.index, ddl)
				}
				args := []any{arg}
				if !strings.Contains(c.query, "$1") {
					args = nil
				}
				plan := explain(t, st, e.Name, recorded{c.index, c.query, args})
				if !strings.Contains(plan, c.index) {
					t.Errorf("%s does not use %s:\n%s", oneLine(c.query), c.index, plan)
				}
			}
		})
	}
}
