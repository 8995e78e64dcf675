package service

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// heapAlloc is the live heap after a full collection.
func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// viewBytes is the cache's estimated bytes and entries of every view.
func viewBytes(s *Services) (bytes, entries map[string]int64) {
	bytes, entries = map[string]int64{}, map[string]int64{}
	for _, v := range s.Access.base.cache.Stats() {
		bytes[v.Name], entries[v.Name] = v.Bytes, v.Entries
	}
	return bytes, entries
}

// checkWeight fills one cache kind and compares the heap's growth per entry
// with the cache's estimate of it: GATEHOUSE_CACHE_SIZE and the soft memory
// limit derived from it only bound memory if the estimate is close.
func checkWeight(t *testing.T, svc *Services, kind string, n int, fill func()) {
	t.Helper()
	b0, e0 := viewBytes(svc)
	h0 := heapAlloc()
	fill()
	h1 := heapAlloc()
	b1, e1 := viewBytes(svc)
	if got := e1[kind] - e0[kind]; got != int64(n) {
		t.Fatalf("%s: %d entries stored, want %d", kind, got, n)
	}
	var est int64
	for name := range b1 {
		est += b1[name] - b0[name] // every view filled on the way counts
	}
	measured := float64(h1-h0) / float64(n)
	estimated := float64(est) / float64(n)
	t.Logf("%s: %d entries, heap %.0f bytes/entry, estimate %.0f bytes/entry (x%.2f)", kind, n, measured, estimated, measured/estimated)
	if estimated < 0.75*measured || estimated > 1.25*measured {
		t.Errorf("%s: estimate %.0f bytes/entry, heap grew %.0f bytes/entry: not within 25%%", kind, estimated, measured)
	}
	runtime.KeepAlive(svc)
}

// TestCacheWeightsMatchHeap fills each cache kind with entries built the way
// the service builds them and checks each weigher against the Go heap.
func TestCacheWeightsMatchHeap(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("measures the heap: not under -short or -race")
	}
	st := storetest.SQLite().Open(t)
	ctx := context.Background()
	// The scale run's organizations: an owner, three members with role and
	// folder or area grants, five projects, twenty folders.
	const orgs = 3000
	if err := st.SeedOrgs(ctx, store.OrgSeed{To: orgs, Members: 3, Projects: 5, Folders: 20, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rights := func(s *Services, member int) {
		for i := range orgs {
			if _, err := s.Access.MemberRights(ctx, store.SeedOrgID(i), store.SeedUserID(i*store.SeedUsersPerOrg+member)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A first pass warms the database's page cache (Go heap too); its own
	// cache entries are in the baseline of every measurement below.
	warm := New(st, Config{})
	rights(warm, 0)
	rights(warm, 1)
	rosters := func(s *Services) {
		for i := range orgs {
			if _, err := s.Lookups.roster(ctx, store.SeedOrgID(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rosters(warm)
	svc := New(st, Config{})
	checkWeight(t, svc, "trees", orgs, func() {
		for i := range orgs {
			if _, err := svc.Access.Tree(ctx, store.SeedOrgID(i)); err != nil {
				t.Fatal(err)
			}
		}
	})
	checkWeight(t, svc, "members", orgs, func() { rights(svc, 0) }) // owners
	checkWeight(t, svc, "members", orgs, func() { rights(svc, 1) }) // members with grants
	checkWeight(t, svc, "rosters", orgs, func() { rosters(svc) })   // their trees cached above

	// An entry with no value to weigh: the cache's own cost per entry
	// (otter's node, the key, the item), what entryOverhead estimates.
	const n = 20000
	bare := cache.NewCache(svc.Access.base.cache, "bare", cache.Options[bool]{})
	checkWeight(t, svc, "bare", n, func() {
		m := bare
		for range n {
			id := newID()
			m.Fill(m.Begin(id, ""), id, "", true)
		}
	})

	// Sessions and API keys are built as Authenticate builds them, from
	// values shaped like the store's (fresh strings per row).
	now := time.Now()
	checkWeight(t, svc, "sessions", n, func() {
		for i := range n {
			h := secret.HashToken(newID())
			p := &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: newID(), SessionID: newID(),
				Name: "Member " + itoa(i), CurrentOrgID: newID(), AMR: []string{"pwd"}}
			c := svc.Auth.cache
			c.put(c.begin(h), h, p, now.Add(time.Hour), now)
		}
	})
	checkWeight(t, svc, "api_keys", n, func() {
		for i := range n {
			h := secret.HashToken(newID())
			org, project, folder := newID(), newID(), newID()
			key := &gatehouse.APIKey{ID: newID(), OrgID: org, Name: "key " + itoa(i), Prefix: "gh_" + itoa(i),
				SecretHash: h, Grants: viewerOf(org, project, folder), CreatedBy: newID(), CreatedAt: now}
			k := svc.Auth.keys.byHash
			k.Fill(k.Begin(h, ""), h, "", &cachedKey{key: key, cachedAt: now})
		}
	})
}
