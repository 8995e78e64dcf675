// Package cache holds Gatehouse's in-process caches: typed views over one
// shared, weighted, bounded store (W-TinyLFU, maypok86/otter), so a single
// setting (GATEHOUSE_CACHE_SIZE) bounds the memory of every cache together.
//
// What it decides: an entry is kept while it fits in the budget and is hot
// enough; a value loaded before an invalidation of its key is never stored
// (generation check); each view counts hits, misses, evictions, entries
// and estimated bytes for /metrics.
package cache

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/maypok86/otter/v2"
)

// entryOverhead estimates what one entry costs beyond its key's bytes and its
// value: the cache node, the key header, the item, the policy's bookkeeping.
// Measured (service.TestCacheWeightsMatchHeap, a bare view: 20,000 entries
// with a bool value and a 38-byte key): the heap grew 161 to 183 bytes per
// entry (more when otter's table doubles during the fill), so ~130 plus
// the key's bytes.
const entryOverhead = 130

// indexOverhead is what an index entry costs beyond its id's bytes: the
// map's slot (string key, indexRef value) and its share of the table.
const indexOverhead = 2*(16+int(unsafe.Sizeof(indexRef{}))) + 8

// key addresses an entry: the view's number, a, a zero byte, b. A string
// key hashes several times faster than a struct of strings (measured: the
// struct's generic hash dominated a hit).
type key = string

// keyOf returns the key of (view, a, b) in a new string, for storing.
func keyOf(view uint8, a, b string) key {
	buf := make([]byte, 0, 2+len(a)+len(b))
	buf = append(buf, view)
	buf = append(buf, a...)
	buf = append(buf, 0)
	buf = append(buf, b...)
	return string(buf)
}

// lookupKey is keyOf in buf when it fits: for look-ups only, since the
// string lives in the caller's buffer.
func lookupKey(buf *[keyBuf]byte, view uint8, a, b string) key {
	n := 2 + len(a) + len(b)
	if n > keyBuf {
		return keyOf(view, a, b)
	}
	buf[0] = view
	copy(buf[1:], a)
	buf[1+len(a)] = 0
	copy(buf[2+len(a):], b)
	return unsafe.String(&buf[0], n)
}

const keyBuf = 160

// splitKey returns a key's view, a and b.
func splitKey(k key) (view uint8, a, b string) {
	a, b, _ = strings.Cut(k[1:], "\x00")
	return k[0], a, b
}

// stored is what the shared cache holds: a typed item of one view.
type stored interface {
	meta() *itemMeta
}

type itemMeta struct {
	view   uint8
	weight uint32
	// index is the secondary id of an indexed view's entry ("" for none).
	index string
}

type item[V any] struct {
	itemMeta
	v V
}

func (i *item[V]) meta() *itemMeta { return &i.itemMeta }

// indexRef points from a secondary id to the primary entry holding it (a
// session id to its token hash).
type indexRef struct {
	a, b   string
	target stored
}

// viewIndex is an indexed view's secondary ids. It lives beside the store,
// not in it: an entry of no weight of its own would never be evicted, and
// otter's eviction walks past every such entry at the head of its queues
// on each eviction (measured: a fifth of the CPU of a scale run). Its size
// follows the view's: an id leaves with its entry (OnDeletion), and its
// cost is weighed with its entry.
type viewIndex struct {
	mu sync.Mutex
	m  map[string]indexRef
}

// drop removes id when it still points to target.
func (x *viewIndex) drop(id string, target stored) {
	x.mu.Lock()
	if r, ok := x.m[id]; ok && r.target == target {
		delete(x.m, id)
	}
	x.mu.Unlock()
}

// Shared is the one bounded store under every view.
type Shared struct {
	c       *otter.Cache[key, stored]
	max     uint64
	mu      sync.Mutex // guards views
	views   []*counters
	indexes []*viewIndex // view → its index, or nil
	locks   []*sync.Mutex
	globals []*atomic.Uint64
	drops   []func(stored) // view → its OnDrop, or nil
}

// counters are one view's figures; padded so views do not share lines.
type counters struct {
	name                             string
	hits, misses, evictions, entries atomic.Int64
	bytes                            atomic.Int64
	_                                [64]byte
}

// New makes the shared store bounded to maxBytes of estimated size.
func New(maxBytes uint64) *Shared {
	s := &Shared{max: maxBytes, views: []*counters{{name: "(none)"}}, indexes: []*viewIndex{nil}, drops: []func(stored){nil}}
	s.c = otter.Must(&otter.Options[key, stored]{
		MaximumWeight: maxBytes,
		Weigher:       func(_ key, v stored) uint32 { return v.meta().weight },
		OnAtomicDeletion: func(e otter.DeletionEvent[key, stored]) {
			m := e.Value.meta()
			c := s.views[m.view]
			if d := s.drops[m.view]; d != nil {
				d(e.Value)
			}
			c.entries.Add(-1)
			c.bytes.Add(-int64(m.weight))
			if e.Cause.IsEviction() {
				c.evictions.Add(1)
			}
			// An indexed entry leaving takes its index entry with it, unless
			// the index already points to a newer entry.
			if m.index != "" {
				s.indexes[m.view].drop(m.index, e.Value)
			}
		},
	})
	return s
}

// MaxBytes is the budget.
func (s *Shared) MaxBytes() uint64 { return s.max }

func (s *Shared) register(name string) uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.views) == 255 {
		panic("cache: too many views")
	}
	s.views = append(s.views, &counters{name: name})
	s.indexes = append(s.indexes, nil)
	s.drops = append(s.drops, nil)
	return uint8(len(s.views) - 1)
}

// Stats is one view's figures.
type Stats struct {
	Name                                    string
	Hits, Misses, Evictions, Entries, Bytes int64
}

// Stats returns every view's figures.
func (s *Shared) Stats() []Stats {
	s.mu.Lock()
	views := s.views[1:]
	s.mu.Unlock()
	out := make([]Stats, 0, len(views))
	for _, c := range views {
		out = append(out, Stats{Name: c.name, Hits: c.hits.Load(), Misses: c.misses.Load(),
			Evictions: c.evictions.Load(), Entries: c.entries.Load(), Bytes: c.bytes.Load()})
	}
	return out
}

// Clear drops every entry of every view. Only for a process that may have
// missed invalidations (its PostgreSQL listener reconnected); never for size.
func (s *Shared) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, mu := range s.locks {
		mu.Lock()
		s.globals[i].Add(1) // loads under way are not stored
		defer mu.Unlock()
	}
	s.c.InvalidateAll()
}

const stripes = 64

// Cache is a typed view of the shared store, with its own counters and
// generations. Values must not change once stored.
type Cache[V any] struct {
	s      *Shared
	view   uint8
	weigh  func(V) int
	index  func(V) string
	c      *counters
	seed   maphash.Seed
	mu     sync.Mutex // orders fills against invalidations
	global atomic.Uint64
	gens   [stripes]atomic.Uint64
}

// Options configure a view.
type Options[V any] struct {
	// Weigh estimates a value's size in bytes (the key's are added).
	Weigh func(V) int
	// Index, when set, names a secondary id of each value, for
	// InvalidateIndex (a session's id for a cache keyed by token hash).
	Index func(V) string
	// OnDrop, when set, runs as a value leaves the store for any reason
	// (invalidated, replaced, evicted, cleared), atomically with its
	// removal: after Invalidate returns, OnDrop has run. It must be quick
	// and must not call the cache.
	OnDrop func(V)
}

// NewCache registers a view named name (the metrics' cache label).
func NewCache[V any](s *Shared, name string, o Options[V]) *Cache[V] {
	c := &Cache[V]{s: s, weigh: o.Weigh, index: o.Index, seed: maphash.MakeSeed()}
	c.view = s.register(name)
	c.c = s.views[c.view]
	s.mu.Lock()
	if o.OnDrop != nil {
		s.drops[c.view] = func(v stored) { o.OnDrop(v.(*item[V]).v) }
	}
	s.locks = append(s.locks, &c.mu)
	s.globals = append(s.globals, &c.global)
	s.mu.Unlock()
	if o.Index != nil {
		s.mu.Lock()
		s.indexes[c.view] = &viewIndex{m: map[string]indexRef{}}
		s.mu.Unlock()
	}
	return c
}

// Get returns the value under (a, b), counting a hit or a miss.
func (c *Cache[V]) Get(a, b string) (V, bool) {
	var buf [keyBuf]byte
	v, ok := c.s.c.GetIfPresent(lookupKey(&buf, c.view, a, b))
	if !ok {
		c.c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.c.hits.Add(1)
	return v.(*item[V]).v, true
}

// Ticket is the state of a key's generations before a load.
type Ticket struct{ global, stripe uint64 }

func (c *Cache[V]) stripe(a, b string) *atomic.Uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(a)
	h.WriteString(b)
	return &c.gens[h.Sum64()%stripes]
}

// Begin is called before loading (a, b) from the database; Fill with the
// ticket stores the loaded value only if no invalidation of that key (or of
// the whole view) came in between.
func (c *Cache[V]) Begin(a, b string) Ticket {
	return Ticket{global: c.global.Load(), stripe: c.stripe(a, b).Load()}
}

// Fill stores v under (a, b) unless an invalidation came after t was taken;
// it reports whether v was stored.
func (c *Cache[V]) Fill(t Ticket, a, b string, v V) bool {
	w := entryOverhead + 2 + len(a) + len(b)
	if c.weigh != nil {
		w += c.weigh(v)
	}
	// No flat calibration: each view's weigher is checked against the
	// heap's growth per entry (service.TestCacheWeightsMatchHeap).
	it := &item[V]{itemMeta: itemMeta{view: c.view, weight: uint32(min(w, 1<<31))}, v: v}
	if c.index != nil {
		it.index = c.index(v)
		it.weight += uint32(indexOverhead + AllocSize(len(it.index))) // its index entry, in viewIndex
	}
	st := c.stripe(a, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.global.Load() != t.global || st.Load() != t.stripe {
		return false
	}
	c.c.entries.Add(1)
	c.c.bytes.Add(int64(it.weight))
	if it.index != "" {
		// Indexed before it is stored, so that no moment exists where the
		// entry is cached and InvalidateIndex cannot find it.
		x := c.s.indexes[c.view]
		x.mu.Lock()
		x.m[it.index] = indexRef{a: a, b: b, target: it}
		x.mu.Unlock()
	}
	c.s.c.Set(keyOf(c.view, a, b), it)
	return true
}

// Invalidate drops (a, b); a load of it already under way is not stored.
func (c *Cache[V]) Invalidate(a, b string) {
	st := c.stripe(a, b)
	c.mu.Lock()
	st.Add(1)
	var buf [keyBuf]byte
	c.s.c.Invalidate(lookupKey(&buf, c.view, a, b))
	c.mu.Unlock()
}

// InvalidateIndex drops the entry whose secondary id is id; every load under
// way is not stored (its id is not known before it ends).
func (c *Cache[V]) InvalidateIndex(id string) {
	x := c.s.indexes[c.view]
	c.mu.Lock()
	defer c.mu.Unlock()
	c.global.Add(1)
	x.mu.Lock()
	ref, ok := x.m[id]
	x.mu.Unlock()
	if ok {
		c.s.c.Invalidate(keyOf(c.view, ref.a, ref.b)) // its OnDeletion drops the index entry
		x.drop(id, ref.target)
	}
}

// InvalidateIf drops every entry of the view that match says; it walks the
// whole store, so it serves rare changes only (an organization deleted).
func (c *Cache[V]) InvalidateIf(match func(a, b string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.global.Add(1)
	var drop []key
	for k, v := range c.s.c.All() {
		if view, a, b := splitKey(k); view == c.view && match(a, b, v.(*item[V]).v) {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		c.s.c.Invalidate(k)
	}
}

// Len is the view's entry count (approximate while deletions are pending).
func (c *Cache[V]) Len() int64 { return c.c.entries.Load() }
