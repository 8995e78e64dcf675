// Package app wires Gatehouse together: configuration, storage, services,
// the mail worker and the HTTP server. cmd/gatehouse and the tests share it.
package app

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
)

// Config is Gatehouse's configuration.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	BaseURL     string
	SMTPURL     string
	MailFrom    string
	SecretKey   string
	LogLevel    slog.Level
	// DevMailbox is "" (on exactly when SMTP is unset and the database is
	// SQLite), "true" or "false".
	DevMailbox string
}

// DevMailboxOn reports whether the development mailbox serves mail: never
// with SMTP, and otherwise as GATEHOUSE_DEV_MAILBOX says (default: on).
// LoadConfig has already refused PostgreSQL without SMTP or an explicit
// GATEHOUSE_DEV_MAILBOX=true.
func (c Config) DevMailboxOn() bool {
	return c.SMTPURL == "" && c.DevMailbox != "false"
}

// setting is one row of the configuration table: an environment key, its
// flag, default, help, and how to store and check a value.
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

var settings = []setting{
	{"GATEHOUSE_ADDR", "addr", ":8080", "address to listen on", func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, like :8080")
		}
		c.Addr = v
		return nil
	}},
	{"GATEHOUSE_DATA_DIR", "data-dir", "./data", "folder for the embedded database and generated key", func(c *Config, v string) error {
		if v == "" {
			return fmt.Errorf("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"GATEHOUSE_DATABASE_URL", "database-url", "", "postgres:// URL; unset means embedded SQLite in the data directory", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("must be a postgres://user@host:port/database URL")
		}
		c.DatabaseURL = v
		return nil
	}},
	{"GATEHOUSE_BASE_URL", "base-url", "", "public URL, for links in emails; unset means http://localhost:<port listened on>", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("must be an http:// or https:// URL")
		}
		c.BaseURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"GATEHOUSE_SMTP_URL", "smtp-url", "", "smtp:// or smtps:// URL of the mail server; unset keeps mail in the dev mailbox", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := mail.ParseSMTPURL(v); err != nil {
			return err
		}
		c.SMTPURL = v
		return nil
	}},
	{"GATEHOUSE_MAIL_FROM", "mail-from", "Gatehouse <gatehouse@localhost>", "sender address of emails", func(c *Config, v string) error {
		if !strings.Contains(v, "@") {
			return fmt.Errorf("must be an email address")
		}
		c.MailFrom = v
		return nil
	}},
	{"GATEHOUSE_SECRET_KEY", "secret-key", "", "key sealing mail at rest and deriving session tokens (16+ characters); generated into the data directory when unset on SQLite", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := secret.NewKey(v); err != nil {
			return err
		}
		c.SecretKey = v
		return nil
	}},
	{"GATEHOUSE_DEV_MAILBOX", "dev-mailbox", "", "true or false: keep unsent mail readable at /dev/mailbox and /dev/mail (loopback clients only); unset means on with SQLite and no SMTP", func(c *Config, v string) error {
		switch v {
		case "", "true", "false":
			c.DevMailbox = v
			return nil
		}
		return fmt.Errorf("must be true or false")
	}},
	{"GATEHOUSE_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
}

// LoadConfig reads the environment, then flags (which win).
func LoadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := make([]*string, len(settings))
	for i, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		values[i] = fs.String(s.flag, v, fmt.Sprintf("%s (%s)", s.help, s.env))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for i, s := range settings {
		if err := s.set(&c, *values[i]); err != nil {
			return c, fmt.Errorf("%s: %v", s.env, err)
		}
	}
	if c.DatabaseURL != "" && c.SecretKey == "" {
		return c, fmt.Errorf("GATEHOUSE_SECRET_KEY: required with PostgreSQL, where every process must share one key")
	}
	// A shared database is a deployment: its mail must leave, not wait in a
	// mailbox, unless the operator says otherwise.
	if c.DatabaseURL != "" && c.SMTPURL == "" && c.DevMailbox != "true" {
		return c, fmt.Errorf("GATEHOUSE_SMTP_URL: required with PostgreSQL, so that mail is delivered (or set GATEHOUSE_DEV_MAILBOX=true to read it in the development mailbox)")
	}
	return c, nil
}
