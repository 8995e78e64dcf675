package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/http/middleware"
)

// env returns a getenv reading from m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const testSecret = "config-test-secret-0123456789"

func TestLoadConfig(t *testing.T) {
	t.Run("OKDefaults", func(t *testing.T) {
		c, err := LoadConfig(nil, env(nil), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Addr: ":8080", DataDir: "./data", BaseURL: "", // derived from the port listened on
			MailFrom: "Gatehouse <gatehouse@localhost>", LogLevel: slog.LevelInfo, CacheSize: 256 << 20, AuditCheckpointEvery: 5 * time.Minute,
			OutboxRetention: 168 * time.Hour, JanitorInterval: time.Minute, SQLiteSynchronous: "normal"}
		want = providerDefaults(want)
		if c != want {
			t.Fatalf("defaults = %+v, want %+v", c, want)
		}
	})

	t.Run("OKEnv", func(t *testing.T) {
		c, err := LoadConfig(nil, env(map[string]string{
			"GATEHOUSE_ADDR":             "127.0.0.1:9000",
			"GATEHOUSE_DATA_DIR":         "/var/lib/gatehouse",
			"GATEHOUSE_DATABASE_URL":     "postgres://gh@db.internal:5432/gatehouse?sslmode=require",
			"GATEHOUSE_BASE_URL":         "https://id.example.com/",
			"GATEHOUSE_SMTP_URL":         "smtps://user:pass@mail.example.com:465",
			"GATEHOUSE_MAIL_FROM":        "Example <no-reply@example.com>",
			"GATEHOUSE_SECRET_KEY":       testSecret,
			"GATEHOUSE_LOG_LEVEL":        "debug",
			"GATEHOUSE_CACHE_SIZE":       "1GiB",
			"GATEHOUSE_ACCESS_LOG":       "errors",
			"GATEHOUSE_OUTBOX_RETENTION": "24h",
			"GATEHOUSE_JANITOR_INTERVAL": "30s",
		}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Addr: "127.0.0.1:9000", DataDir: "/var/lib/gatehouse",
			DatabaseURL: "postgres://gh@db.internal:5432/gatehouse?sslmode=require",
			BaseURL:     "https://id.example.com", // trailing slash trimmed
			SMTPURL:     "smtps://user:pass@mail.example.com:465", MailFrom: "Example <no-reply@example.com>",
			SecretKey: testSecret, LogLevel: slog.LevelDebug, CacheSize: 1 << 30, AccessLog: middleware.AccessLogErrors, AuditCheckpointEvery: 5 * time.Minute,
			OutboxRetention: 24 * time.Hour, JanitorInterval: 30 * time.Second, SQLiteSynchronous: "normal"}
		want = providerDefaults(want)
		if c != want {
			t.Fatalf("config = %+v, want %+v", c, want)
		}
	})

	t.Run("OKPostgresqlScheme", func(t *testing.T) {
		c, err := LoadConfig(nil, env(map[string]string{
			"GATEHOUSE_DATABASE_URL": "postgresql://gh@localhost/gatehouse", "GATEHOUSE_SECRET_KEY": testSecret,
			"GATEHOUSE_DEV_MAILBOX": "true"}), &bytes.Buffer{})
		if err != nil || c.DatabaseURL != "postgresql://gh@localhost/gatehouse" {
			t.Fatalf("config %+v, err %v", c, err)
		}
	})

	t.Run("OKFlagsWinOverEnv", func(t *testing.T) {
		c, err := LoadConfig([]string{
			"-addr", "127.0.0.1:7000",
			"--data-dir=/flag/data",
			"-base-url", "https://flag.example.com",
			"-log-level", "error",
			"-mail-from", "flag@example.com",
			"-secret-key", "flag-secret-key-0123456789",
			"-cache-size", "64MiB",
		}, env(map[string]string{
			"GATEHOUSE_ADDR":       "127.0.0.1:9000",
			"GATEHOUSE_DATA_DIR":   "/env/data",
			"GATEHOUSE_BASE_URL":   "https://env.example.com",
			"GATEHOUSE_LOG_LEVEL":  "debug",
			"GATEHOUSE_MAIL_FROM":  "env@example.com",
			"GATEHOUSE_SECRET_KEY": testSecret,
			"GATEHOUSE_SMTP_URL":   "smtp://env.example.com:25",
			"GATEHOUSE_CACHE_SIZE": "1GiB",
		}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Addr: "127.0.0.1:7000", DataDir: "/flag/data", BaseURL: "https://flag.example.com",
			SMTPURL:  "smtp://env.example.com:25", // no flag: the environment stands
			MailFrom: "flag@example.com", SecretKey: "flag-secret-key-0123456789", LogLevel: slog.LevelError, CacheSize: 64 << 20, AuditCheckpointEvery: 5 * time.Minute,
			OutboxRetention: 168 * time.Hour, JanitorInterval: time.Minute, SQLiteSynchronous: "normal"}
		want = providerDefaults(want)
		if c != want {
			t.Fatalf("config = %+v, want %+v", c, want)
		}
	})

	t.Run("ErrBadValue", func(t *testing.T) {
		tests := []struct {
			name    string
			env     map[string]string
			args    []string
			wantVar string
			secret  string // must not appear in the error
		}{
			{name: "DatabaseURLNotAURL", env: map[string]string{"GATEHOUSE_DATABASE_URL": "not-a-url"}, wantVar: "GATEHOUSE_DATABASE_URL"},
			{name: "DatabaseURLWrongScheme", env: map[string]string{"GATEHOUSE_DATABASE_URL": "mysql://u@h/db", "GATEHOUSE_SECRET_KEY": testSecret}, wantVar: "GATEHOUSE_DATABASE_URL"},
			{name: "DatabaseURLNoHost", env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres:///db", "GATEHOUSE_SECRET_KEY": testSecret}, wantVar: "GATEHOUSE_DATABASE_URL"},
			{name: "DatabaseURLFlag", args: []string{"-database-url", "not-a-url"}, wantVar: "GATEHOUSE_DATABASE_URL"},
			{name: "AddrNoPort", env: map[string]string{"GATEHOUSE_ADDR": "localhost"}, wantVar: "GATEHOUSE_ADDR"},
			{name: "AddrGarbage", env: map[string]string{"GATEHOUSE_ADDR": "not an address"}, wantVar: "GATEHOUSE_ADDR"},
			{name: "BaseURLNoScheme", env: map[string]string{"GATEHOUSE_BASE_URL": "id.example.com"}, wantVar: "GATEHOUSE_BASE_URL"},
			{name: "BaseURLFTP", env: map[string]string{"GATEHOUSE_BASE_URL": "ftp://id.example.com"}, wantVar: "GATEHOUSE_BASE_URL"},
			{name: "BaseURLNoHost", env: map[string]string{"GATEHOUSE_BASE_URL": "https://"}, wantVar: "GATEHOUSE_BASE_URL"},
			{name: "SMTPURLScheme", env: map[string]string{"GATEHOUSE_SMTP_URL": "http://mail.example.com"}, wantVar: "GATEHOUSE_SMTP_URL"},
			{name: "SMTPURLNoHost", env: map[string]string{"GATEHOUSE_SMTP_URL": "smtp://"}, wantVar: "GATEHOUSE_SMTP_URL"},
			{name: "MailFromNoAt", env: map[string]string{"GATEHOUSE_MAIL_FROM": "gatehouse"}, wantVar: "GATEHOUSE_MAIL_FROM"},
			{name: "SecretKeyShort", env: map[string]string{"GATEHOUSE_SECRET_KEY": "short-key"}, wantVar: "GATEHOUSE_SECRET_KEY", secret: "short-key"},
			{name: "AccessLogUnknown", env: map[string]string{"GATEHOUSE_ACCESS_LOG": "none"}, wantVar: "GATEHOUSE_ACCESS_LOG"},
			{name: "AccessLogFlag", args: []string{"-access-log", "ALL"}, wantVar: "GATEHOUSE_ACCESS_LOG"},
			{name: "OldSecretKeyShort", env: map[string]string{"GATEHOUSE_OLD_SECRET_KEYS": testSecret + ",short-old"}, wantVar: "GATEHOUSE_OLD_SECRET_KEYS", secret: "short-old"},
			{name: "CheckpointIntervalGarbage", env: map[string]string{"GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL": "often"}, wantVar: "GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL"},
			{name: "CheckpointIntervalTiny", env: map[string]string{"GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL": "10ms"}, wantVar: "GATEHOUSE_AUDIT_CHECKPOINT_INTERVAL"},
			{name: "OutboxRetentionGarbage", env: map[string]string{"GATEHOUSE_OUTBOX_RETENTION": "a week"}, wantVar: "GATEHOUSE_OUTBOX_RETENTION"},
			{name: "OutboxRetentionTooShort", env: map[string]string{"GATEHOUSE_OUTBOX_RETENTION": "1s"}, wantVar: "GATEHOUSE_OUTBOX_RETENTION"},
			{name: "JanitorIntervalZero", env: map[string]string{"GATEHOUSE_JANITOR_INTERVAL": "0s"}, wantVar: "GATEHOUSE_JANITOR_INTERVAL"},
			{name: "MetricsAddrNoPort", env: map[string]string{"GATEHOUSE_METRICS_ADDR": "localhost"}, wantVar: "GATEHOUSE_METRICS_ADDR"},
			{name: "SQLiteSynchronousUnknown", env: map[string]string{"GATEHOUSE_SQLITE_SYNCHRONOUS": "off"}, wantVar: "GATEHOUSE_SQLITE_SYNCHRONOUS"},
			{name: "LogLevelUnknown", env: map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"}, wantVar: "GATEHOUSE_LOG_LEVEL"},
			{name: "CacheSizeNoUnit", env: map[string]string{"GATEHOUSE_CACHE_SIZE": "lots"}, wantVar: "GATEHOUSE_CACHE_SIZE"},
			{name: "CacheSizeNegative", env: map[string]string{"GATEHOUSE_CACHE_SIZE": "-64MiB"}, wantVar: "GATEHOUSE_CACHE_SIZE"},
			{name: "CacheSizeTooSmall", args: []string{"-cache-size", "4KiB"}, wantVar: "GATEHOUSE_CACHE_SIZE"},
			{name: "DataDirEmptyFlag", args: []string{"-data-dir="}, wantVar: "GATEHOUSE_DATA_DIR"},
			{name: "PostgresWithoutSMTP", env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gh@localhost:5432/gatehouse", "GATEHOUSE_SECRET_KEY": testSecret}, wantVar: "GATEHOUSE_SMTP_URL"},
			{name: "PostgresDevMailboxFalse", env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gh@localhost:5432/gatehouse", "GATEHOUSE_SECRET_KEY": testSecret, "GATEHOUSE_DEV_MAILBOX": "false"}, wantVar: "GATEHOUSE_SMTP_URL"},
			{name: "DevMailboxNotABool", env: map[string]string{"GATEHOUSE_DEV_MAILBOX": "yes please"}, wantVar: "GATEHOUSE_DEV_MAILBOX"},
			{name: "RedirectOriginWithPath", env: map[string]string{"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS": "https://app.example.com/welcome"}, wantVar: "GATEHOUSE_ALLOWED_REDIRECT_ORIGINS"},
			{name: "RedirectOriginScheme", env: map[string]string{"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS": "https://ok.example.com,javascript://x"}, wantVar: "GATEHOUSE_ALLOWED_REDIRECT_ORIGINS"},
			{name: "RedirectOriginNoScheme", env: map[string]string{"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS": "app.example.com"}, wantVar: "GATEHOUSE_ALLOWED_REDIRECT_ORIGINS"},
			{name: "RedirectOriginCredentials", env: map[string]string{"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS": "https://u:p@app.example.com"}, wantVar: "GATEHOUSE_ALLOWED_REDIRECT_ORIGINS"},
			{name: "RedirectOriginQuery", args: []string{"-allowed-redirect-origins", "https://app.example.com?x=1"}, wantVar: "GATEHOUSE_ALLOWED_REDIRECT_ORIGINS"},
			{name: "PostgresWithoutSecretKey", env: map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gh@localhost:5432/gatehouse"}, wantVar: "GATEHOUSE_SECRET_KEY"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := LoadConfig(tt.args, env(tt.env), &bytes.Buffer{})
				if err == nil {
					t.Fatal("LoadConfig succeeded")
				}
				if !strings.HasPrefix(err.Error(), tt.wantVar+":") {
					t.Fatalf("error %q does not start with %s", err, tt.wantVar)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error spans lines: %q", err)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("error echoes the secret: %q", err)
				}
			})
		}
	})

	t.Run("OKRedirectOrigins", func(t *testing.T) {
		c, err := LoadConfig(nil, env(map[string]string{
			"GATEHOUSE_ALLOWED_REDIRECT_ORIGINS": " HTTPS://App.Example.com:443/ , http://localhost:3000,https://[::1]:8443"}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if c.AllowedRedirectOrigins != "https://app.example.com,http://localhost:3000,https://[::1]:8443" {
			t.Fatalf("origins %q", c.AllowedRedirectOrigins)
		}
	})

	t.Run("ErrArguments", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"UnknownFlag", []string{"-no-such-flag"}, "no-such-flag"},
			{"StrayArgument", []string{"-addr", ":1", "extra"}, `unexpected argument "extra"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var stderr bytes.Buffer
				_, err := LoadConfig(tt.args, env(nil), &stderr)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error = %v, want it to mention %q", err, tt.want)
				}
			})
		}
	})

	t.Run("OKDevMailbox", func(t *testing.T) {
		for _, tt := range []struct {
			env  map[string]string
			want bool
		}{
			{nil, true}, // SQLite, no SMTP: the development default
			{map[string]string{"GATEHOUSE_DEV_MAILBOX": "false"}, false},
			{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:25"}, false},
			{map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com:25", "GATEHOUSE_DEV_MAILBOX": "true"}, false},
			{map[string]string{"GATEHOUSE_DATABASE_URL": "postgres://gh@db/gh", "GATEHOUSE_SECRET_KEY": testSecret, "GATEHOUSE_DEV_MAILBOX": "true"}, true},
		} {
			c, err := LoadConfig(nil, env(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("%v: %v", tt.env, err)
			}
			if c.DevMailboxOn() != tt.want {
				t.Errorf("%v: DevMailboxOn = %v, want %v", tt.env, c.DevMailboxOn(), tt.want)
			}
		}
	})

	t.Run("OKUsageNamesVariables", func(t *testing.T) {
		var stderr bytes.Buffer
		_, _ = LoadConfig([]string{"-h"}, env(nil), &stderr)
		for _, s := range settings {
			if !strings.Contains(stderr.String(), s.env) || !strings.Contains(stderr.String(), "-"+s.flag) {
				t.Errorf("usage lacks %s / -%s:\n%s", s.env, s.flag, stderr.String())
			}
		}
	})
}
