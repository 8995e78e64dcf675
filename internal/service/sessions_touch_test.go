package service

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestTouchOnlyPastTheCachePeriod: a session read from the database is
// noted as used only when its last use is older than the cache period, so
// a session evicted from the cache and read again soon after costs no
// write; one idle longer is noted.
func TestTouchOnlyPastTheCachePeriod(t *testing.T) {
	st := storetest.SQLite().Open(t)
	ctx := context.Background()
	t0 := store.Now().Truncate(time.Second)
	if err := st.SeedOrgs(ctx, store.OrgSeed{To: 1, Members: 1, Sessions: 1, TokenHash: secret.HashToken, Now: t0}); err != nil {
		t.Fatal(err)
	}
	noted := func(after time.Duration) int {
		svc := New(st, Config{Now: func() time.Time { return t0.Add(after) }}) // a cold cache each time
		p, err := svc.Auth.Authenticate(ctx, store.SeedToken(0))
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != store.SeedUserID(0) {
			t.Fatalf("principal %+v", p)
		}
		return len(svc.Auth.touched.take())
	}
	if n := noted(sessionCacheTTL / 3); n != 0 {
		t.Fatalf("used %s after its last use: %d notes, want none", sessionCacheTTL/3, n)
	}
	if n := noted(sessionCacheTTL + time.Second); n != 1 {
		t.Fatalf("used %s after its last use: %d notes, want 1", sessionCacheTTL+time.Second, n)
	}
}
