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
	// Social sign-in; a provider without a client id is off.
	GoogleClientID, GoogleClientSecret, GoogleIssuer string
	GitHubClientID, GitHubClientSecret               string
	GitHubURL, GitHubAPIURL                          string
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
	{"GATEHOUSE_BASE_URL", "base-url", "http://localhost:8080", "public URL, for links in emails", func(c *Config, v string) error {
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
	{"GATEHOUSE_SECRET_KEY", "secret-key", "", "key sealing mail at rest (16+ characters); generated into the data directory when unset on SQLite", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := secret.NewKey(v); err != nil {
			return err
		}
		c.SecretKey = v
		return nil
	}},
	{"GATEHOUSE_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"GATEHOUSE_GOOGLE_CLIENT_ID", "google-client-id", "", "OAuth client id for Sign in with Google; unset turns it off", func(c *Config, v string) error {
		c.GoogleClientID = v
		return nil
	}},
	{"GATEHOUSE_GOOGLE_CLIENT_SECRET", "google-client-secret", "", "OAuth client secret for Sign in with Google", func(c *Config, v string) error {
		c.GoogleClientSecret = v
		return nil
	}},
	{"GATEHOUSE_GOOGLE_ISSUER", "google-issuer", "https://accounts.google.com", "OpenID Connect issuer of Google sign-in", func(c *Config, v string) error {
		return setURL(&c.GoogleIssuer, v)
	}},
	{"GATEHOUSE_GITHUB_CLIENT_ID", "github-client-id", "", "OAuth app client id for Sign in with GitHub; unset turns it off", func(c *Config, v string) error {
		c.GitHubClientID = v
		return nil
	}},
	{"GATEHOUSE_GITHUB_CLIENT_SECRET", "github-client-secret", "", "OAuth app client secret for Sign in with GitHub", func(c *Config, v string) error {
		c.GitHubClientSecret = v
		return nil
	}},
	{"GATEHOUSE_GITHUB_URL", "github-url", "https://github.com", "GitHub web URL (/login/oauth/authorize, /login/oauth/access_token)", func(c *Config, v string) error {
		return setURL(&c.GitHubURL, v)
	}},
	{"GATEHOUSE_GITHUB_API_URL", "github-api-url", "https://api.github.com", "GitHub API URL (/user, /user/emails)", func(c *Config, v string) error {
		return setURL(&c.GitHubAPIURL, v)
	}},
}

// setURL stores an http(s) URL without its trailing slash.
func setURL(dst *string, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http:// or https:// URL")
	}
	*dst = strings.TrimRight(v, "/")
	return nil
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
	if c.GoogleClientID != "" && c.GoogleClientSecret == "" {
		return c, fmt.Errorf("GATEHOUSE_GOOGLE_CLIENT_SECRET: required with GATEHOUSE_GOOGLE_CLIENT_ID")
	}
	if c.GitHubClientID != "" && c.GitHubClientSecret == "" {
		return c, fmt.Errorf("GATEHOUSE_GITHUB_CLIENT_SECRET: required with GATEHOUSE_GITHUB_CLIENT_ID")
	}
	if c.DatabaseURL != "" && c.SecretKey == "" {
		return c, fmt.Errorf("GATEHOUSE_SECRET_KEY: required with PostgreSQL, where every process must share one key")
	}
	return c, nil
}
