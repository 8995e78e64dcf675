package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// guard bounds every wait, so a hang fails the test instead of stalling the
// suite; it is never a performance assertion.
const guard = 60 * time.Second

const testPassword = "a long enough password"

var servingRe = regexp.MustCompile(`Gatehouse is serving at (http://\S+)`)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// engineEnv is the configuration of a fresh, empty installation on engine e.
func engineEnv(t *testing.T, e storetest.Engine) map[string]string {
	t.Helper()
	env := map[string]string{
		"GATEHOUSE_ADDR":      "127.0.0.1:0",
		"GATEHOUSE_DATA_DIR":  filepath.Join(t.TempDir(), "data"),
		"GATEHOUSE_LOG_LEVEL": "warn",
	}
	if e.Name == "postgres" {
		env["GATEHOUSE_DATABASE_URL"] = e.NewDSN(t)
		env["GATEHOUSE_SECRET_KEY"] = storetest.TestKey
		env["GATEHOUSE_DEV_MAILBOX"] = "true" // these tests read the mailbox
	}
	return env
}

var client = &http.Client{Timeout: 20 * time.Second}

// call sends a JSON request and returns the status and decoded body.
func call(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, url, raw)
		}
	}
	return resp.StatusCode, out
}

// registerUser signs up email; it only reports errors, so that it may run
// on other goroutines.
func registerUser(t *testing.T, base, email string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": "User", "email": email, "password": testPassword})
	resp, err := client.Post(base+"/v1/auth/register", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Errorf("register %s: %v", email, err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		t.Errorf("register %s: status %d: %s", email, resp.StatusCode, raw)
	}
}

func accountExists(t *testing.T, base, email string) bool {
	t.Helper()
	status, body := call(t, "POST", base+"/v1/auth/account-exists", map[string]string{"email": email})
	if status != 200 {
		t.Fatalf("account-exists %s: status %d: %v", email, status, body)
	}
	return body["exists"] == true
}

func checkHealth(t *testing.T, base string) {
	t.Helper()
	status, body := call(t, "GET", base+"/health", nil)
	if status != 200 || body["status"] != "ok" || body["database"] != "ok" {
		t.Fatalf("health: %d %v", status, body)
	}
}

// serving is a run("serve") going on in this process.
type serving struct {
	URL    string
	Stdout *lockedBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Stop cancels run's context and returns what run returned.
func (s *serving) Stop(t *testing.T) error {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(guard):
			s.err = errors.New("run did not return after its context was cancelled")
		}
	})
	return s.err
}

// serve starts run(ctx, ["serve"]) and waits for the URL it prints.
func serve(t *testing.T, env map[string]string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{Stdout: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	stderr := &lockedBuffer{}
	go func() { s.done <- run(ctx, []string{"serve"}, getenv(env), s.Stdout, stderr) }()
	t.Cleanup(func() { _ = s.Stop(t) })
	deadline := time.Now().Add(guard)
	for {
		if m := servingRe.FindStringSubmatch(stderr.String()); m != nil {
			s.URL = m[1]
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("run returned before serving: %v (stderr: %s)", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL on stderr: %q", stderr)
		}
	}
}

func TestRunVersion(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"version"}, getenv(nil), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if got, want := stdout.String(), "gatehouse "+gatehouse.Version+"\n"; got != want {
			t.Fatalf("stdout = %q, want %q", got, want)
		}
	})
	t.Run("ErrUnknownCommand", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"frobnicate"}, getenv(nil), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRunConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantVar string
	}{
		{"ErrDatabaseURL", []string{"serve"}, map[string]string{"GATEHOUSE_DATABASE_URL": "not-a-url"}, "GATEHOUSE_DATABASE_URL"},
		{"ErrDatabaseURLMigrate", []string{"migrate"}, map[string]string{"GATEHOUSE_DATABASE_URL": "not-a-url"}, "GATEHOUSE_DATABASE_URL"},
		{"ErrDatabaseURLDefaultCommand", nil, map[string]string{"GATEHOUSE_DATABASE_URL": "not-a-url"}, "GATEHOUSE_DATABASE_URL"},
		{"ErrDatabaseURLFlag", []string{"serve", "-database-url", "not-a-url"}, nil, "GATEHOUSE_DATABASE_URL"},
		{"ErrAddr", []string{"serve"}, map[string]string{"GATEHOUSE_ADDR": "nowhere"}, "GATEHOUSE_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, getenv(tt.env), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantVar) {
				t.Fatalf("err = %v, want it to name %s", err, tt.wantVar)
			}
		})
	}
	t.Run("ErrAddrInUse", func(t *testing.T) {
		env := engineEnv(t, storetest.SQLite())
		first := serve(t, env)
		env = engineEnv(t, storetest.SQLite())
		env["GATEHOUSE_ADDR"] = strings.TrimPrefix(first.URL, "http://")
		err := run(context.Background(), []string{"serve"}, getenv(env), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_ADDR") {
			t.Fatalf("err = %v, want it to name GATEHOUSE_ADDR", err)
		}
	})
}

func TestRunMigrate(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				env := engineEnv(t, e)
				var stdout, stderr bytes.Buffer
				if err := run(context.Background(), []string{"migrate"}, getenv(env), &stdout, &stderr); err != nil {
					t.Fatalf("migrate: %v (stderr %s)", err, stderr.String())
				}
				if !strings.Contains(stdout.String(), "migrations applied") {
					t.Fatalf("stdout = %q", stdout.String())
				}
				if e.Name == "sqlite" {
					if _, err := os.Stat(filepath.Join(env["GATEHOUSE_DATA_DIR"], sqlite.FileName)); err != nil {
						t.Fatalf("no database file: %v", err)
					}
					if _, err := os.Stat(filepath.Join(env["GATEHOUSE_DATA_DIR"], "secret.key")); err != nil {
						t.Fatalf("no generated key: %v", err)
					}
				}
				// Running it again is a no-op.
				if err := run(context.Background(), []string{"migrate"}, getenv(env), io.Discard, io.Discard); err != nil {
					t.Fatalf("second migrate: %v", err)
				}
			})
		})
	}
}

func TestRunServe(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				env := engineEnv(t, e)
				env["GATEHOUSE_LOG_LEVEL"] = "info"
				s := serve(t, env)
				checkHealth(t, s.URL)
				if status, body := call(t, "GET", s.URL+"/", nil); status != 200 || body["version"] != gatehouse.Version {
					t.Fatalf("welcome: %d %v", status, body)
				}
				registerUser(t, s.URL, "kept@example.com")
				if t.Failed() {
					t.FailNow()
				}
				if err := s.Stop(t); err != nil {
					t.Fatalf("graceful shutdown: run returned %v", err)
				}
				for _, want := range []string{`"msg":"gatehouse listening"`, `"version":"` + gatehouse.Version + `"`, `"msg":"shutting down"`} {
					if !strings.Contains(s.Stdout.String(), want) {
						t.Fatalf("the JSON log on stdout lacks %s: %s", want, s.Stdout)
					}
				}
				if _, err := client.Get(s.URL + "/health"); err == nil {
					t.Fatal("the server still answers after shutdown")
				}

				// Restart on the same data: the account is still there.
				again := serve(t, env)
				checkHealth(t, again.URL)
				if !accountExists(t, again.URL, "kept@example.com") {
					t.Fatal("the registered account is gone after a restart")
				}
				if accountExists(t, again.URL, "never@example.com") {
					t.Fatal("an unknown account exists")
				}
				if err := again.Stop(t); err != nil {
					t.Fatalf("second shutdown: %v", err)
				}
			})
		})
	}
}

// --- the real binary ---

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/gatehouse once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary: skipped under -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gatehouse-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "gatehouse")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// processEnv is this process's environment without any GATEHOUSE_ setting,
// plus env.
func processEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// process is a running gatehouse binary.
type process struct {
	cmd    *exec.Cmd
	URL    string
	stderr *lockedBuffer
	exited chan error // receives cmd.Wait's result once stderr is drained
}

// start runs the binary with env and waits for the URL on its stderr.
func start(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = processEnv(env)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.stderr, line)
			if m := servingRe.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(guard):
			}
		}
	})
	select {
	case p.URL = <-urls:
		return p
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("gatehouse exited before serving: %v; stderr: %s", err, p.stderr)
	case <-time.After(guard):
		t.Fatalf("no URL on stderr: %s", p.stderr)
	}
	return nil
}

// wait returns the exit error once the process has ended.
func (p *process) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		return err
	case <-time.After(guard):
		t.Fatal("the process did not exit")
		return nil
	}
}

func TestBinaryKillLosesNoCommittedRow(t *testing.T) {
	const n = 8 // within the per-address budget of account-exists look-ups
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				env := engineEnv(t, e)
				p := start(t, env)
				checkHealth(t, p.URL)
				emails := make([]string, n)
				var wg sync.WaitGroup
				for i := range emails {
					emails[i] = fmt.Sprintf("user%d@example.com", i)
					wg.Go(func() { registerUser(t, p.URL, emails[i]) })
				}
				wg.Wait()
				if t.Failed() {
					t.FailNow()
				}
				// Every 201 was a commit: kill without any chance to flush.
				if err := p.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				if err := p.wait(t); err == nil {
					t.Fatal("a killed process exited cleanly")
				}

				again := start(t, env)
				checkHealth(t, again.URL)
				for _, email := range emails {
					if !accountExists(t, again.URL, email) {
						t.Errorf("account %s lost by the kill", email)
					}
				}
				if accountExists(t, again.URL, "nobody@example.com") {
					t.Error("an unregistered account exists")
				}

				// SIGTERM (or Ctrl-C) shuts down gracefully, with exit status 0.
				if err := again.cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				if err := again.wait(t); err != nil {
					t.Fatalf("interrupted process: %v; stderr: %s", err, again.stderr)
				}
			})
		})
	}
}

func TestBinaryExitStatus(t *testing.T) {
	bin := binary(t)
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantStatus int
		wantStdout string // part of stdout
		wantStderr string // part of the one stderr line; "" for none
	}{
		{name: "OKVersion", args: []string{"version"}, wantStatus: 0, wantStdout: "gatehouse " + gatehouse.Version},
		{name: "ErrDatabaseURL", env: map[string]string{"GATEHOUSE_DATABASE_URL": "not-a-url"}, wantStatus: 1, wantStderr: "GATEHOUSE_DATABASE_URL"},
		{name: "ErrPostgresWithoutKey", args: []string{"serve"}, env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://u@127.0.0.1:1/db"}, wantStatus: 1, wantStderr: "GATEHOUSE_SECRET_KEY"},
		{name: "ErrPostgresWithoutSMTP", args: []string{"serve"}, env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://u@127.0.0.1:1/db", "GATEHOUSE_SECRET_KEY": storetest.TestKey}, wantStatus: 1, wantStderr: "GATEHOUSE_SMTP_URL"},
		{name: "ErrUnknownCommand", args: []string{"frobnicate"}, wantStatus: 1, wantStderr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			env := map[string]string{"GATEHOUSE_DATA_DIR": filepath.Join(t.TempDir(), "data")}
			for k, v := range tt.env {
				env[k] = v
			}
			cmd.Env = processEnv(env)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus {
				t.Fatalf("exit status %d, want %d; stderr: %s", status, tt.wantStatus, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Fatalf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStderr == "" {
				if stderr.Len() != 0 {
					t.Fatalf("stderr = %q", stderr.String())
				}
				return
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "gatehouse: ") || !strings.Contains(lines[0], tt.wantStderr) {
				t.Fatalf("stderr = %q, want one line naming %s", stderr.String(), tt.wantStderr)
			}
		})
	}
}
