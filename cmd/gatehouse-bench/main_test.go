package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestHarness runs the whole harness with tiny numbers, so that it keeps
// compiling and working; the figures themselves mean nothing here. With
// GATEHOUSE_TEST_DATABASE_URL set it also runs on PostgreSQL, in a fresh
// schema it drops afterwards.
// TestMain lets the test binary serve as the harness's load process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == serveArg {
		if err := runServe(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == loadgenArg {
		if err := runLoadgen(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestHarness(t *testing.T) {
	engines := map[string][]string{"sqlite": nil}
	if url := os.Getenv(storetest.PostgresEnv); url != "" {
		engines["postgres"] = []string{"-database-url", url, "-processes", "2"}
	}
	for name, extra := range engines {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"-duration", "200ms", "-warmup", "50ms", "-conns", "4", "-invitations", "2000",
				"-list-repeats", "2", "-fast-hash", "-timeout", "2m"}, extra...)
			var out, errOut bytes.Buffer
			if err := run(t.Context(), args, &out, &errOut); err != nil {
				t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
			}
			s := out.String()
			for _, want := range []string{
				"database:  " + map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[name],
				"POST /v1/members/permissions/check",
				"check/bare req/s ratio",
				"POST /v1/members/invitations",
				"invitations/s",
				"followed next_cursor 19 times (pages 2–20)",
				"page 20 / page 1 latency ratio",
				"summary (" + name + ")",
				"server CPU per request: bare",
				"server CPU per invitation",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			_, summary, _ := strings.Cut(s, "summary (")
			// check ratio, CPU ratio, invitation rate, CPU per invitation,
			// pages; on PostgreSQL also PostgreSQL ÷ SQLite and the two
			// -processes 2 figures.
			want := map[string]int{"sqlite": 5, "postgres": 8}[name]
			if n := len(regexp.MustCompile(`(?m)target .*(PASS|MISS)$`).FindAllString(summary, -1)); n != want {
				t.Errorf("%d verdicts in the summary, want %d:\n%s", n, want, s)
			}
			if name == "postgres" && !strings.Contains(s, "member removed through A, refused through B") {
				t.Errorf("no invalidation latency:\n%s", s)
			}
			if errOut.Len() > 0 {
				t.Logf("stderr:\n%s", errOut.String())
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"},
		{"-conns", "0"},
		{"-invitations", "0"},
		{"-log-level", "loud"},
		{"-soak", "1m", "-soak-rate", "0"},
		{"-soak", "1m", "-soak-conns", "0"},
		{"extra"},
	} {
		var errOut bytes.Buffer
		if _, err := parseFlags(args, &errOut); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.conns != 32 || o.invitations != 1_000_000 || o.targetPage != 10_000 || o.warmup <= 0 {
		t.Errorf("defaults: %+v", o)
	}
}

// TestSoak runs the soak mode for a few seconds on each engine: its rows,
// slopes and lost-writes check must come out, with nothing lost.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: runs for seconds per engine; runs without -short")
	}
	engines := map[string][]string{"sqlite": nil}
	if url := os.Getenv(storetest.PostgresEnv); url != "" {
		engines["postgres"] = []string{"-database-url", url, "-processes", "2"}
	}
	for name, extra := range engines {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"-soak", "4s", "-soak-every", "1s", "-soak-rate", "200", "-soak-conns", "4"}, extra...)
			var out, errOut bytes.Buffer
			if err := run(t.Context(), args, &out, &errOut); err != nil {
				t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
			}
			s := out.String()
			for _, want := range []string{"p50/p99 ms by kind", "slopes per minute", "per 1,000 writes", " 0 mismatches",
				"audit chain: GET /v1/audits/verify → 200", "check ", "invite "} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			if rows := regexp.MustCompile(`(?m)^\s+\d+\.\d+\s+\d+\s+0\s+`).FindAllString(s, -1); len(rows) < 3 {
				t.Errorf("%d report rows without 5xx, want 3 or more:\n%s", len(rows), s)
			}
		})
	}
}

// TestLatencyHist: the histogram's quantiles are within its bucket width
// (3%) of the exact ones, for latencies from nanoseconds to seconds.
func TestLatencyHist(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var h latencyHist
	var all []time.Duration
	for range 100000 {
		d := time.Duration(math.Exp(rng.Float64() * math.Log(float64(10*time.Second))))
		all = append(all, d)
	}
	h.addAll(all)
	slices.Sort(all)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))]
		got := h.quantile(q)
		if diff := math.Abs(float64(got-exact)) / float64(exact); diff > 0.035 && got-exact > 1 {
			t.Errorf("q %.3f: %s, exact %s (%.1f%% off)", q, got, exact, 100*diff)
		}
	}
	if h.n != int64(len(all)) {
		t.Fatalf("n = %d", h.n)
	}
	var empty latencyHist
	if empty.quantile(0.5) != 0 {
		t.Fatal("empty histogram")
	}
	for _, d := range []time.Duration{0, 1, 63, 64, 65, 1000, time.Hour, 1<<63 - 1} {
		if i := latencyBucket(d); i < 0 || i >= len(h.b) {
			t.Fatalf("%d: bucket %d", d, i)
		}
	}
}
