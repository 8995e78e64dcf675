package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/http/api"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/web"
	"github.com/gatehouse/gatehouse/internal/janitor"
	"github.com/gatehouse/gatehouse/internal/loop"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// Main is one running Gatehouse.
type Main struct {
	Config   Config
	Log      *slog.Logger
	Key      *secret.Key
	Store    *store.Store
	Services *service.Services
	Worker   *mail.Worker
	Webhooks *webhook.Worker
	Janitor  *janitor.Janitor
	API      *api.Server
	Registry *prometheus.Registry
	// Now overrides the clock (tests).
	Now func() time.Time
	// Hasher overrides password hashing parameters (tests use cheap ones).
	Hasher *secret.Hasher

	server         *http.Server
	listener       net.Listener
	stopBackground func()
	checkpoints    checkpoints

	metricsServer   *http.Server
	metricsListener net.Listener

	// reminders sends due invitation reminders, every janitor interval
	// (each claimed by one conditional UPDATE, so processes never both send).
	reminders loop.Loop
}

// metricsMux serves /metrics (and nothing else) on the metrics listener.
func (m *Main) metricsMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.API.MetricsHandler())
	return mux
}

// MetricsURL is where the separate metrics listener answers ("" without one).
func (m *Main) MetricsURL() string {
	if m.metricsListener == nil {
		return ""
	}
	return "http://" + m.metricsListener.Addr().String() + "/metrics"
}

// startBackground runs periodic chores: writing API keys' and sessions'
// last-use times.
func (m *Main) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.stopBackground = func() {
		cancel()
		<-done
		// Last flush, so nothing batched is lost at shutdown.
		_ = m.Services.Keys.FlushLastUsed(context.Background())
		_ = m.Services.Auth.FlushLastUsed(context.Background())
	}
	if every := m.Config.AuditCheckpointEvery; every > 0 {
		go m.checkpointLoop(ctx, every)
	}
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-m.Services.Keys.FlushSoon(): // a batch is full
			case <-m.Services.Auth.FlushSoon():
			}
			if err := m.Services.Keys.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("api keys: recording last use", "err", err)
			}
			if err := m.Services.Auth.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("sessions: recording last use", "err", err)
			}
		}
	}()
}

// startReminders runs the invitation reminders' loop.
func (m *Main) startReminders() {
	every := m.Config.JanitorInterval
	if every <= 0 {
		every = janitor.DefaultInterval
	}
	m.reminders.Start(every, func(ctx context.Context) error {
		n, err := m.Services.Invitations.SendDueReminders(ctx)
		if n > 0 {
			m.Log.Info("invitation reminders sent", "count", n)
		}
		return err
	}, func(err error) { m.Log.Warn("invitation reminders", "err", err) })
}

// SetMemoryLimit gives the Go runtime a soft memory limit of the cache size
// plus 64 MiB, unless GOMEMLIMIT is set: the garbage collector then keeps
// the heap near what is live (the caches and a fixed rest) instead of
// letting it double between collections (GOGC=100), so resident memory
// follows GATEHOUSE_CACHE_SIZE. The limit is soft: past it the collector
// works harder, it does not fail. One process, one limit: the binary calls
// it, not Open (tests run many servers in one process).
func SetMemoryLimit(c Config, getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" || c.CacheSize == 0 {
		return
	}
	debug.SetMemoryLimit(int64(c.CacheSize) + 64<<20)
}

// NewLogger returns the JSON logger with request ids.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(middleware.ContextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// Open connects storage and builds every part, without serving.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	var err error
	if m.Config.SecretKey != "" {
		m.Key, err = secret.NewKey(m.Config.SecretKey)
	} else {
		m.Key, err = secret.LoadOrCreateKeyFile(filepath.Join(m.Config.DataDir, "secret.key"))
	}
	if err != nil {
		return fmt.Errorf("GATEHOUSE_SECRET_KEY: %w", err)
	}
	if m.Config.DatabaseURL != "" {
		m.Store, err = postgres.Open(ctx, m.Config.DatabaseURL, m.Key)
	} else {
		m.Store, err = sqlite.OpenWith(ctx, m.Config.DataDir, m.Key, sqlite.Options{Synchronous: m.Config.SQLiteSynchronous})
	}
	if err != nil {
		return err
	}
	if err := m.openAudit(ctx); err != nil {
		return err
	}
	if err := m.deriveBaseURL(); err != nil {
		return err
	}
	if _, _, err := service.RelyingParty(m.Config.BaseURL, m.Config.WebAuthnRPID, SplitKeys(m.Config.WebAuthnOrigins)); err != nil {
		if m.Config.WebAuthnRPID != "" || m.Config.WebAuthnOrigins != "" {
			return fmt.Errorf("GATEHOUSE_WEBAUTHN_RP_ID, GATEHOUSE_WEBAUTHN_ORIGINS: %w", err)
		}
		// Derived from the base URL (an IP address, say): passkeys are
		// off until the relying party is set.
		m.Log.Warn("passkeys are off: set GATEHOUSE_WEBAUTHN_RP_ID (and GATEHOUSE_WEBAUTHN_ORIGINS)", "err", err)
	}
	var sender mail.Sender = mail.LocalSender{}
	if m.Config.SMTPURL != "" {
		if sender, err = mail.NewSMTPSender(m.Config.SMTPURL, m.Config.MailFrom); err != nil {
			return fmt.Errorf("GATEHOUSE_SMTP_URL: %w", err)
		}
	}
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(collectors.NewDBStatsCollector(m.Store.WriterDB(), "writer"))
	if m.Store.ReaderDB() != m.Store.WriterDB() {
		m.Registry.MustRegister(collectors.NewDBStatsCollector(m.Store.ReaderDB(), "reader"))
	}
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_outbox_delivery_attempts_total",
		Help: "Outbox delivery attempts by result (sent, retry, failed)."}, []string{"result"})
	m.Registry.MustRegister(failures, newOutboxCollector(m.Store))
	m.Worker = &mail.Worker{Store: m.Store, Sender: sender, Log: m.Log, Now: m.Now,
		OnResult: func(sent, final bool) {
			switch {
			case sent:
				failures.WithLabelValues("sent").Inc()
			case final:
				failures.WithLabelValues("failed").Inc()
			default:
				failures.WithLabelValues("retry").Inc()
			}
		}}
	m.Webhooks = &webhook.Worker{Store: m.Store, Client: webhook.NewClient(m.Config.WebhooksAllowPrivate), Log: m.Log, Now: m.Now}
	webhook.RegisterMetrics(m.Registry, m.Store, m.Webhooks)
	purged := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_janitor_purged_total",
		Help: "Rows the janitor deleted (invitation_tokens: tokens dropped, the invitation kept), by kind."}, []string{"kind"})
	for _, k := range janitor.Kinds {
		purged.WithLabelValues(k)
	}
	m.Registry.MustRegister(purged)
	m.Janitor = &janitor.Janitor{Store: m.Store, Log: m.Log, Now: m.Now, OutboxRetention: m.Config.OutboxRetention,
		Interval: m.Config.JanitorInterval, Purged: func(kind string, n int) { purged.WithLabelValues(kind).Add(float64(n)) }}
	if m.Config.DevMailboxOn() {
		m.Janitor.MailboxKeep = janitor.MailboxKeep
	}
	m.Services = service.New(m.Store, service.Config{
		BaseURL: m.Config.BaseURL, Key: m.Key, Hasher: m.Hasher, Now: m.Now, MailQueued: m.Worker.Wake, MailHandOff: m.Worker,
		WebhooksQueued: m.Webhooks.Wake, WebhooksAllowPrivate: m.Config.WebhooksAllowPrivate,
		CacheSize:              m.Config.CacheSize,
		Providers:              m.providers(),
		AllowedRedirectOrigins: SplitKeys(m.Config.AllowedRedirectOrigins),
		WebAuthnRPID:           m.Config.WebAuthnRPID, WebAuthnOrigins: SplitKeys(m.Config.WebAuthnOrigins),
	})
	m.Registry.MustRegister(cache.NewCollector(m.Services.Cache))
	m.API = &api.Server{Store: m.Store, Services: m.Services, Log: m.Log, Registry: m.Registry,
		BaseURL: m.Config.BaseURL, DevMailbox: m.Config.DevMailboxOn(), AccessLog: m.Config.AccessLog,
		MetricsElsewhere: m.Config.MetricsAddr != ""}
	m.API.Web = web.New(web.Config{Services: m.Services, BaseURL: m.Config.BaseURL,
		DevMailbox: m.API.DevMailbox, Log: m.Log, Now: m.Now})
	return nil
}

// providers builds the configured social sign-in providers.
func (m *Main) providers() map[string]sso.Provider {
	now := m.Now
	if now == nil {
		now = time.Now
	}
	ps := map[string]sso.Provider{}
	c := m.Config
	if c.GoogleClientID != "" {
		issuer := c.GoogleIssuer
		if issuer == "" {
			issuer = "https://accounts.google.com"
		}
		ps["google"] = sso.NewOIDC(issuer, c.GoogleClientID, c.GoogleClientSecret, now)
	}
	if c.GitHubClientID != "" {
		gh := &sso.GitHub{ClientID: c.GitHubClientID, ClientSecret: c.GitHubClientSecret, URL: c.GitHubURL, APIURL: c.GitHubAPIURL}
		if gh.URL == "" {
			gh.URL = "https://github.com"
		}
		if gh.APIURL == "" {
			gh.APIURL = "https://api.github.com"
		}
		ps["github"] = gh
	}
	return ps
}

// Handler is the HTTP handler of an opened Main.
func (m *Main) Handler() http.Handler { return m.API.Handler() }

// Start listens on the configured address and starts the mail worker.
func (m *Main) Start() error {
	ln := m.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
			return fmt.Errorf("GATEHOUSE_ADDR: %w", err)
		}
		m.listener = ln
	}
	m.server = &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	if m.Config.MetricsAddr != "" {
		mln, err := net.Listen("tcp", m.Config.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("GATEHOUSE_METRICS_ADDR: %w", err)
		}
		m.metricsListener = mln
		m.metricsServer = &http.Server{Handler: m.metricsMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := m.metricsServer.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Log.Error("serve metrics", "err", err)
			}
		}()
		m.Log.Info("metrics listening", "addr", mln.Addr().String())
	}
	// Without SMTP and without the development mailbox, mail stays queued
	// in the outbox (gatehouse_outbox_queued in /metrics).
	if m.Config.SMTPURL != "" || m.API.DevMailbox {
		m.Worker.Start()
	}
	m.Webhooks.Start()
	m.Janitor.Start()
	m.startReminders()
	m.startBackground()
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("serve", "err", err)
		}
	}()
	m.Log.Info("gatehouse listening", "url", m.URL(), "base_url", m.Config.BaseURL, "database", m.Store.Dialect().Name(),
		"version", gatehouse.Version, "dev_mailbox", m.DevMailboxURL())
	return nil
}

// DevMailboxURL is where the development mailbox reads mail ("" when off).
func (m *Main) DevMailboxURL() string {
	if m.API == nil || !m.API.DevMailbox {
		return ""
	}
	return m.URL() + "/dev/mail"
}

// deriveBaseURL fills an unset base URL from the address listened on,
// http://localhost:<port>, so that links in emails reach this server. With
// port 0 it listens now to learn the port (Start then serves on it).
func (m *Main) deriveBaseURL() error {
	if m.Config.BaseURL != "" {
		return nil
	}
	_, port, err := net.SplitHostPort(m.Config.Addr)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_ADDR: %w", err)
	}
	if port == "0" || port == "" {
		ln, err := net.Listen("tcp", m.Config.Addr)
		if err != nil {
			return fmt.Errorf("GATEHOUSE_ADDR: %w", err)
		}
		m.listener = ln
		port = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	}
	m.Config.BaseURL = "http://" + net.JoinHostPort("localhost", port)
	return nil
}

// URL is where the started server answers.
func (m *Main) URL() string {
	if m.listener == nil {
		return m.Config.BaseURL
	}
	addr := m.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Close shuts down gracefully: in-flight requests get until ctx ends, then
// the mail worker stops and the database closes.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Shutdown(ctx))
	} else if m.listener != nil {
		m.listener.Close()
	}
	if m.metricsServer != nil {
		errs = append(errs, m.metricsServer.Shutdown(ctx))
	}
	if m.Worker != nil {
		m.Worker.Stop()
	}
	if m.Webhooks != nil {
		m.Webhooks.Stop()
	}
	if m.Janitor != nil {
		m.Janitor.Stop()
	}
	m.reminders.Stop()
	if m.stopBackground != nil {
		m.stopBackground()
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// outboxCollector reports queue depth and failed messages at scrape time.
type outboxCollector struct {
	store          *store.Store
	queued, failed *prometheus.Desc
}

func newOutboxCollector(s *store.Store) *outboxCollector {
	return &outboxCollector{store: s,
		queued: prometheus.NewDesc("gatehouse_outbox_queued", "Messages waiting in the outbox.", nil, nil),
		failed: prometheus.NewDesc("gatehouse_outbox_failed", "Messages that failed for good.", nil, nil)}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.queued; ch <- c.failed }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q, f, err := c.store.R().MailQueueStats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(q))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(f))
}
