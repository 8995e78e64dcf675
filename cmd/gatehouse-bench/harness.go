package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for -fresh-schema

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/secret"
)

// benchHasher is apptest's cheap argon2id, for -fast-hash.
var benchHasher = secret.NewHasher(secret.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 8)

// harness is one run: the server, the signed-in user and the results.
type harness struct {
	o      *options
	stdout io.Writer
	stderr io.Writer

	m       *app.Main
	cfg     app.Config // the server's, for a second process
	dataDir string
	logOut  io.WriteCloser
	schema  string // fresh PostgreSQL schema to drop, if any
	baseURL string
	engine  string
	client  *http.Client // setup requests

	token        string
	refreshToken string
	userID       string
	orgID        string
	projectID    string

	verdicts []verdict
	runs     atomic.Int64 // load processes started (distinct invitation addresses)
	// inviteRate is (b)'s invitations per second, for PostgreSQL ÷ SQLite.
	inviteRate float64
	// bareCPU is (a)'s server CPU per bare request: (b) states its CPU per
	// invitation in bare requests too, a figure that moves less from
	// machine to machine than microseconds.
	bareCPU  time.Duration
	logCount *countingWriter // bytes the server logged
}

// verdict is one target's outcome, repeated in the summary.
type verdict struct {
	name, got, target string
	pass              bool
}

func (h *harness) start(ctx context.Context) error {
	o := h.o
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	cfg := app.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1", MailFrom: "Gatehouse <bench@example.com>",
		SecretKey: hex.EncodeToString(key), LogLevel: o.logLevel}
	if o.databaseURL != "" {
		dsn := o.databaseURL
		if o.freshSchema {
			var err error
			if dsn, err = h.createSchema(ctx, dsn); err != nil {
				return err
			}
		}
		cfg.DatabaseURL = dsn
		h.engine = "postgres"
	} else {
		if o.dataDir != "" {
			if entries, err := os.ReadDir(o.dataDir); err == nil && len(entries) > 0 {
				return fmt.Errorf("-data-dir %s is not empty: the harness needs a fresh database", o.dataDir)
			}
			cfg.DataDir = o.dataDir
		} else {
			dir, err := os.MkdirTemp("", "gatehouse-bench-")
			if err != nil {
				return err
			}
			h.dataDir = dir // removed by close
			cfg.DataDir = dir
		}
		h.engine = "sqlite"
	}
	var sink io.Writer = io.Discard
	if o.logFile != "" {
		f, err := os.Create(o.logFile)
		if err != nil {
			return err
		}
		h.logOut = f
		sink = f
	}
	h.logCount = &countingWriter{w: &logTee{sink: sink, loud: h.stderr}}
	h.cfg = cfg
	h.m = &app.Main{Config: cfg, Log: app.NewLogger(h.logCount, o.logLevel)}
	if o.fastHash {
		h.m.Hasher = benchHasher
	}
	if err := h.m.Open(ctx); err != nil {
		h.m = nil
		return fmt.Errorf("open gatehouse: %w", err)
	}
	if err := h.m.Start(); err != nil {
		return fmt.Errorf("start gatehouse: %w", err)
	}
	h.baseURL = h.m.URL()
	h.client = &http.Client{Timeout: time.Minute, Transport: newTransport(4)}
	return h.signup(ctx)
}

// createSchema makes a fresh schema in the PostgreSQL database and returns
// the URL with search_path set to it (pgx passes unknown URL parameters to
// the server as run-time parameters).
func (h *harness) createSchema(ctx context.Context, dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-database-url: -fresh-schema needs a postgres:// URL (or pass -fresh-schema=false)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gatehouse_bench_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	h.schema = schema
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (h *harness) dropSchema() error {
	db, err := sql.Open("pgx", h.o.databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = db.ExecContext(ctx, `DROP SCHEMA `+h.schema+` CASCADE`)
	return err
}

func (h *harness) close() {
	if h.m != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := h.m.Close(ctx); err != nil {
			fmt.Fprintln(h.stderr, "gatehouse-bench: close:", err)
		}
		cancel()
	}
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	if h.schema != "" {
		if err := h.dropSchema(); err != nil {
			fmt.Fprintf(h.stderr, "gatehouse-bench: drop schema %s: %v\n", h.schema, err)
		}
	}
	if h.dataDir != "" {
		_ = os.RemoveAll(h.dataDir)
	}
	if h.logOut != nil {
		_ = h.logOut.Close()
	}
}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// signup registers, verifies and signs in the benchmark user, then creates
// its organization and a project, and lifts the organization's daily
// invitation limit through the store.
func (h *harness) signup(ctx context.Context) error {
	const email, pw = "bench@example.com", "a long enough bench password"
	if _, err := h.call(ctx, "POST", "/v1/auth/register", "", map[string]string{"name": "Bench", "email": email, "password": pw}, 201); err != nil {
		return err
	}
	ms, err := h.m.Store.R().ListMail(ctx, 10)
	if err != nil {
		return err
	}
	code := ""
	for _, m := range ms {
		if strings.EqualFold(m.To, email) {
			if c := codeRe.FindStringSubmatch(m.Text); c != nil {
				code = c[1]
				break
			}
		}
	}
	if code == "" {
		return errors.New("no verification code in the outbox")
	}
	if _, err := h.call(ctx, "POST", "/v1/auth/verify-email", "", map[string]string{"email": email, "otp": code}, 200); err != nil {
		return err
	}
	out, err := h.call(ctx, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": pw}, 200)
	if err != nil {
		return err
	}
	h.token, _ = out["access_token"].(string)
	h.refreshToken, _ = out["refresh_token"].(string)
	if u, ok := out["user"].(map[string]any); ok {
		h.userID, _ = u["id"].(string)
	}
	if h.token == "" || h.userID == "" {
		return fmt.Errorf("login: no access_token or user id in %v", out)
	}
	org, err := h.call(ctx, "POST", "/v1/organizations", h.token, map[string]string{"name": "Bench"}, 201)
	if err != nil {
		return err
	}
	h.orgID, _ = org["id"].(string)
	prj, err := h.call(ctx, "POST", "/v1/projects", h.token, map[string]string{"name": "bench"}, 201)
	if err != nil {
		return err
	}
	h.projectID, _ = prj["id"].(string)
	if h.orgID == "" || h.projectID == "" {
		return fmt.Errorf("no organization or project id (%v, %v)", org, prj)
	}
	return nil
}

// call sends one setup request and decodes a JSON object answer.
func (h *harness) call(ctx context.Context, method, path, token string, body any, want int) (map[string]any, error) {
	raw, err := h.do(ctx, method, path, token, body, want)
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return out, nil
}

func (h *harness) do(ctx context.Context, method, path, token string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.baseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, resp.StatusCode, want, raw)
	}
	return raw, nil
}

func (h *harness) header() {
	o := h.o
	w := h.stdout
	fmt.Fprintf(w, "Gatehouse load harness — gatehouse %s, %s %s/%s, %d CPUs (GOMAXPROCS %d)\n",
		gatehouse.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	db := "SQLite, fresh temporary data directory"
	if o.dataDir != "" {
		db = "SQLite, fresh data directory " + o.dataDir + " (kept)"
	}
	if h.engine == "postgres" {
		db = "PostgreSQL " + redact(o.databaseURL)
		if h.schema != "" {
			db += ", fresh schema " + h.schema + " (dropped afterwards)"
		}
	}
	fmt.Fprintf(w, "database:  %s\n", db)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "machine:   load average %s before the run (other processes skew every figure)\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintf(w, "server:    in-process app.Main at %s; client and server share this machine (loopback)\n", h.baseURL)
	fmt.Fprintf(w, "load:      %d connections (goroutine + keep-alive transport each), %s measured per phase after %s warm-up\n",
		o.conns, o.duration, o.warmup)
	log := fmt.Sprintf("level %s, JSON encoded then discarded", o.logLevel)
	if o.logFile != "" {
		log = fmt.Sprintf("level %s, written to %s", o.logLevel, o.logFile)
	}
	fmt.Fprintf(w, "logging:   %s\n", log)
	if o.fastHash {
		fmt.Fprintf(w, "passwords: cheap test argon2id parameters (-fast-hash; affects sign-up/login only)\n")
	}
	fmt.Fprintf(w, "setup:     benchmark organization's invitations_per_day lifted to %d through the store (store.Conn.SetOrgSetting)\n", benchInvitationsPerDay)
	fmt.Fprintln(w)
}

// redact hides a password in a database URL.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(database URL)"
	}
	return u.Redacted()
}

// profile starts a CPU profile of one phase when -profile-dir is set; the
// returned function stops it.
func (h *harness) profile(phase string) func() {
	if h.o.profileDir == "" {
		return func() {}
	}
	if err := os.MkdirAll(h.o.profileDir, 0o755); err != nil {
		fmt.Fprintln(h.stderr, "gatehouse-bench: profile:", err)
		return func() {}
	}
	path := filepath.Join(h.o.profileDir, "cpu-"+phase+".pprof")
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(h.stderr, "gatehouse-bench: profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(h.stderr, "gatehouse-bench: profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// logTee passes the server's log to sink and copies warnings and errors to
// loud, so problems during a run are not hidden.
// lockedWriter lets several goroutines write w, one write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type logTee struct {
	mu   sync.Mutex
	sink io.Writer
	loud io.Writer
}

func (t *logTee) Write(p []byte) (int, error) {
	if t.sink != io.Discard {
		t.mu.Lock()
		_, _ = t.sink.Write(p)
		t.mu.Unlock()
	}
	head := p[:min(len(p), 80)] // slog's JSON puts the level second
	if bytes.Contains(head, []byte(`"level":"ERROR"`)) || bytes.Contains(head, []byte(`"level":"WARN"`)) {
		t.mu.Lock()
		_, _ = t.loud.Write(p)
		t.mu.Unlock()
	}
	return len(p), nil
}
