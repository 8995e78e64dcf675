package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// runIdempotency: one claim wins per key; a finished record is returned to
// later claims; a released or expired one can be claimed again.
func runIdempotency(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	claim := func(key, req string, now time.Time) *store.IdempotencyRecord {
		var r *store.IdempotencyRecord
		mustTx(t, s, func(tx *store.Conn) (err error) {
			r, err = tx.ClaimIdempotencyKey(ctx, key, req, now, 24*time.Hour)
			return err
		})
		return r
	}
	if r := claim("k1", "r1", baseTime); r != nil {
		t.Fatalf("first claim found %+v", r)
	}
	if r := claim("k1", "r1", baseTime); r == nil || r.Status != 0 || r.RequestHash != "r1" {
		t.Fatalf("in-flight claim %+v", r)
	}
	mustTx(t, s, func(tx *store.Conn) error {
		return tx.FinishIdempotencyKey(ctx, "k1", 201, "application/json", []byte(`{"a":1}`))
	})
	if r := claim("k1", "r2", baseTime.Add(time.Hour)); r == nil || r.Status != 201 || string(r.Body) != `{"a":1}` || r.RequestHash != "r1" {
		t.Fatalf("finished claim %+v", r)
	}
	if r := claim("k1", "r2", baseTime.Add(25*time.Hour)); r != nil {
		t.Fatalf("expired record still answered %+v", r)
	}
	mustTx(t, s, func(tx *store.Conn) error { return tx.ReleaseIdempotencyKey(ctx, "k1") })
	if r := claim("k1", "r3", baseTime.Add(25*time.Hour)); r != nil {
		t.Fatalf("released record still answered %+v", r)
	}
}
