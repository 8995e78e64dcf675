package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	mrand "math/rand"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The scale run (-scale N): N organizations seeded through the store's bulk
// insert (an owner, three members with grants, five projects, twenty folders
// each), then permission checks whose organizations follow a Zipf law
// (s = 1.1) for -duration, with the server's caches bounded by -cache-size,
// after an unmeasured warm-up (-scale-warmup: by default until the hit
// ratio stops climbing, so that runs are compared in their steady states).
// The same is run for N = 10,000 first, in the same process, and the figures
// compared. Requests go through the server's whole HTTP handler in process
// (no sockets), so the client's cost does not hide the server's.
//
// -sessions M: M live sessions (bulk inserted, four per organization) and
// requests spread uniformly over them for -duration; p99 per second should
// stay flat (no periodic cliff as a cache empties).

// scaleRun is one measured run.
type scaleRun struct {
	n                  int
	seed, open         time.Duration // seed: insert, ANALYZE and close
	insert             time.Duration
	rssStart, rssEnd   int64
	checks             int64
	elapsed            time.Duration
	cpu                time.Duration // the process's CPU time in the measured window
	p50, p99           time.Duration
	hits, misses       int64
	series             []tick
	errors             int64
	secondP99Min       time.Duration
	secondP99Max       time.Duration
	secondP99Median    time.Duration
	evictions, entries int64         // evictions in the measured window; entries at its end
	warm               time.Duration // unmeasured warm-up before the measured window
	warmRatio          float64       // hit ratio over the warm-up's last window
	rssWarm            int64         // resident memory after the warm-up
	warmSeries         []tick
}

type tick struct {
	second    int
	rss       int64
	p99       time.Duration
	hitRatio  float64
	checksSec int64
}

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// runScale runs -scale (and -sessions) and prints the comparison.
func runScale(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	size, err := cache.ParseSize(o.cacheSize)
	if err != nil {
		return fmt.Errorf("-cache-size: %w", err)
	}
	var csv io.Writer
	if o.csvFile != "" {
		f, err := os.Create(o.csvFile)
		if err != nil {
			return err
		}
		defer f.Close()
		csv = f
		fmt.Fprintln(csv, "run,orgs,second,rss_bytes,p99_us,hit_ratio,checks")
	}
	fmt.Fprintf(stdout, "gatehouse-bench scale run: cache %s, %s per run, %d goroutines, GOMAXPROCS %d\n", o.cacheSize, o.duration, o.conns, runtime.GOMAXPROCS(0))
	var runs []*scaleRun
	if o.scale > 0 {
		sizes := []int{10_000, o.scale}
		if o.scale == 10_000 {
			sizes = sizes[:1]
		}
		for _, n := range sizes {
			r, err := scaleOnce(ctx, o, size, n, false, stdout)
			if err != nil {
				return err
			}
			runs = append(runs, r)
			writeCSV(csv, "checks-warmup", r.n, r.warmSeries)
			writeCSV(csv, "checks", r.n, r.series)
		}
		base, big := runs[0], runs[len(runs)-1]
		fmt.Fprintf(stdout, "\n%-12s %10s %10s %9s %10s %10s %9s %9s %8s %12s %12s %9s\n", "orgs", "seed", "start-up", "warm-up", "checks/s", "CPU/check", "p50", "p99", "hits", "RSS start", "RSS end", "evicted")
		for _, r := range runs {
			fmt.Fprintf(stdout, "%-12d %10s %10s %9s %10.0f %10s %9s %9s %8.4f %12s %12s %9d\n", r.n, r.seed.Round(time.Second), r.open.Round(time.Millisecond),
				r.warm.Round(time.Second), float64(r.checks)/r.elapsed.Seconds(), r.cpuPerCheck().Round(100*time.Nanosecond), r.p50, r.p99, ratio(r.hits, r.misses), mib(r.rssStart), mib(r.rssEnd), r.evictions)
		}
		tp := (float64(big.checks) / big.elapsed.Seconds()) / (float64(base.checks) / base.elapsed.Seconds())
		grew := big.rssEnd - big.rssStart
		fmt.Fprintf(stdout, "\nthroughput at N=%d vs N=10,000: %.2f× (target ≥ 0.7×) %s\n", big.n, tp, passMiss(tp >= 0.7))
		// On a shared machine the two runs may get different shares of the
		// cores; the CPU each check took (the in-process load generator's
		// included) is the steadier comparison.
		fmt.Fprintf(stdout, "CPU per check at N=%d vs N=10,000: %s vs %s, throughput per CPU second %.2f×\n", big.n,
			big.cpuPerCheck().Round(100*time.Nanosecond), base.cpuPerCheck().Round(100*time.Nanosecond), float64(base.cpuPerCheck())/float64(max(big.cpuPerCheck(), 1)))
		fmt.Fprintf(stdout, "resident memory growth at N=%d: %s (target ≤ cache %s + 64 MiB) %s\n", big.n, mib(grew), o.cacheSize, passMiss(grew <= int64(size)+64<<20))
		fmt.Fprintf(stdout, "start-up (open, migrations) at N=%d vs 10,000: %s vs %s\n", big.n, big.open.Round(time.Millisecond), base.open.Round(time.Millisecond))
	}
	if o.sessions > 0 {
		r, err := scaleOnce(ctx, o, size, o.sessions/4, true, stdout)
		if err != nil {
			return err
		}
		writeCSV(csv, "sessions-warmup", r.n, r.warmSeries)
		writeCSV(csv, "sessions", r.n, r.series)
		flat := float64(r.secondP99Max) / float64(max(r.secondP99Median, 1))
		fmt.Fprintf(stdout, "\n%d live sessions, requests spread over all: %.0f req/s, p50 %s, p99 %s; p99 per second: min %s, median %s, max %s (max/median %.1f×); hit ratio %.4f; RSS %s → %s\n",
			o.sessions, float64(r.checks)/r.elapsed.Seconds(), r.p50, r.p99, r.secondP99Min, r.secondP99Median, r.secondP99Max, flat, ratio(r.hits, r.misses), mib(r.rssStart), mib(r.rssEnd))
	}
	return nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

func ratio(h, m int64) float64 {
	if h+m == 0 {
		return 0
	}
	return float64(h) / float64(h+m)
}

func writeCSV(w io.Writer, run string, n int, series []tick) {
	if w == nil {
		return
	}
	for _, t := range series {
		fmt.Fprintf(w, "%s,%d,%d,%d,%d,%.4f,%d\n", run, n, t.second, t.rss, t.p99.Microseconds(), t.hitRatio, t.checksSec)
	}
}

// scaleOnce seeds n organizations in a fresh database, opens a server on it
// and runs the load.
func scaleOnce(ctx context.Context, o *options, size uint64, n int, sessions bool, stdout io.Writer) (*scaleRun, error) {
	r := &scaleRun{n: n}
	h := &harness{o: o, stdout: stdout, stderr: io.Discard}
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	cfg := app.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1", MailFrom: "bench@example.com",
		SecretKey: hex.EncodeToString(key), LogLevel: slog.LevelError, CacheSize: size}
	if o.databaseURL != "" {
		dsn, err := h.createSchema(ctx, o.databaseURL)
		if err != nil {
			return nil, err
		}
		defer func() { _ = h.dropSchema() }()
		cfg.DatabaseURL = dsn
	} else {
		dir, err := os.MkdirTemp("", "gatehouse-scale-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	// Seed with one server, then measure start-up on a second one.
	seeder := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := seeder.Open(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "\nseeding %d organizations...\n", n)
	start := time.Now()
	perOrg := 1
	if sessions {
		perOrg = 4
	}
	// In steps of 100,000 organizations, with progress (a million take minutes).
	var err error
	for from := 0; from < n && err == nil; from += 100_000 {
		to := min(from+100_000, n)
		err = seeder.Store.SeedOrgs(ctx, store.OrgSeed{From: from, To: to, Members: 3, Projects: 5, Folders: 20, Sessions: perOrg,
			TokenHash: secret.HashToken, Now: start})
		if err == nil && to < n {
			fmt.Fprintf(stdout, "  %d organizations in %s (%.0f/s)\n", to, time.Since(start).Round(time.Second), float64(to)/time.Since(start).Seconds())
		}
	}
	r.insert = time.Since(start)
	if err == nil {
		err = seeder.Store.Analyze(ctx, "users", "organizations", "memberships", "projects", "folders", "sessions")
	}
	_ = seeder.Close(ctx)
	if err != nil {
		return nil, err
	}
	r.seed = time.Since(start)
	fmt.Fprintf(stdout, "seeded in %s: inserted in %s (%.0f organizations/s), then ANALYZE %s\n", r.seed.Round(time.Second),
		r.insert.Round(time.Second), float64(n)/r.insert.Seconds(), (r.seed - r.insert).Round(time.Second))
	runtime.GC()
	start = time.Now()
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(ctx); err != nil {
		return nil, err
	}
	defer m.Close(ctx)
	r.open = time.Since(start)
	app.SetMemoryLimit(cfg, os.Getenv) // as cmd/gatehouse does
	// The server's background chore (Main.Start, not called here: no
	// socket): write batched last-use times.
	flushDone := make(chan struct{})
	defer close(flushDone)
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-flushDone:
				return
			case <-t.C:
			case <-m.Services.Auth.FlushSoon():
			case <-m.Services.Keys.FlushSoon():
			}
			_ = m.Services.Auth.FlushLastUsed(ctx)
			_ = m.Services.Keys.FlushLastUsed(ctx)
		}
	}()
	handler := m.Handler()
	zipfFor := func(seed int64) func() int {
		rng := mrand.New(mrand.NewSource(seed))
		if sessions {
			return func() int { return rng.Intn(n * 4) } // a user, uniformly
		}
		z := mrand.NewZipf(rng, 1.1, 1, uint64(n-1))
		// Ranks are scattered over the organizations, so the hot ones are
		// not the first seeded.
		return func() int { return int((z.Uint64() * 2654435761) % uint64(n)) }
	}
	// A request as the server's connection hands it to the handler, built
	// without httptest.NewRequest, which parses a wire-format request
	// through a fresh 4 KiB bufio.Reader each time: garbage of the
	// harness's own that net/http's server does not make (it reuses a
	// connection's reader), and that would tax the collector of the
	// process measured.
	request := func(u int, w *sinkWriter) (time.Duration, bool) {
		org := u / 4
		user := org*store.SeedUsersPerOrg + u%4
		body := `{"entity_type":"projects","entity_id":"` + store.SeedProjectID(org, 1) + `","name":"livestreams","action":"read"}`
		req, err := http.NewRequestWithContext(ctx, "POST", "http://127.0.0.1/v1/members/permissions/check", strings.NewReader(body))
		if err != nil {
			return 0, false
		}
		req.RequestURI, req.RemoteAddr = "/v1/members/permissions/check", "192.0.2.1:1234"
		req.Header.Set("Authorization", "Bearer "+store.SeedToken(user))
		req.Header.Set("X-Organization-Id", store.SeedOrgID(org))
		req.Header.Set("Content-Type", "application/json")
		w.reset()
		t0 := time.Now()
		handler.ServeHTTP(w, req)
		return time.Since(t0), w.code == http.StatusOK
	}
	stats := func() (h, mi, ev, en int64) {
		for _, s := range m.Services.Cache.Stats() {
			h, mi, ev, en = h+s.Hits, mi+s.Misses, ev+s.Evictions, en+s.Entries
		}
		return
	}
	debug.FreeOSMemory() // the seed's garbage is not the server's
	r.rssStart = rss()
	memStart := readMemSplit()
	fmt.Fprintf(stdout, "N=%d start: %s\n", n, memStart)
	heapProfile(o, fmt.Sprintf("%d-start", n))
	h0, m0, _, _ := stats()
	var mu sync.Mutex
	// The measured window's latencies, in a histogram: a slice of every
	// latency grew by 8 bytes per check (50 MiB in a minute at 10,000
	// organizations), counted in the memory this run measures.
	var all latencyHist
	var cur []time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var errs atomic.Int64
	for g := range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := zipfFor(int64(g) + 1)
			local := make([]time.Duration, 0, 32) // handed over often, for per-second figures
			w := &sinkWriter{h: http.Header{}}
			for {
				select {
				case <-stop:
					mu.Lock()
					cur = append(cur, local...)
					mu.Unlock()
					return
				default:
				}
				u := next()
				if !sessions {
					u *= 4 // the organization's owner
				}
				d, ok := request(u, w)
				if !ok {
					errs.Add(1)
				}
				local = append(local, d)
				if len(local) == cap(local) {
					mu.Lock()
					cur = append(cur, local...)
					mu.Unlock()
					local = local[:0]
				}
			}
		}()
	}
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	// Each second: the latencies of the checks done since the last call,
	// and the hit ratio since the last tick.
	lastH, lastM := h0, m0
	second := func(sec int) (tick, []time.Duration, error) {
		select {
		case <-ctx.Done():
			close(stop)
			wg.Wait()
			return tick{}, nil, ctx.Err()
		case <-tk.C:
		}
		mu.Lock()
		window := cur
		cur = nil
		mu.Unlock()
		hh, mm, _, _ := stats()
		t := tick{second: sec, rss: rss(), hitRatio: ratio(hh-lastH, mm-lastM), checksSec: int64(len(window))}
		lastH, lastM = hh, mm
		if len(window) > 0 {
			sorted := slices.Clone(window)
			slices.Sort(sorted)
			t.p99 = sorted[len(sorted)*99/100]
		}
		return t, window, nil
	}
	// Warm-up, unmeasured: a fixed time, or (auto) until the hit ratio
	// stops climbing — its mean over the last 30 s within 0.005 of the
	// mean over the 30 s before, in 10-second windows — so that runs of
	// different N are compared in their steady states, not while one of
	// them still fills its cache.
	if o.scaleWarmup != 0 {
		limit := o.scaleWarmup
		if limit < 0 {
			limit = o.scaleWarmMax
		}
		warmStart := time.Now()
		var windows []float64
		wh, wm := h0, m0
		for sec := 1; time.Since(warmStart) < limit; sec++ {
			t, _, err := second(sec)
			if err != nil {
				return nil, err
			}
			r.warmSeries = append(r.warmSeries, t)
			if sec%10 != 0 {
				continue
			}
			hh, mm, _, _ := stats()
			windows = append(windows, ratio(hh-wh, mm-wm))
			wh, wm = hh, mm
			r.warmRatio = windows[len(windows)-1]
			if n := len(windows); o.scaleWarmup < 0 && n >= 6 && mean(windows[n-3:])-mean(windows[n-6:n-3]) < 0.005 {
				break
			}
		}
		if n := len(r.warmSeries); n%10 != 0 { // the warm-up ended within a window
			hh, mm, _, _ := stats()
			r.warmRatio = ratio(hh-wh, mm-wm)
		}
		r.warm = time.Since(warmStart)
		r.rssWarm = rss()
		fmt.Fprintf(stdout, "N=%d: warmed up for %s (hit ratio at its end %.4f, RSS %s)\n", n, r.warm.Round(time.Second), r.warmRatio, mib(r.rssWarm))
	}
	h0, m0, ev0, _ := stats()
	lastH, lastM = h0, m0
	stopProfile := h.profile(fmt.Sprintf("scale-%d", n)) // the measured window only
	cpu0 := processCPU()
	begin := time.Now()
	for sec := 1; time.Since(begin) < o.duration; sec++ {
		t, window, err := second(sec)
		if err != nil {
			return nil, err
		}
		all.addAll(window)
		r.series = append(r.series, t)
	}
	close(stop)
	wg.Wait()
	r.elapsed = time.Since(begin)
	r.cpu = processCPU() - cpu0
	stopProfile()
	all.addAll(cur)
	r.rssEnd = rss()
	var estimated int64
	for _, s := range m.Services.Cache.Stats() {
		estimated += s.Bytes
	}
	memEnd := readMemSplit()
	fmt.Fprintf(stdout, "N=%d end:   %s; the caches' estimate of their size %s; GC %.0f%% of the CPU since the start\n",
		n, memEnd, mib(estimated), 100*gcShare(memStart, memEnd))
	heapProfile(o, fmt.Sprintf("%d-end", n))
	h1, m1, ev, en := stats()
	r.hits, r.misses, r.evictions, r.entries = h1-h0, m1-m0, ev-ev0, en
	r.checks = all.n
	r.errors = errs.Load()
	r.p50, r.p99 = all.quantile(0.5), all.quantile(0.99)
	var p99s []time.Duration
	for _, t := range r.series {
		if t.p99 > 0 {
			p99s = append(p99s, t.p99)
		}
	}
	if len(p99s) > 0 {
		slices.Sort(p99s)
		r.secondP99Min, r.secondP99Max, r.secondP99Median = p99s[0], p99s[len(p99s)-1], p99s[len(p99s)/2]
	}
	if r.errors > 0 {
		return nil, fmt.Errorf("%d checks failed", r.errors)
	}
	fmt.Fprintf(stdout, "N=%d: %d checks in %s (measured, after the warm-up), %.0f/s, p50 %s p99 %s, hit ratio %.4f, RSS %s → %s, cache entries %d, evictions %d\n",
		n, r.checks, r.elapsed.Round(time.Millisecond), float64(r.checks)/r.elapsed.Seconds(), r.p50, r.p99, ratio(r.hits, r.misses), mib(r.rssStart), mib(r.rssEnd), r.entries, r.evictions)
	return r, nil
}

// sinkWriter is a reusable http.ResponseWriter that keeps the status and
// drops the body, for the scale run's in-process requests.
type sinkWriter struct {
	h    http.Header
	code int
}

func (w *sinkWriter) reset()              { clear(w.h); w.code = 0 }
func (w *sinkWriter) Header() http.Header { return w.h }
func (w *sinkWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *sinkWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// cpuPerCheck is the process's CPU time per check in the measured window.
func (r *scaleRun) cpuPerCheck() time.Duration {
	if r.checks == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.checks)
}

// latencyHist counts latencies in buckets 1/32 of a power of two wide (at
// most 3% apart), exact below 64 ns: fixed memory whatever the count.
type latencyHist struct {
	n int64
	b [64 + 59*32]int64
}

func latencyBucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < 64 {
		return int(v)
	}
	e := bits.Len64(v) - 6 // v>>e is in [32, 64)
	return 64 + (e-1)*32 + int(v>>e) - 32
}

// bucketValue is the middle of bucket i.
func bucketValue(i int) time.Duration {
	if i < 64 {
		return time.Duration(i)
	}
	e := (i-64)/32 + 1
	m := uint64((i-64)%32 + 32)
	return time.Duration(m<<e + 1<<(e-1))
}

func (h *latencyHist) addAll(ds []time.Duration) {
	for _, d := range ds {
		h.b[latencyBucket(d)]++
	}
	h.n += int64(len(ds))
}

// quantile is the latency below which a fraction q of the counted fall.
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := int64(q*float64(h.n)) + 1
	var seen int64
	for i, c := range h.b {
		if seen += c; seen >= want {
			return bucketValue(i)
		}
	}
	return bucketValue(len(h.b) - 1)
}
