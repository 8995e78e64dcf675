// Command gatehouse-bench is Gatehouse's load harness. In one run, on one
// machine, it starts a real Gatehouse in-process on a fresh database (a
// temporary SQLite directory, or a fresh schema of the PostgreSQL database
// given with -database-url), signs up a user through the API and measures:
//
//	(a) POST /v1/members/permissions/check: requests per second and p50/p99
//	    at -conns connections, next to a bare net/http handler that returns a
//	    small JSON body, measured with the same client code. Target: the
//	    check reaches at least 0.5× the bare handler's rate.
//	(b) POST /v1/members/invitations: invitations created per second over
//	    HTTP at -conns connections. Target: at least 1,000/s.
//	(c) GET /v1/members/invitations?limit=100: the latency of the first page
//	    and of page 10,000 of an organization holding -invitations
//	    invitations (1,000,000; seeded through the store's bulk insert, not
//	    over HTTP). Page 10,000 is reached by following next_cursor (up to
//	    -walk-budget; past it the harness jumps there with the cursor the
//	    seed predicts, and says so). Target: page 10,000 within 2× of page 1.
//	    With 1,000,000 rows page 10,000 is the last page, so the middle page
//	    and the walk's latency by depth are printed too (no verdict).
//
// Targets are issue 17's: (a) check ≥ 0.8× the bare handler's req/s and
// server CPU per check ≤ 1.3× the bare request's; (b) ≥ 3× -invite-baseline
// invitations/s and ≤ 0.35 ms server CPU per invitation, mail worker
// included; on PostgreSQL (b) also runs on a temporary SQLite database for
// PostgreSQL ÷ SQLite ≥ 0.8; (c) page 10,000 ≤ 1.2× page 1; (d) with
// -processes 2 (PostgreSQL) a second Gatehouse process on the same schema,
// a mixed load split over both (ratio to one process) and the delay before
// a member removed through one process is refused through the other.
// The load generator runs in a child process (loadproc.go), so the
// harness's CPU time is the server's alone.
//
// It prints one table with the ratios and PASS/MISS against each target,
// and exits 0 whatever the verdicts (1 only when it could not measure).
//
// Usage:
//
//	go run ./cmd/gatehouse-bench                      # SQLite, defaults (~3 min on 2 cores)
//	go run ./cmd/gatehouse-bench -database-url 'postgres://user@127.0.0.1:5432/db?sslmode=disable'
//	go run ./cmd/gatehouse-bench -duration 2s -invitations 100000 -skip-list
//	go run ./cmd/gatehouse-bench -profile-dir /tmp/prof   # CPU profile per phase
//
// The load client is the standard library's: -conns goroutines, each with its
// own keep-alive http.Transport, for a fixed -duration per phase after a
// short warm-up; every latency is recorded. Server and client share the
// machine (loopback only, 127.0.0.1), as does the bare handler's run, so the
// ratio is what to compare across machines, not the absolute rates.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the harness's flags.
type options struct {
	duration     time.Duration
	warmup       time.Duration
	conns        int
	rounds       int
	invitations  int
	databaseURL  string
	dataDir      string
	freshSchema  bool
	skipCheck    bool
	skipInvite   bool
	skipList     bool
	orgHeaderRow bool
	listRepeats  int
	targetPage   int
	walkBudget   time.Duration
	seedPerTx    int
	seedPerStmt  int
	analyze      bool
	fastHash     bool
	logLevel     slog.Level
	logFile      string
	profileDir   string
	timeout      time.Duration
	soak         time.Duration
	soakRate     float64
	soakConns    int
	soakEvery    time.Duration
	scale        int
	sessions     int
	cacheSize    string
	scaleWarmup  time.Duration // < 0: until the hit ratio stops climbing
	scaleWarmMax time.Duration
	csvFile      string
	loadProcess  bool
	inviteBase   float64
	processes    int
	compareLite  bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("gatehouse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured duration of each HTTP load phase")
	o.warmup = -1
	fs.Var((*autoDuration)(&o.warmup), "warmup", "unmeasured warm-up before each load phase: a duration, or auto (duration/5, at most 1s)")
	fs.IntVar(&o.conns, "conns", 32, "concurrent connections (one goroutine and keep-alive transport each)")
	fs.IntVar(&o.rounds, "rounds", 5, "(a): interleaved rounds the duration is split into, per handler")
	fs.IntVar(&o.invitations, "invitations", 1_000_000, "invitations seeded into the list organization")
	fs.StringVar(&o.databaseURL, "database-url", "", "run on PostgreSQL (postgres://…) instead of a temporary SQLite database")
	fs.StringVar(&o.dataDir, "data-dir", "", "SQLite: use this new (empty or absent) directory and keep it afterwards, for inspection (default: a temporary one, removed)")
	fs.BoolVar(&o.freshSchema, "fresh-schema", true, "with -database-url: run in a new schema (search_path) and drop it afterwards")
	fs.BoolVar(&o.skipCheck, "skip-check", false, "skip (a), the permission check against the bare handler")
	fs.BoolVar(&o.skipInvite, "skip-invite", false, "skip (b), invitation creation")
	fs.BoolVar(&o.skipList, "skip-list", false, "skip (c), seeding and paging the invitation list")
	fs.BoolVar(&o.orgHeaderRow, "org-header-row", true, "in (a), also measure the check with an X-Organization-Id header (informational, no verdict)")
	fs.IntVar(&o.listRepeats, "list-repeats", 21, "timed requests of page 1, the middle page and the deep page each (medians reported)")
	fs.IntVar(&o.targetPage, "page", 10_000, "the deep page to time (capped at the last page)")
	fs.DurationVar(&o.walkBudget, "walk-budget", 5*time.Minute, "time allowed for following next_cursor to the deep page; past it the harness jumps there with the cursor computed from the seeded rows")
	fs.IntVar(&o.seedPerTx, "seed-per-tx", 0, "seeded invitations per transaction (default: the store's SeedInvitationsPerTx)")
	fs.IntVar(&o.seedPerStmt, "seed-rows-per-insert", 0, "seeded invitations per multi-row INSERT (default: the store's DefaultBulkRows for the engine)")
	fs.BoolVar(&o.analyze, "analyze", true, "ANALYZE the invitations table after seeding, as a grown database would have statistics")
	fs.BoolVar(&o.fastHash, "fast-hash", false, "cheap argon2 parameters for the sign-up (tests); only sign-up and login hash passwords")
	logLevel := fs.String("log-level", "info", "server log level; the server's JSON log is encoded as in production, then discarded (see -log-file)")
	fs.StringVar(&o.logFile, "log-file", "", "write the server's log here instead of discarding it (warnings and errors also go to stderr)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles into this directory: cpu-<phase>-<round>.pprof per measured load run, cpu-seed.pprof, cpu-list.pprof (go tool pprof merges several files); the scale run writes cpu-scale-<orgs>.pprof of each measured window and heap-<orgs>-start.pprof and heap-<orgs>-end.pprof")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up after this long (with -soak: at least the soak plus 10 minutes)")
	fs.DurationVar(&o.soak, "soak", 0, "instead of (a)–(c), run a mixed workload this long (like 20m) at a bounded rate, printing resources and latencies per -soak-every, slopes, and a lost-writes check")
	fs.Float64Var(&o.soakRate, "soak-rate", 300, "-soak: requests per second, at most")
	fs.IntVar(&o.soakConns, "soak-conns", 8, "-soak: concurrent connections")
	fs.DurationVar(&o.soakEvery, "soak-every", time.Minute, "-soak: interval between report rows")
	fs.IntVar(&o.scale, "scale", 0, "scale run instead of (a)-(c): seed N organizations (and 10,000 to compare) and run a Zipf check load for -duration (see scale.go)")
	fs.IntVar(&o.sessions, "sessions", 0, "scale run: seed this many live sessions (four per organization) and spread requests over them for -duration")
	fs.StringVar(&o.cacheSize, "cache-size", "64MiB", "scale run: GATEHOUSE_CACHE_SIZE of the server")
	o.scaleWarmup = -1
	fs.Var((*autoDuration)(&o.scaleWarmup), "scale-warmup", "scale run: unmeasured check load before each run's measured -duration, so that both runs are measured in their steady state: a duration (0: none), or auto: until the hit ratio stops climbing (its mean over the last 30 s within 0.005 of the 30 s before), at most -scale-warmup-max")
	fs.DurationVar(&o.scaleWarmMax, "scale-warmup-max", 10*time.Minute, "scale run: longest auto warm-up")
	fs.StringVar(&o.csvFile, "csv", "", "scale run: write the time series (second, resident memory, p99, hit ratio) to this CSV file")
	fs.BoolVar(&o.loadProcess, "load-process", true, "(a), (b): run the load generator in a child process, so this process's CPU time is the server's alone (CPU/req is then server CPU per request)")
	fs.Float64Var(&o.inviteBase, "invite-baseline", 470, "(b): the invitation rate the ≥ 3× target multiplies (issue 17's \"today\", 470–930/s; measure yours with the same conditions)")
	fs.IntVar(&o.processes, "processes", 1, "with -database-url and 2: also run a second Gatehouse process (this binary's server, in a child) on the same schema, split the load, print the ratio to one process and the cross-process invalidation latency")
	fs.BoolVar(&o.compareLite, "compare-sqlite", true, "with -database-url: also run (b) on a temporary SQLite database and print PostgreSQL ÷ SQLite")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if o.soak > 0 {
		// Accepted invitations create accounts: cheap hashing keeps the
		// soak about Gatehouse's growth, not argon2's CPU.
		o.fastHash = true
		o.timeout = max(o.timeout, o.soak+10*time.Minute)
		if o.soakRate <= 0 || o.soakConns < 1 || o.soakEvery <= 0 {
			return nil, fmt.Errorf("-soak-rate, -soak-conns and -soak-every must be positive")
		}
	}
	if o.warmup < 0 {
		o.warmup = min(o.duration/5, time.Second)
	}
	switch {
	case o.duration <= 0:
		return nil, fmt.Errorf("-duration must be positive")
	case o.conns < 1:
		return nil, fmt.Errorf("-conns must be at least 1")
	case o.invitations < 1 && !o.skipList:
		return nil, fmt.Errorf("-invitations must be at least 1 (or -skip-list)")
	case o.processes != 1 && o.processes != 2:
		return nil, fmt.Errorf("-processes must be 1 or 2")
	case o.processes == 2 && o.databaseURL == "":
		return nil, fmt.Errorf("-processes 2 needs -database-url (one PostgreSQL shared by the processes)")
	case o.rounds < 1:
		return nil, fmt.Errorf("-rounds must be at least 1")
	case o.listRepeats < 1:
		return nil, fmt.Errorf("-list-repeats must be at least 1")
	case o.targetPage < 1:
		return nil, fmt.Errorf("-page must be at least 1")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == serveArg {
		if err := runServe(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-bench serve:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == loadgenArg {
		if err := runLoadgen(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse-bench loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); errors.Is(err, flag.ErrHelp) {
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		os.Exit(1)
	}
}

// run is main without the process: the test calls it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Several goroutines write stderr: the server's warnings, the load
	// processes' own stderr, a second Gatehouse process's (copied by
	// os/exec's goroutine): one write at a time.
	stderr = &lockedWriter{w: stderr}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// The harness must end by itself even if something ignores ctx.
	hard := time.AfterFunc(o.timeout+time.Minute, func() {
		fmt.Fprintln(stderr, "gatehouse-bench: hard timeout; exiting")
		os.Exit(2)
	})
	defer hard.Stop()

	if o.scale > 0 || o.sessions > 0 {
		return runScale(ctx, o, stdout, stderr)
	}
	h := &harness{o: o, stdout: stdout, stderr: stderr}
	defer h.close()
	if err := h.start(ctx); err != nil {
		return err
	}
	h.header()
	if o.soak > 0 {
		return h.phaseSoak(ctx)
	}
	if !o.skipCheck {
		if err := h.phaseCheck(ctx); err != nil {
			return err
		}
	}
	if !o.skipInvite {
		if err := h.phaseInvite(ctx); err != nil {
			return err
		}
	}
	if !o.skipInvite && h.engine == "postgres" && o.compareLite {
		if err := h.compareSQLite(ctx); err != nil {
			return err
		}
	}
	if o.processes == 2 {
		if err := h.phaseProcesses(ctx); err != nil {
			return err
		}
	}
	if !o.skipList {
		if err := h.phaseList(ctx); err != nil {
			return err
		}
	}
	h.summary()
	return nil
}

// autoDuration is a duration flag whose negative value means "auto".
type autoDuration time.Duration

func (d *autoDuration) String() string {
	if d == nil || *d < 0 {
		return "auto"
	}
	return time.Duration(*d).String()
}

func (d *autoDuration) Set(s string) error {
	if s == "auto" {
		*d = -1
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("must not be negative")
	}
	*d = autoDuration(v)
	return nil
}
