package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// -processes 2 on PostgreSQL: a second Gatehouse process (this binary,
// re-executed with -serve, the same database URL and secret key) serves the
// same schema. The harness runs a mixed load (checks and invitations, half
// the connections each) against one process, then split evenly over both,
// and prints the ratio; then it measures how long a member removed through
// process A keeps being allowed through process B.

const serveArg = "-serve"

// serveSpec is what the -serve child needs.
type serveSpec struct {
	DatabaseURL, SecretKey string
}

// runServe is the child: serve until stdin closes, printing the URL first.
func runServe(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var s serveSpec
	if err := json.NewDecoder(stdin).Decode(&s); err != nil {
		return err
	}
	m := &app.Main{Config: app.Config{Addr: "127.0.0.1:0", BaseURL: "http://127.0.0.1", MailFrom: "Gatehouse <bench@example.com>",
		SecretKey: s.SecretKey, DatabaseURL: s.DatabaseURL, LogLevel: slog.LevelWarn},
		Log: app.NewLogger(os.Stderr, slog.LevelWarn)}
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close(context.Background())
	if err := m.Start(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, m.URL())
	_, _ = io.Copy(io.Discard, stdin) // until the harness closes it
	return nil
}

// startSecond starts the second process and returns its URL and a stop.
func (h *harness) startSecond(ctx context.Context) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, exe, serveArg)
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	spec, _ := json.Marshal(serveSpec{DatabaseURL: h.cfg.DatabaseURL, SecretKey: h.cfg.SecretKey})
	if _, err := in.Write(append(spec, '\n')); err != nil {
		return "", nil, err
	}
	stop := func() { _ = in.Close(); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("second process: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}

// mixed runs checks and invitations at once, half the connections each,
// spread evenly over urls; it returns requests per second of both.
func (h *harness) mixed(ctx context.Context, urls []string, tag string) (float64, string) {
	checkBody := []byte(`{"entity_type":"projects","entity_id":"` + h.projectID + `","name":"settings","action":"write"}`)
	per := max(h.o.conns/(2*len(urls)), 1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	total, firstErr := 0.0, ""
	for i, u := range urls {
		for _, t := range []target{
			{method: "POST", url: u + "/v1/members/permissions/check", token: h.token, want: 200, fixed: checkBody},
			{method: "POST", url: u + "/v1/members/invitations", token: h.token, want: 201, invitePrefix: fmt.Sprintf("mix%s%d-", tag, i)},
		} {
			if t.invitePrefix != "" {
				t.body = inviteBody(t.invitePrefix)
			} else {
				t.body = func(buf []byte, _, _ int) []byte { return append(buf, checkBody...) }
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := h.runLoad(ctx, per, h.o.duration, t)
				mu.Lock()
				total += r.rps()
				if firstErr == "" {
					firstErr = r.firstErr
				}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return total, firstErr
}

// phaseProcesses is the -processes 2 run.
func (h *harness) phaseProcesses(ctx context.Context) error {
	if h.engine != "postgres" {
		fmt.Fprintln(h.stdout, "(d) -processes 2 needs -database-url (PostgreSQL): skipped")
		return nil
	}
	second, stop, err := h.startSecond(ctx)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(h.stdout, "(d) two Gatehouse processes on one PostgreSQL (A in-process %s, B a child process %s); mixed load: checks and invitations, %d connections\n",
		h.baseURL, second, h.o.conns)
	one, e1 := h.mixed(ctx, []string{h.baseURL}, "a")
	two, e2 := h.mixed(ctx, []string{h.baseURL, second}, "b")
	ratio := two / one
	fmt.Fprintf(h.stdout, "    one process %.0f req/s, two processes %.0f req/s → ratio %.2f   (goal ≥ 1.6 with more cores than load generators; this machine has %d)\n",
		one, two, ratio, runtime.NumCPU())
	for _, e := range []string{e1, e2} {
		if e != "" {
			fmt.Fprintf(h.stdout, "    first error: %.200s\n", e)
		}
	}
	h.verdicts = append(h.verdicts, verdict{"(d) 2 processes ÷ 1, mixed load", fmt.Sprintf("%.2f (%.0f / %.0f req/s)", ratio, two, one), "≥ 1.6", ratio >= 1.6})

	lat, err := h.invalidationLatency(ctx, second, 30)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, int(float64(len(lat))*0.99))]
	fmt.Fprintf(h.stdout, "    member removed through A, refused through B: p50 %s, p99 %s, max %s over %d removals   target p99 ≤ 100ms   %s\n\n",
		fmtDur(lat[len(lat)/2]), fmtDur(p99), fmtDur(lat[len(lat)-1]), len(lat), passMiss(p99 <= 100*time.Millisecond))
	h.verdicts = append(h.verdicts, verdict{"(d) cross-process invalidation p99", fmtDur(p99), "≤ 100ms", p99 <= 100*time.Millisecond})
	return nil
}

// invalidationLatency adds n members (through the store), warms B's cache
// with a check about each, removes each through A and polls B until it
// refuses: the delay from A's answer to B's first refusal.
func (h *harness) invalidationLatency(ctx context.Context, second string, n int) ([]time.Duration, error) {
	cl := &http.Client{Timeout: 10 * time.Second, Transport: newTransport(2)}
	defer cl.CloseIdleConnections()
	req := func(base, method, path string, body []byte) (int, []byte, error) {
		r, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		r.Header.Set("Authorization", "Bearer "+h.token)
		r.Header.Set("X-Organization-Id", h.orgID)
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := cl.Do(r)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	allowed := func(base, userID string) (bool, error) {
		code, b, err := req(base, "POST", "/v1/members/permissions/check",
			[]byte(`{"user_id":"`+userID+`","entity_type":"organizations","entity_id":"`+h.orgID+`","name":"members","action":"read"}`))
		if err != nil {
			return false, err
		}
		return code == 200 && bytes.Contains(b, []byte(`"allowed":true`)), nil
	}
	var out []time.Duration
	for i := range n {
		id := uuid.Must(uuid.NewV7()).String()
		now := time.Now().UTC().Truncate(time.Microsecond)
		err := h.m.Store.Tx(ctx, func(tx *store.Conn) error {
			if err := tx.CreateUser(ctx, &gatehouse.User{ID: id, Email: fmt.Sprintf("inval-%d-%s@bench.example.com", i, id[:8]), Name: "Inval", EmailVerified: true, CreatedAt: now}); err != nil {
				return err
			}
			return tx.CreateMembership(ctx, &gatehouse.Membership{ID: uuid.Must(uuid.NewV7()).String(), OrgID: h.orgID, UserID: id,
				Grants:    []gatehouse.Grant{{EntityType: gatehouse.EntityOrganizations, EntityID: h.orgID, Name: gatehouse.OrgMembers, Action: "read"}},
				CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			return nil, fmt.Errorf("invalidation member: %w", err)
		}
		if ok, err := allowed(second, id); err != nil || !ok {
			return nil, fmt.Errorf("invalidation: new member not allowed through B (%v)", err)
		}
		if code, b, err := req(h.baseURL, "DELETE", "/v1/members/"+id, nil); err != nil || code != 204 {
			return nil, fmt.Errorf("remove through A: %d %s %v", code, b, err)
		}
		t0 := time.Now()
		for {
			ok, err := allowed(second, id)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if time.Since(t0) > 10*time.Second {
				return nil, fmt.Errorf("process B still allows a member removed through process A after 10s")
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// compareSQLite runs (b) again on a temporary SQLite database, in the same
// run, and prints PostgreSQL ÷ SQLite invitations per second.
func (h *harness) compareSQLite(ctx context.Context) error {
	o := *h.o
	o.databaseURL, o.dataDir = "", ""
	lite := &harness{o: &o, stdout: h.stdout, stderr: h.stderr}
	defer lite.close()
	if err := lite.start(ctx); err != nil {
		return fmt.Errorf("SQLite comparison: %w", err)
	}
	fmt.Fprintln(h.stdout, "(b') the same invitation load on a temporary SQLite database, for PostgreSQL ÷ SQLite")
	if err := lite.phaseInvite(ctx); err != nil {
		return err
	}
	ratio := h.inviteRate / lite.inviteRate
	pass := ratio >= pgLiteTarget
	fmt.Fprintf(h.stdout, "    PostgreSQL ÷ SQLite invitations/s %.2f (%.0f / %.0f)   target ≥ %.1f   %s\n\n", ratio, h.inviteRate, lite.inviteRate, pgLiteTarget, passMiss(pass))
	h.verdicts = append(h.verdicts, verdict{"(b) PostgreSQL ÷ SQLite invitations", fmt.Sprintf("%.2f (%.0f / %.0f /s)", ratio, h.inviteRate, lite.inviteRate),
		fmt.Sprintf("≥ %.1f", pgLiteTarget), pass})
	return nil
}
