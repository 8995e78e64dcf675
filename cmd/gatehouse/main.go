// Command gatehouse runs Gatehouse. Subcommands: serve (the default),
// migrate, version. Configuration comes from GATEHOUSE_* environment
// variables or the flag of the same name (go run ./cmd/gatehouse serve -h lists them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "gatehouse", gatehouse.Version)
		return nil
	case "serve", "migrate":
	default:
		return fmt.Errorf("unknown command %q (commands: serve, migrate, version)", cmd)
	}
	cfg, err := app.LoadConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage is printed; asking for it is no failure
	}
	if err != nil {
		return err
	}
	m := &app.Main{Config: cfg, Log: app.NewLogger(stdout, cfg.LogLevel)}
	// Open applies pending migrations on both engines.
	if err := m.Open(ctx); err != nil {
		return err
	}
	if cmd == "migrate" {
		fmt.Fprintln(stdout, "migrations applied")
		return m.Close(ctx)
	}
	app.SetMemoryLimit(cfg, getenv)
	if err := m.Start(); err != nil {
		m.Close(ctx)
		return err
	}
	fmt.Fprintf(stderr, "Gatehouse is serving at %s\n", m.URL())
	fmt.Fprintf(stderr, "Links in emails use %s\n", m.Config.BaseURL)
	if u := m.DevMailboxURL(); u != "" {
		fmt.Fprintf(stderr, "Development mailbox is ON: mail is not sent but readable at %s (loopback clients only)\n", u)
	} else if cfg.SMTPURL == "" {
		fmt.Fprintln(stderr, "Development mailbox is off and no SMTP is set: mail stays queued in the outbox")
	}
	<-ctx.Done()
	m.Log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return m.Close(shutdown)
}
