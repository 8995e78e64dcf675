package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// Soak mode (-soak 20m): a mixed workload at a bounded rate, with a row of
// resource figures and per-kind latencies each -soak-every, slopes at the
// end, and a check that everything the client created is there.

// soakKinds are the requests of the mix with their weights. A kind that
// cannot run yet (nothing to accept, revoke, remove or refresh) or is over
// its own limit (sign-ins, which the server throttles) runs a check instead.
var soakKinds = []struct {
	name   string
	weight int
}{
	{"check", 50}, {"invite", 10}, {"accept", 5}, {"revoke", 3}, {"remove", 2}, {"refresh", 8},
	{"signin", 1}, {"members", 6}, {"invitations", 6}, {"audit", 5},
}

// soakState is what the client created, for the lost-writes check.
type soakState struct {
	mu       sync.Mutex
	pending  []soakInvite // sent, not yet accepted or revoked
	invites  map[string]string
	members  []soakMember // accepted, not removed
	joined   map[string]bool
	refresh  []string // refresh tokens of members' sessions
	accounts []string // emails of accepted members (sign-ins)
	seq      atomic.Int64
	// owner is the benchmark user's access token, renewed by refreshing.
	owner        atomic.Pointer[string]
	ownerRefresh string
}

func (st *soakState) token() string { return *st.owner.Load() }

// renewOwner refreshes the benchmark user's tokens before the access token
// (15 minutes) expires.
func (h *harness) renewOwner(ctx context.Context, st *soakState) error {
	c := &http.Client{Timeout: time.Minute, Transport: newTransport(1)}
	defer c.CloseIdleConnections()
	status, out, err := h.soakCall(ctx, c, "POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": st.ownerRefresh})
	if err != nil || status != 200 {
		return fmt.Errorf("refresh the benchmark user's session: %d %v", status, err)
	}
	at, _ := out["access_token"].(string)
	rt, _ := out["refresh_token"].(string)
	if at == "" || rt == "" {
		return fmt.Errorf("refresh the benchmark user's session: no tokens in %v", out)
	}
	st.owner.Store(&at)
	st.ownerRefresh = rt
	return nil
}

type soakInvite struct{ id, email string }
type soakMember struct{ userID, email string }

const soakPassword = "a soak test password"

// soakWindow collects one interval's latencies and failures.
type soakWindow struct {
	mu     sync.Mutex
	lat    map[string][]time.Duration
	fail5  int
	failed int
	first  string
}

func newSoakWindow() *soakWindow { return &soakWindow{lat: map[string][]time.Duration{}} }

func (w *soakWindow) add(kind string, d time.Duration, status, want int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil:
		w.failed++
		if w.first == "" {
			w.first = kind + ": " + err.Error()
		}
	case status >= 500:
		w.fail5++
		if w.first == "" {
			w.first = fmt.Sprintf("%s: status %d", kind, status)
		}
	case status != want:
		w.failed++
		if w.first == "" {
			w.first = fmt.Sprintf("%s: status %d, want %d", kind, status, want)
		}
	default:
		w.lat[kind] = append(w.lat[kind], d)
	}
}

// soakRow is one interval's figures.
type soakRow struct {
	at                 time.Duration
	reqs, fail5, fails int
	rss, db, wal, logs float64 // MiB
	goroutines, fds    int
	p50, p99           map[string]float64 // ms
	writes             int64
}

// countingWriter counts the bytes of the server's log.
type countingWriter struct {
	n atomic.Int64
	w io.Writer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}

var tokenRe = regexp.MustCompile(`/invitations/([A-Za-z0-9_-]{20,})`)

// phaseSoak runs the soak.
func (h *harness) phaseSoak(ctx context.Context) error {
	o := h.o
	if err := h.m.Store.Tx(ctx, func(tx *store.Conn) error {
		return tx.SetOrgSetting(ctx, h.orgID, "invitations_per_day", benchInvitationsPerDay)
	}); err != nil {
		return err
	}
	st := &soakState{invites: map[string]string{}, joined: map[string]bool{}, ownerRefresh: h.refreshToken}
	if err := h.renewOwner(ctx, st); err != nil {
		return err
	}
	var writes atomic.Int64
	limiter := rate.NewLimiter(rate.Limit(o.soakRate), max(1, o.soakConns))
	signins := rate.NewLimiter(rate.Every(8*time.Second), 1)
	total := 0
	for _, k := range soakKinds {
		total += k.weight
	}
	win := newSoakWindow()
	var winMu sync.Mutex
	current := func() *soakWindow { winMu.Lock(); defer winMu.Unlock(); return win }
	dbStart, walStart := h.dbSizes(ctx)

	fmt.Fprintf(h.stdout, "soak: %s at most %.0f requests/s over %d connections; mix %s\n", o.soak, o.soakRate, o.soakConns, soakMix())
	fmt.Fprintf(h.stdout, "      RSS, goroutines and open files are the harness process's (client and in-process server); log = bytes the server logged (GATEHOUSE_ACCESS_LOG %s)\n", accessLogName(h.m.Config.AccessLog))
	fmt.Fprintf(h.stdout, "%6s %7s %5s %5s %8s %6s %5s %8s %8s %8s  %s\n", "minute", "req", "5xx", "fail", "RSS MiB", "gorout", "fds", "DB MiB", "WAL MiB", "log MiB", "p50/p99 ms by kind")

	sctx, cancel := context.WithTimeout(ctx, o.soak)
	defer cancel()
	var wg sync.WaitGroup
	for w := range o.soakConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: time.Minute, Transport: newTransport(1)}
			defer c.CloseIdleConnections()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for sctx.Err() == nil {
				if limiter.Wait(sctx) != nil {
					return
				}
				n := r.IntN(total)
				kind := soakKinds[0].name
				for _, k := range soakKinds {
					if n < k.weight {
						kind = k.name
						break
					}
					n -= k.weight
				}
				if kind == "signin" && !signins.Allow() {
					kind = "check"
				}
				// In-flight requests finish after the soak ends (ctx, not
				// sctx), so the client knows the outcome of each write.
				h.soakOne(ctx, c, r, st, kind, current(), &writes)
			}
		}()
	}

	var rows []soakRow
	start := time.Now()
	tick := time.NewTicker(o.soakEvery)
	renew := time.NewTicker(5 * time.Minute)
	defer renew.Stop()
	for done := false; !done; {
		select {
		case <-sctx.Done():
			done = true
		case <-renew.C:
			if err := h.renewOwner(ctx, st); err != nil {
				fmt.Fprintln(h.stderr, "gatehouse-bench:", err)
			}
			continue
		case <-tick.C:
		}
		winMu.Lock()
		w := win
		win = newSoakWindow()
		winMu.Unlock()
		if done && len(rows) > 0 && time.Since(start)-rows[len(rows)-1].at < o.soakEvery/10 {
			break // the last tick just reported
		}
		row := h.soakRow(ctx, w, time.Since(start), dbStart, walStart)
		row.writes = writes.Load()
		rows = append(rows, row)
		h.printSoakRow(row, w)
	}
	tick.Stop()
	wg.Wait()
	h.soakSummary(rows, dbStart)
	if err := h.renewOwner(ctx, st); err != nil {
		return err
	}
	return h.soakVerify(ctx, st)
}

func soakMix() string {
	var parts []string
	for _, k := range soakKinds {
		parts = append(parts, fmt.Sprintf("%s %d%%", k.name, k.weight))
	}
	return strings.Join(parts, ", ")
}

// soakOne sends one request of kind and records it.
func (h *harness) soakOne(ctx context.Context, c *http.Client, r *rand.Rand, st *soakState, kind string, w *soakWindow, writes *atomic.Int64) {
	call := func(method, path, token string, body any, want int) (map[string]any, bool) {
		start := time.Now()
		status, out, err := h.soakCall(ctx, c, method, path, token, body)
		if ctx.Err() != nil {
			return nil, false
		}
		w.add(kind, time.Since(start), status, want, err)
		return out, err == nil && status == want
	}
	switch kind {
	case "invite":
		email := fmt.Sprintf("soak%d@soak.example.com", st.seq.Add(1))
		if out, ok := call("POST", "/v1/members/invitations", st.token(), map[string]any{"email": email, "role": "viewer"}, 201); ok {
			writes.Add(1)
			id, _ := out["id"].(string)
			st.mu.Lock()
			st.pending = append(st.pending, soakInvite{id, email})
			st.invites[id] = "pending"
			st.mu.Unlock()
		}
		return
	case "accept", "revoke":
		st.mu.Lock()
		if len(st.pending) == 0 {
			st.mu.Unlock()
			break
		}
		// Accept the newest (its mail is among the newest), revoke the oldest.
		inv := st.pending[0]
		if kind == "accept" {
			inv = st.pending[len(st.pending)-1]
			st.pending = st.pending[:len(st.pending)-1]
		} else {
			st.pending = st.pending[1:]
		}
		st.mu.Unlock()
		if kind == "revoke" {
			if _, ok := call("DELETE", "/v1/members/invitations/"+inv.id, st.token(), nil, 204); ok {
				writes.Add(1)
				st.mu.Lock()
				st.invites[inv.id] = "revoked"
				st.mu.Unlock()
			}
			return
		}
		token := h.soakToken(ctx, inv.email)
		if token == "" && ctx.Err() != nil {
			return
		}
		if token == "" && ctx.Err() == nil {
			w.add(kind, 0, 0, 0, fmt.Errorf("no invitation mail to %s", inv.email))
			return
		}
		out, ok := call("POST", "/v1/invitations/"+token+"/accept", "", map[string]any{"name": "Soak", "password": soakPassword}, 201)
		if !ok {
			return
		}
		writes.Add(1)
		user, _ := out["user"].(map[string]any)
		sess, _ := out["session"].(map[string]any)
		uid, _ := user["id"].(string)
		rt, _ := sess["refresh_token"].(string)
		st.mu.Lock()
		st.invites[inv.id] = "accepted"
		st.members = append(st.members, soakMember{uid, inv.email})
		st.joined[uid] = true
		st.accounts = append(st.accounts, inv.email)
		if rt != "" && len(st.refresh) < 64 {
			st.refresh = append(st.refresh, rt)
		}
		st.mu.Unlock()
		return
	case "remove":
		st.mu.Lock()
		if len(st.members) < 20 { // keep some members for the lists
			st.mu.Unlock()
			break
		}
		m := st.members[0]
		st.members = st.members[1:]
		st.mu.Unlock()
		if _, ok := call("DELETE", "/v1/members/"+m.userID, st.token(), nil, 204); ok {
			writes.Add(1)
			st.mu.Lock()
			st.joined[m.userID] = false
			st.mu.Unlock()
		}
		return
	case "refresh":
		st.mu.Lock()
		if len(st.refresh) == 0 {
			st.mu.Unlock()
			break
		}
		i := r.IntN(len(st.refresh))
		rt := st.refresh[i]
		st.refresh = slices.Delete(st.refresh, i, i+1)
		st.mu.Unlock()
		if out, ok := call("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": rt}, 200); ok {
			writes.Add(1)
			if next, _ := out["refresh_token"].(string); next != "" {
				st.mu.Lock()
				st.refresh = append(st.refresh, next)
				st.mu.Unlock()
			}
		}
		return
	case "signin":
		st.mu.Lock()
		var email string
		if len(st.accounts) > 0 {
			email = st.accounts[r.IntN(len(st.accounts))]
		}
		st.mu.Unlock()
		if email == "" {
			break
		}
		if _, ok := call("POST", "/v1/auth/login", "", map[string]any{"email": email, "password": soakPassword}, 200); ok {
			writes.Add(1)
		}
		return
	case "members":
		call("GET", "/v1/members?limit=25", st.token(), nil, 200)
		return
	case "invitations":
		call("GET", "/v1/members/invitations?limit=25", st.token(), nil, 200)
		return
	case "audit":
		call("GET", "/v1/audits?limit=25", st.token(), nil, 200)
		return
	}
	kind = "check"
	call("POST", "/v1/members/permissions/check", st.token(),
		map[string]any{"entity_type": "projects", "entity_id": h.projectID, "name": "settings", "action": "write"}, 200)
}

// soakCall sends a request in the benchmark organization.
func (h *harness) soakCall(ctx context.Context, c *http.Client, method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.baseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Organization-Id", h.orgID)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, out, nil
}

// soakToken finds the invitation link's token in the newest mail to email
// (the in-process server's outbox, as the development mailbox shows it).
func (h *harness) soakToken(ctx context.Context, email string) string {
	ms, err := h.m.Store.R().ListMail(ctx, 200)
	if err != nil {
		return ""
	}
	for _, m := range ms {
		if strings.EqualFold(m.To, email) {
			if t := tokenRe.FindStringSubmatch(m.Text); t != nil {
				return t[1]
			}
		}
	}
	return ""
}

// dbSizes returns the database's size and its WAL's in bytes: the SQLite
// files, or on PostgreSQL the schema's relations and the WAL position (the
// whole server's, so other databases' writes count too).
func (h *harness) dbSizes(ctx context.Context) (db, wal float64) {
	if h.engine == "sqlite" {
		dir := h.m.Config.DataDir
		if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
			db = float64(fi.Size())
		}
		if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName+"-wal")); err == nil {
			wal = float64(fi.Size())
		}
		return db, wal
	}
	q := h.m.Store.ReaderDB()
	_ = q.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&db)
	_ = q.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')`).Scan(&wal)
	return db, wal
}

func (h *harness) soakRow(ctx context.Context, w *soakWindow, at time.Duration, dbStart, walStart float64) soakRow {
	w.mu.Lock()
	defer w.mu.Unlock()
	row := soakRow{at: at, fail5: w.fail5, fails: w.failed, p50: map[string]float64{}, p99: map[string]float64{}}
	for k, ds := range w.lat {
		slices.Sort(ds)
		row.reqs += len(ds)
		row.p50[k] = ms(ds[len(ds)/2])
		row.p99[k] = ms(ds[min(len(ds)-1, len(ds)*99/100)])
	}
	row.reqs += w.fail5 + w.failed
	row.rss = float64(rssBytes()) / (1 << 20)
	row.goroutines = runtime.NumGoroutine()
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		row.fds = len(fds)
	}
	db, wal := h.dbSizes(ctx)
	row.db = db / (1 << 20)
	if h.engine == "postgres" {
		wal -= walStart // WAL written since the start
	}
	row.wal = wal / (1 << 20)
	if h.logCount != nil {
		row.logs = float64(h.logCount.n.Load()) / (1 << 20)
	}
	return row
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssBytes reads the process's resident memory.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func (h *harness) printSoakRow(r soakRow, w *soakWindow) {
	var lat []string
	for _, k := range soakKinds {
		if p, ok := r.p50[k.name]; ok {
			lat = append(lat, fmt.Sprintf("%s %.1f/%.1f", k.name, p, r.p99[k.name]))
		}
	}
	fmt.Fprintf(h.stdout, "%6.1f %7d %5d %5d %8.1f %6d %5d %8.1f %8.1f %8.1f  %s\n", r.at.Minutes(), r.reqs, r.fail5, r.fails,
		r.rss, r.goroutines, r.fds, r.db, r.wal, r.logs, strings.Join(lat, "  "))
	if w.first != "" {
		fmt.Fprintf(h.stdout, "       first failure: %.200s\n", w.first)
	}
}
