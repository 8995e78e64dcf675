package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// rssBytes reads this process's resident memory from /proc/self/status.
func rssBytes(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Skip("no VmRSS")
	return 0
}

// TestBoundedCacheAt50000Orgs is issue 22's done-criterion: a server with
// GATEHOUSE_CACHE_SIZE=8MiB, checking once in each of 50,000 organizations
// (each with an owner, three members, five projects, twenty folders), grows
// by at most 48 MiB resident and reports evictions; then, checking 50 of
// them again and again, its hit ratio is above 0.95.
func TestBoundedCacheAt50000Orgs(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 50,000 organizations")
	}
	if raceDetector {
		t.Skip("measures resident memory, which the race detector multiplies: run without -race (go test ./internal/app -run TestBoundedCacheAt50000Orgs)")
	}
	const orgs, hot = 50_000, 50
	ctx := context.Background()
	m := &Main{Config: Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BaseURL: "http://gatehouse.test",
		MailFrom: "g@example.com", SecretKey: storetest.TestKey, CacheSize: 8 << 20},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	// As the binary does (cmd/gatehouse); restored for the other tests.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	SetMemoryLimit(m.Config, func(string) string { return "" })
	start := time.Now()
	if err := m.Store.SeedOrgs(ctx, store.OrgSeed{To: orgs, Members: 3, Projects: 5, Folders: 20,
		Sessions: 4, TokenHash: secret.HashToken, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Store.Analyze(ctx, "users", "organizations", "memberships", "projects", "folders", "sessions"); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d organizations in %s", orgs, time.Since(start).Round(time.Second))
	h := m.Handler()
	check := func(i int) {
		body := `{"entity_type":"projects","entity_id":"` + store.SeedProjectID(i, 1) + `","name":"folders","action":"read"}`
		r := httptest.NewRequest("POST", "/v1/members/permissions/check", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+store.SeedToken(i*store.SeedUsersPerOrg))
		r.Header.Set("X-Organization-Id", store.SeedOrgID(i))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"allowed":true`) {
			t.Errorf("org %d: %d %s", i, w.Code, w.Body)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := rssBytes(t)
	start = time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < orgs && !t.Failed(); i = int(next.Add(1) - 1) {
				check(i)
			}
		}()
	}
	wg.Wait()
	rss1 := rssBytes(t)
	runtime.GC()
	debug.FreeOSMemory()
	rss1gc := rssBytes(t)
	grew := float64(rss1-rss0) / (1 << 20)
	t.Logf("one check in each of %d organizations in %s: RSS %.1f → %.1f MiB (+%.1f MiB; +%.1f MiB after a GC)",
		orgs, time.Since(start).Round(time.Second), float64(rss0)/(1<<20), float64(rss1)/(1<<20), grew, float64(rss1gc-rss0)/(1<<20))
	if grew > 48 {
		t.Errorf("resident memory grew by %.1f MiB, more than 48 MiB", grew)
	}
	metrics := scrape(t, h)
	evictions := 0.0
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "gatehouse_cache_evictions_total{") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			evictions += v
			t.Log(line)
		} else if strings.HasPrefix(line, "gatehouse_cache_bytes{") || strings.HasPrefix(line, "gatehouse_cache_entries{") {
			t.Log(line)
		}
	}
	if evictions == 0 {
		t.Error("/metrics reports no evictions")
	}
	before := cacheTotals(m.Services.Cache)
	for range 40 {
		for i := range hot {
			check(i * (orgs / hot))
		}
	}
	after := cacheTotals(m.Services.Cache)
	hits, misses := after[0]-before[0], after[1]-before[1]
	ratio := float64(hits) / float64(hits+misses)
	t.Logf("%d organizations checked again and again: %d hits, %d misses, hit ratio %.4f", hot, hits, misses, ratio)
	if ratio <= 0.95 {
		t.Errorf("hit ratio %.4f, want > 0.95", ratio)
	}
}

func cacheTotals(s *cache.Shared) [2]int64 {
	var out [2]int64
	for _, st := range s.Stats() {
		out[0] += st.Hits
		out[1] += st.Misses
	}
	return out
}

func scrape(t *testing.T, h http.Handler) string {
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000" // /metrics answers loopback peers only
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("/metrics: %d", w.Code)
	}
	return w.Body.String()
}
