package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The load generator runs in its own process by default (-load-process):
// the harness re-executes itself with -loadgen, hands it the request to
// repeat on stdin and reads the result on stdout. The harness's own CPU
// time (getrusage of this process, children excluded) is then the
// server's alone: Gatehouse, the bare handler and the background workers
// (mail, webhooks) all live in this process, the client in the child.

// loadgenArg, as the first argument, makes the binary a load generator.
const loadgenArg = "-loadgen"

// loadSpec is a target a child process can rebuild: a fixed body, or an
// invitation body numbered by worker and sequence.
type loadSpec struct {
	Method, URL, Token, OrgID string
	Want                      int
	Body                      []byte
	InvitePrefix              string
	Conns                     int
	Duration                  time.Duration
}

// loadOut is the child's answer.
type loadOut struct {
	OK, Failed int
	Elapsed    time.Duration
	CPU        time.Duration // the child's (client's) CPU time
	Lat        []time.Duration
	FirstErr   string
}

func (s loadSpec) target() target {
	t := target{method: s.Method, url: s.URL, token: s.Token, orgID: s.OrgID, want: s.Want, fixed: s.Body, invitePrefix: s.InvitePrefix}
	switch {
	case s.InvitePrefix != "":
		t.body = inviteBody(s.InvitePrefix)
	case s.Body != nil:
		body := s.Body
		t.body = func(buf []byte, _, _ int) []byte { return append(buf, body...) }
	}
	return t
}

// inviteBody numbers invitation addresses by worker and sequence.
func inviteBody(prefix string) func(buf []byte, w, seq int) []byte {
	return func(buf []byte, w, seq int) []byte {
		buf = append(buf, `{"email":"`...)
		buf = append(buf, prefix...)
		buf = strconv.AppendInt(buf, int64(w), 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(seq), 10)
		return append(buf, `@bench.example.com","role":"viewer"}`...)
	}
}

// runLoadgen is the child: one load run, its result as JSON.
func runLoadgen(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var s loadSpec
	if err := json.NewDecoder(stdin).Decode(&s); err != nil {
		return fmt.Errorf("loadgen spec: %w", err)
	}
	r := load(ctx, s.Conns, s.Duration, s.target())
	return json.NewEncoder(stdout).Encode(loadOut{OK: r.ok, Failed: r.failed, Elapsed: r.elapsed, CPU: r.cpu, Lat: r.lat, FirstErr: r.firstErr})
}

// runLoad runs one load phase: in a child process when the target can be
// described to one (and -load-process is on), else in this process.
func (h *harness) runLoad(ctx context.Context, conns int, d time.Duration, t target) *result {
	if !h.o.loadProcess || (t.body != nil && t.fixed == nil && t.invitePrefix == "") {
		return load(ctx, conns, d, t)
	}
	run := h.runs.Add(1)
	s := loadSpec{Method: t.method, URL: t.url, Token: t.token, OrgID: t.orgID, Want: t.want, Body: t.fixed, Conns: conns, Duration: d}
	if t.invitePrefix != "" {
		// Distinct addresses across runs of the same phase.
		s.InvitePrefix = t.invitePrefix + strconv.FormatInt(run, 10) + "r"
	}
	spec, _ := json.Marshal(s)
	exe, err := os.Executable()
	if err != nil {
		return &result{failed: 1, firstErr: err.Error(), elapsed: d}
	}
	cmd := exec.CommandContext(ctx, exe, loadgenArg)
	cmd.Stdin = bytes.NewReader(spec)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cpu0 := processCPU()
	err = cmd.Run()
	cpu := processCPU() - cpu0
	// Load processes may run at once (-processes 2): each one's stderr is
	// passed on in one write (h.stderr takes one write at a time, run).
	_, _ = h.stderr.Write(errOut.Bytes())
	var lo loadOut
	if err == nil {
		err = json.Unmarshal(out.Bytes(), &lo)
	}
	if err != nil {
		return &result{failed: 1, firstErr: "load process: " + err.Error(), elapsed: d}
	}
	return &result{ok: lo.OK, failed: lo.Failed, elapsed: lo.Elapsed, cpu: cpu, clientCPU: lo.CPU, lat: lo.Lat, firstErr: lo.FirstErr, serverOnly: true}
}
