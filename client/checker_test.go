package client

import (
	"context"
	"testing"
	"time"
)

func cachedChecker(tb testing.TB) (*Checker, CheckRequest) {
	k, err := NewChecker(New("http://127.0.0.1:1", "k"), CheckerOptions{TTL: time.Hour, MaxEntries: 4})
	if err != nil {
		tb.Fatal(err)
	}
	q := CheckRequest{UserID: "u1", EntityType: "projects", EntityID: "p1", Name: "settings", Action: "write"}
	k.store(q, true, 0)
	return k, q
}

// A cached decision costs no allocation (the target: ≤ 1 µs, 0 allocs).
func TestCachedDecisionAllocs(t *testing.T) {
	k, q := cachedChecker(t)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		if ok, err := k.Allowed(ctx, q); !ok || err != nil {
			t.Fatal("not cached")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per cached decision", n)
	}
}

// The cache stays within MaxEntries, expired decisions are asked again,
// and invalidation drops the user's decisions only.
func TestCheckerBoundsAndInvalidation(t *testing.T) {
	now := time.Unix(1000, 0)
	k, err := NewChecker(New("http://127.0.0.1:1", "k"), CheckerOptions{TTL: time.Second, MaxEntries: 3, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"a", "b", "c", "d", "e"} {
		k.store(CheckRequest{UserID: u, Action: "read"}, i%2 == 0, 0)
		if k.Len() > 3 {
			t.Fatalf("%d entries, bound 3", k.Len())
		}
	}
	k.InvalidateAll()
	k.store(CheckRequest{UserID: "a", Action: "read"}, true, 1)
	k.store(CheckRequest{UserID: "b", Action: "read"}, true, 1)
	k.InvalidateUser("a")
	if _, ok := k.cached(CheckRequest{UserID: "a", Action: "read"}, now.UnixNano()); ok {
		t.Fatal("a's decision survived its invalidation")
	}
	if _, ok := k.cached(CheckRequest{UserID: "b", Action: "read"}, now.UnixNano()); !ok {
		t.Fatal("b's decision dropped with a's")
	}
	// An answer that was in flight across an invalidation is not cached.
	k.store(CheckRequest{UserID: "c", Action: "read"}, true, 1)
	if _, ok := k.cached(CheckRequest{UserID: "c", Action: "read"}, now.UnixNano()); ok {
		t.Fatal("stale in-flight answer cached")
	}
	if _, ok := k.cached(CheckRequest{UserID: "b", Action: "read"}, now.Add(time.Second).UnixNano()); ok {
		t.Fatal("expired decision served")
	}
	if _, err := NewChecker(New("http://x", "k"), CheckerOptions{WebhookSecret: "whsec_!!"}); err == nil {
		t.Fatal("bad secret accepted")
	}
}

func BenchmarkCheckerCached(b *testing.B) {
	k, q := cachedChecker(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := k.Allowed(ctx, q); !ok {
				b.Fatal("not cached")
			}
		}
	})
}
