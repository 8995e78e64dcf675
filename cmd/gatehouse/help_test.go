package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Asking for help is no failure: exit status 0, the flags listed.
func TestServeHelp(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{"serve", "-h"}, {"-h"}, {"serve", "--help"}, {"migrate", "-h"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = processEnv(map[string]string{"GATEHOUSE_DATA_DIR": filepath.Join(t.TempDir(), "data")})
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("%v: exit status %d; stderr: %s", args, exit.ExitCode(), stderr.String())
		} else if err != nil {
			t.Fatal(err)
		}
		out := stdout.String() + stderr.String()
		if !strings.Contains(out, "-addr") || !strings.Contains(out, "GATEHOUSE_DEV_MAILBOX") || strings.Contains(out, "help requested") {
			t.Fatalf("%v: output lacks the flags or says help was requested: %s", args, out)
		}
	}
}

// The start-up lines say where the server is, what links in emails use and
// whether the development mailbox is on.
func TestStartupLines(t *testing.T) {
	for _, tt := range []struct {
		name, mailbox, want string
	}{
		{"OKMailboxOn", "", "Development mailbox is ON"},
		{"OKMailboxOff", "false", "Development mailbox is off"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A fixed free port, as an operator would write it.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			_, port, _ := net.SplitHostPort(addr)
			env := engineEnv(t, storetest.SQLite())
			env["GATEHOUSE_ADDR"] = addr
			env["GATEHOUSE_DEV_MAILBOX"] = tt.mailbox
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stderr := &lockedBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve"}, getenv(env), &lockedBuffer{}, stderr) }()
			deadline := time.Now().Add(guard)
			for !strings.Contains(stderr.String(), "Development mailbox") {
				if time.Now().After(deadline) {
					t.Fatalf("no start-up lines: %q", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			out := stderr.String()
			if !strings.Contains(out, "Links in emails use http://localhost:"+port+"\n") {
				t.Errorf("base URL line missing or wrong (want port %s): %q", port, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("want %q in %q", tt.want, out)
			}
			if tt.mailbox == "" && !strings.Contains(out, "/dev/mail (loopback clients only)") {
				t.Errorf("the mailbox line does not say where: %q", out)
			}
		})
	}
}
