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
	"time"

	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
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
	// WebhooksAllowPrivate lets webhook URLs use http and reach loopback
	// and private addresses (tests and local development only).
	WebhooksAllowPrivate bool
	// CacheSize bounds every in-process cache together (estimated bytes).
	CacheSize uint64
	// AccessLog says which requests get an access line.
	AccessLog middleware.AccessLogMode
	// OutboxRetention keeps delivered mail this long.
	OutboxRetention time.Duration
	// JanitorInterval is the time between the janitor's runs.
	JanitorInterval time.Duration
	// OldSecretKeys are former secret keys, comma-separated: audit events
	// sealed under them still verify; nothing new is sealed with them.
	OldSecretKeys string
	// AuditCheckpointEvery is how often changed audit chain heads are
	// logged (audit.checkpoint); 0 never.
	AuditCheckpointEvery time.Duration
	// MetricsAddr, when set, serves /metrics on a listener of its own (and
	// never on the main one); unset, the main listener serves it to
	// loopback peers only.
	MetricsAddr string
	// SQLiteSynchronous is "normal" or "full" (see sqlite.Options).
	SQLiteSynchronous string
	// DevMailbox is "" (on exactly when SMTP is unset and the database is
	// SQLite), "true" or "false".
	DevMailbox string
	// Social sign-in; a provider without a client id is off.
	GoogleClientID, GoogleClientSecret, GoogleIssuer string
	GitHubClientID, GitHubClientSecret               string
	GitHubURL, GitHubAPIURL                          string
	// AllowedRedirectOrigins are the origins a redirect_url (after an
	// invitation is accepted) may go to, normalized and comma-separated.
	AllowedRedirectOrigins string
	// WebAuthnRPID and WebAuthnOrigins override the passkey relying party
	// (by default GATEHOUSE_BASE_URL's host and origin).
	// WebAuthnOrigins is comma-separated.
	WebAuthnRPID, WebAuthnOrigins string
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
	{"GATEHOUSE_CACHE_SIZE", "cache-size", "256MiB", "memory for every in-process cache together (trees, rights, sessions, API keys), like 64MiB or 1GiB", func(c *Config, v string) error {
		n, err := cache.ParseSize(v)
		c.CacheSize = n
		return err
	}},
	{"GATEHOUSE_OLD_SECRET_KEYS", "old-secret-keys", "", "former secret keys, comma-separated: audit events sealed under them keep verifying", func(c *Config, v string) error {
		for _, k := range SplitKeys(v) {
			if _, err := secret.NewKey(k); err != nil {
				return err
			}
		}
		c.OldSecretKeys = v
		return nil
	}},
	{"GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL", "audit-checkpoint-interval", "5m", "how often each organization's changed audit chain head is logged (audit.checkpoint); 0 never", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Second) {
			return fmt.Errorf("must be a duration of at least 1s, like 5m, or 0 to turn it off")
		}
		c.AuditCheckpointEvery = d
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
	{"GATEHOUSE_METRICS_ADDR", "metrics-addr", "", "host:port of a separate listener for /metrics; unset serves /metrics on the main listener to loopback peers only", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, like 127.0.0.1:9090")
		}
		c.MetricsAddr = v
		return nil
	}},
	{"GATEHOUSE_SQLITE_SYNCHRONOUS", "sqlite-synchronous", "normal", "SQLite durability: normal (acknowledged writes survive a crash, not a power cut) or full (they survive a power cut too)", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "normal", "full":
			c.SQLiteSynchronous = strings.ToLower(v)
			return nil
		}
		return fmt.Errorf("must be normal or full")
	}},
	{"GATEHOUSE_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE", "webhooks-allow-private", "false", "let webhook URLs use http and loopback or private addresses (tests, local development)", func(c *Config, v string) error {
		switch v {
		case "true", "1":
			c.WebhooksAllowPrivate = true
		case "false", "0", "":
			c.WebhooksAllowPrivate = false
		default:
			return fmt.Errorf("must be true or false")
		}
		return nil
	}},
	{"GATEHOUSE_ACCESS_LOG", "access-log", "sampled", "sampled (every request but 1 in 100 successful permission checks, /health and /metrics), all, or errors (status 400 and above)", func(c *Config, v string) error {
		m, err := middleware.ParseAccessLogMode(v)
		c.AccessLog = m
		return err
	}},
	{"GATEHOUSE_OUTBOX_RETENTION", "outbox-retention", "168h", "how long delivered mail stays in the outbox before the janitor deletes it (1m or more)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return fmt.Errorf("must be a duration of at least 1m, like 168h")
		}
		c.OutboxRetention = d
		return nil
	}},
	{"GATEHOUSE_JANITOR_INTERVAL", "janitor-interval", "1m", "time between the janitor's runs (1s to 24h)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("must be a duration from 1s to 24h, like 1m")
		}
		c.JanitorInterval = d
		return nil
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
	{"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS", "allowed-redirect-origins", "", "origins, comma-separated (https://app.example.com,http://localhost:3000), where browsers may be sent after accepting an invitation (redirect_url); unset allows none", func(c *Config, v string) error {
		var origins []string
		for _, o := range SplitKeys(v) {
			origin, err := service.ParseOrigin(o)
			if err != nil {
				return err
			}
			origins = append(origins, origin)
		}
		c.AllowedRedirectOrigins = strings.Join(origins, ",")
		return nil
	}},
	{"GATEHOUSE_GITHUB_API_URL", "github-api-url", "https://api.github.com", "GitHub API URL (/user, /user/emails)", func(c *Config, v string) error {
		return setURL(&c.GitHubAPIURL, v)
	}},
	{"GATEHOUSE_WEBAUTHN_RP_ID", "webauthn-rp-id", "", "passkeys' relying party id, a domain (default: the base URL's host)", func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v != "" && (strings.ContainsAny(v, ":/ ") || net.ParseIP(v) != nil) {
			return fmt.Errorf("must be a domain name, like example.com")
		}
		c.WebAuthnRPID = strings.ToLower(v)
		return nil
	}},
	{"GATEHOUSE_WEBAUTHN_ORIGINS", "webauthn-origins", "", "origins passkeys may be used from, comma-separated (default: the base URL's origin)", func(c *Config, v string) error {
		var origins []string
		for _, o := range SplitKeys(v) {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
				return fmt.Errorf("%q must be an origin, like https://app.example.com", o)
			}
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
		c.WebAuthnOrigins = strings.Join(origins, ",")
		return nil
	}},
}

// SplitKeys splits a comma-separated list of keys, dropping blanks.
func SplitKeys(v string) []string {
	var out []string
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
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
	// A shared database is a deployment: its mail must leave, not wait in a
	// mailbox, unless the operator says otherwise.
	if c.DatabaseURL != "" && c.SMTPURL == "" && c.DevMailbox != "true" {
		return c, fmt.Errorf("GATEHOUSE_SMTP_URL: required with PostgreSQL, so that mail is delivered (or set GATEHOUSE_DEV_MAILBOX=true to read it in the development mailbox)")
	}
	return c, nil
}
