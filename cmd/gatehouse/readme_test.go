package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var walkthroughRe = regexp.MustCompile("(?s)<!-- walkthrough:start -->\\s*```sh\\n(.*?)```\\s*<!-- walkthrough:end -->")

// TestREADMEWalkthrough runs the README's curl and jq walkthrough, as
// written there, against a fresh server started as `go run` starts it.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := walkthroughRe.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no walkthrough block")
	}
	script := string(m[1])

	env := engineEnv(t, storetest.SQLite())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv(env), &lockedBuffer{}, stderr) }()
	var url string
	for deadline := time.Now().Add(guard); url == ""; {
		if m := servingRe.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer func() { cancel(); <-done }()

	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Env = append(os.Environ(), "GH="+url)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last2 := strings.Join(lines[max(0, len(lines)-2):], "\n")
	if !regexp.MustCompile(`(?s)^\{"allowed":true,"granted_by":"[^"]+"\}\n\{"allowed":false`).MatchString(last2) {
		t.Fatalf("the checks answer:\n%s\nwhole output:\n%s", last2, out)
	}
	for _, want := range []string{`"email":"olivia@acme.test"`, `"email_verified":true`, "rakajui@gmail.com", `"name":"billing"`, `"name":"api"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %s:\n%s", want, out)
		}
	}
}
