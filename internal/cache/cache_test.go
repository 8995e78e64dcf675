package cache

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"64MiB": 64 << 20, "1GiB": 1 << 30, "8mib": 8 << 20, "2000000": 2e6, "3 MB": 3e6} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1MiB", "0", "1.5GiB", "10KiB", "99999999999TiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// A load that began before an invalidation of its key never lands, whatever
// the interleaving: the invalidation wins.
func TestReloadBeforeInvalidationNeverWins(t *testing.T) {
	s := New(8 << 20)
	c := NewCache[string](s, "trees", Options[string]{})
	t1 := c.Begin("org", "")
	c.Invalidate("org", "") // the change commits while the load reads old rows
	if c.Fill(t1, "org", "", "old") {
		t.Fatal("a value loaded before the invalidation was stored")
	}
	if _, ok := c.Get("org", ""); ok {
		t.Fatal("stale value served")
	}
	// Another key's invalidation does not cost this key its fill (stripes
	// may collide; try a few keys).
	stored := 0
	for i := range 8 {
		k := fmt.Sprint("other", i)
		tk := c.Begin(k, "")
		c.Invalidate("org", "")
		if c.Fill(tk, k, "", "v") {
			stored++
		}
	}
	if stored == 0 {
		t.Fatal("unrelated invalidations dropped every fill")
	}
	// Concurrent: loaders read a version, then fill; an invalidator bumps the
	// version then invalidates. Whatever is cached at the end is the newest.
	var mu sync.Mutex
	version := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tk := c.Begin("hot", "")
				mu.Lock()
				v := version
				mu.Unlock()
				c.Fill(tk, "hot", "", fmt.Sprint(v))
			}
		}()
	}
	for range 2000 {
		mu.Lock()
		version++
		mu.Unlock()
		c.Invalidate("hot", "") // after the "commit", as notifications are
		if v, ok := c.Get("hot", ""); ok {
			mu.Lock()
			cur := fmt.Sprint(version)
			mu.Unlock()
			if v != cur {
				t.Fatalf("cached %s after version %s was invalidated", v, cur)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestBoundedByWeightWithEvictions(t *testing.T) {
	s := New(1 << 20)
	c := NewCache[string](s, "members", Options[string]{Weigh: func(v string) int { return len(v) }})
	big := strings.Repeat("x", 1000)
	for i := range 10000 { // ~11 MB offered to a 1 MiB budget
		k := fmt.Sprint(i)
		c.Fill(c.Begin(k, ""), k, "", big)
	}
	s.c.CleanUp()
	time.Sleep(10 * time.Millisecond)
	st := s.Stats()[0]
	if st.Bytes > 1<<20+2000 || st.Bytes <= 0 {
		t.Fatalf("bytes = %d, budget 1MiB", st.Bytes)
	}
	if st.Evictions < 8000 || st.Entries > 1000 || st.Entries < 100 {
		t.Fatalf("stats %+v", st)
	}
	// Replacing an entry keeps the counts right. In a cache with room: in
	// a full one, otter may evict a new entry at once (its admission policy),
	// and does so asynchronously.
	s = New(1 << 20)
	c = NewCache[string](s, "members", Options[string]{Weigh: func(v string) int { return len(v) }})
	c.Fill(c.Begin("r", ""), "r", "", "a")
	n := c.Len()
	c.Fill(c.Begin("r", ""), "r", "", "b")
	if c.Len() != n || n != 1 {
		t.Fatalf("replacement changed the count: %d → %d", n, c.Len())
	}
	if v, ok := c.Get("r", ""); !ok || v != "b" {
		t.Fatalf("got %q %v", v, ok)
	}
	if st := s.Stats()[0]; st.Hits != 1 || st.Entries != 1 || st.Bytes <= 0 {
		t.Fatalf("stats after the replacement %+v", st)
	}
}

type sess struct{ id, user string }

func TestInvalidateIndex(t *testing.T) {
	s := New(8 << 20)
	c := NewCache[*sess](s, "sessions", Options[*sess]{Index: func(v *sess) string { return v.id }})
	c.Fill(c.Begin("hash1", ""), "hash1", "", &sess{"s1", "u"})
	c.Fill(c.Begin("hash2", ""), "hash2", "", &sess{"s2", "u"})
	// A load under way when a session ends is not stored, even though its
	// session id was unknown when it began.
	tk := c.Begin("hash3", "")
	c.InvalidateIndex("s1")
	if _, ok := c.Get("hash1", ""); ok {
		t.Fatal("ended session still cached")
	}
	if c.Fill(tk, "hash3", "", &sess{"s3", "u"}) {
		t.Fatal("load begun before the end was stored")
	}
	if _, ok := c.Get("hash2", ""); !ok {
		t.Fatal("other session dropped")
	}
	// The index entry leaves with its entry.
	c.Invalidate("hash2", "")
	deadline := time.Now().Add(time.Second)
	for {
		x := s.indexes[c.view]
		x.mu.Lock()
		_, ok := x.m["s2"]
		x.mu.Unlock()
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("index entry outlived its entry")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClearStopsLoadsUnderWay(t *testing.T) {
	s := New(8 << 20)
	c := NewCache[string](s, "x", Options[string]{})
	c.Fill(c.Begin("a", ""), "a", "", "1")
	tk := c.Begin("b", "")
	s.Clear()
	if _, ok := c.Get("a", ""); ok {
		t.Fatal("not cleared")
	}
	if c.Fill(tk, "b", "", "2") {
		t.Fatal("load begun before Clear was stored")
	}
}

type dropMe struct{ dropped bool }

// OnDrop has run by the time Invalidate, Clear or an eviction removed the
// value: what depends on it can check a flag instead of looking it up.
func TestOnDrop(t *testing.T) {
	s := New(1 << 20)
	var mu sync.Mutex
	c := NewCache[*dropMe](s, "trees", Options[*dropMe]{Weigh: func(*dropMe) int { return 1000 },
		OnDrop: func(v *dropMe) { mu.Lock(); v.dropped = true; mu.Unlock() }})
	isDropped := func(v *dropMe) bool { mu.Lock(); defer mu.Unlock(); return v.dropped }
	a, b := &dropMe{}, &dropMe{}
	c.Fill(c.Begin("a", ""), "a", "", a)
	c.Fill(c.Begin("b", ""), "b", "", b)
	c.Invalidate("a", "")
	if !isDropped(a) || isDropped(b) {
		t.Fatal("Invalidate did not drop exactly its value")
	}
	s.Clear()
	if !isDropped(b) {
		t.Fatal("Clear did not drop")
	}
	var vs []*dropMe
	for i := range 3000 {
		v := &dropMe{}
		vs = append(vs, v)
		k := fmt.Sprint(i)
		c.Fill(c.Begin(k, ""), k, "", v)
	}
	s.c.CleanUp()
	n := 0
	for i, v := range vs {
		if _, ok := s.c.GetIfPresent(keyOf(c.view, fmt.Sprint(i), "")); !ok {
			if !isDropped(v) {
				t.Fatalf("value %d left without OnDrop", i)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("nothing was evicted")
	}
}

// TestIndexBoundedByEntries fills an indexed view far past the budget: the
// secondary ids leave with their evicted entries, so the index never holds
// more than the entries still cached (it lives outside otter, where an
// entry of no weight would never be evicted).
func TestIndexBoundedByEntries(t *testing.T) {
	s := New(64 << 10)
	c := NewCache[*sess](s, "sessions", Options[*sess]{Index: func(v *sess) string { return v.id }})
	for i := range 20000 {
		h := fmt.Sprintf("hash%d", i)
		c.Fill(c.Begin(h, ""), h, "", &sess{fmt.Sprintf("s%d", i), "u"})
	}
	s.c.CleanUp()
	x := s.indexes[c.view]
	x.mu.Lock()
	n := len(x.m)
	x.mu.Unlock()
	entries := s.c.EstimatedSize()
	if n > entries || entries > 20000/10 {
		t.Fatalf("index holds %d ids for %d cached entries (of 20,000 filled)", n, entries)
	}
	if st := s.Stats()[0]; st.Evictions == 0 {
		t.Fatal("nothing evicted")
	}
}

// TestAllocSize: sizes round up to the allocator's classes, exactly where
// the classes are 16 bytes apart and within an eighth above.
func TestAllocSize(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 16, 16: 16, 17: 32, 128: 128, 129: 144, 720: 768, 1024: 1024, 1100: 1152} {
		if got := AllocSize(n); got != want {
			t.Errorf("AllocSize(%d) = %d, want %d", n, got, want)
		}
	}
	for n := 1; n < 1<<20; n = n*5/4 + 1 {
		if got := AllocSize(n); got < n || float64(got) > float64(n)*1.125+16 {
			t.Errorf("AllocSize(%d) = %d", n, got)
		}
	}
}
