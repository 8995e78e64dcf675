package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	gmail "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is a controllable Worker.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// enqueue composes a template mail and writes it to the outbox.
func enqueue(t *testing.T, s *store.Store, template, to, code string, now time.Time) (string, gatehouse.MailMessage) {
	t.Helper()
	m, err := gmail.Compose(template, to, mailData{Name: "Ada", Code: code, ValidMinutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	m.Kind, m.RefID = "user", "ref-"+to
	var id string
	err = s.Tx(context.Background(), func(tx *store.Conn) (err error) {
		id, err = tx.EnqueueMail(context.Background(), m, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, m
}

func mailByID(t *testing.T, s *store.Store, id string) *gatehouse.OutboxMessage {
	t.Helper()
	m, err := s.R().MailByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runOnce(t *testing.T, w *gmail.Worker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return n
}

func newSMTPSender(t *testing.T, srv *smtpServer) *gmail.SMTPSender {
	t.Helper()
	s, err := gmail.NewSMTPSender(srv.URL(), "Gatehouse <g@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWorkerSMTP delivers the outbox over a real SMTP exchange.
func TestWorkerSMTP(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				srv := startSMTP(t, nil)
				s := e.Open(t)
				clk := newClock()
				id, composed := enqueue(t, s, "verify_email", "ada@example.com", "739184", clk.Now())
				w := &gmail.Worker{Store: s, Sender: newSMTPSender(t, srv), Log: quiet, Now: clk.Now}

				if n := runOnce(t, w); n != 1 {
					t.Fatalf("RunOnce sent %d, want 1", n)
				}
				msgs := srv.Messages()
				if len(msgs) != 1 {
					t.Fatalf("server received %d messages, want 1", len(msgs))
				}
				got := msgs[0]
				if got.From != "g@example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
					t.Fatalf("envelope from %q to %q", got.From, got.To)
				}
				p := parseMail(t, got.Data)
				if !strings.Contains(p.From, "g@example.com") || !strings.Contains(p.To, "ada@example.com") {
					t.Fatalf("headers From %q To %q", p.From, p.To)
				}
				if p.Subject != "Your Gatehouse verification code" {
					t.Fatalf("Subject = %q", p.Subject)
				}
				if !strings.Contains(p.Text, "Your verification code is 739184") {
					t.Fatalf("text body lacks the code:\n%s", p.Text)
				}
				if !strings.Contains(p.HTML, "<strong>739184</strong>") {
					t.Fatalf("html body lacks the code:\n%s", p.HTML)
				}

				m := mailByID(t, s, id)
				if m.Status != gatehouse.MailSent || !m.SentAt.Equal(clk.Now()) || m.Attempts != 1 || m.LastError != "" {
					t.Fatalf("outbox row after delivery: %+v", m)
				}
				if m.Text != "" || m.HTML != "" {
					t.Fatalf("body kept after SMTP delivery: %q / %q", m.Text, m.HTML)
				}
				if m.To != composed.To || m.Subject != composed.Subject {
					t.Fatalf("envelope lost: %+v", m)
				}

				// Nothing is sent twice.
				clk.Set(clk.Now().Add(24 * time.Hour))
				if n := runOnce(t, w); n != 0 || len(srv.Messages()) != 1 {
					t.Fatalf("second round sent %d (server has %d), want nothing more", n, len(srv.Messages()))
				}
			})

			for _, tt := range []struct {
				name, stage, reply, wantInError string
			}{
				{"ErrRcptRefused", "rcpt", "550 5.1.1 mailbox unavailable", "mailbox unavailable"},
				{"ErrDataRefused", "data", "554 5.7.1 message rejected", "message rejected"},
				{"ErrTemporary", "rcpt", "451 4.3.0 try again later", "try again later"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					srv := startSMTP(t, func(stage string) string {
						if stage == tt.stage {
							return tt.reply
						}
						return ""
					})
					s := e.Open(t)
					clk := newClock()
					id, composed := enqueue(t, s, "reset_password", "ada@example.com", "551022", clk.Now())
					type result struct{ sent, final bool }
					var results []result
					const maxAttempts = 3
					base := 10 * time.Second
					w := &gmail.Worker{Store: s, Sender: newSMTPSender(t, srv), Log: quiet, Now: clk.Now,
						MaxAttempts: maxAttempts, BaseBackoff: base, MaxBackoff: time.Hour,
						OnResult: func(sent, final bool) { results = append(results, result{sent, final}) }}

					for attempt := 1; attempt <= maxAttempts; attempt++ {
						now := clk.Now()
						if n := runOnce(t, w); n != 0 {
							t.Fatalf("attempt %d: RunOnce sent %d to a refusing server", attempt, n)
						}
						if got := srv.Tries(); got != attempt {
							t.Fatalf("server saw %d attempts, want %d", got, attempt)
						}
						m := mailByID(t, s, id)
						if m.Attempts != attempt || !strings.Contains(m.LastError, tt.wantInError) {
							t.Fatalf("attempt %d: attempts %d, last_error %q (want it to quote %q)", attempt, m.Attempts, m.LastError, tt.wantInError)
						}
						if m.Text != composed.Text || m.HTML != composed.HTML {
							t.Fatalf("attempt %d: body not kept after a failure", attempt)
						}
						if attempt == maxAttempts {
							if m.Status != gatehouse.MailFailed {
								t.Fatalf("after %d attempts status = %q, want failed", attempt, m.Status)
							}
							break
						}
						if m.Status != gatehouse.MailQueued {
							t.Fatalf("attempt %d: status = %q, want queued for a retry", attempt, m.Status)
						}
						// Exponential backoff with ±20% jitter: base·2^(attempt-1).
						nominal := base << (attempt - 1)
						delay := m.NextAttemptAt.Sub(now)
						if delay < nominal*8/10 || delay > nominal*12/10 {
							t.Fatalf("attempt %d: retry after %v, want %v ±20%%", attempt, delay, nominal)
						}
						// Not due yet: no new attempt.
						clk.Set(m.NextAttemptAt.Add(-time.Microsecond))
						runOnce(t, w)
						if got := srv.Tries(); got != attempt {
							t.Fatalf("retried before next_attempt_at (%d attempts)", got)
						}
						clk.Set(m.NextAttemptAt)
					}

					// Failed for good: never tried again.
					clk.Set(clk.Now().Add(30 * 24 * time.Hour))
					runOnce(t, w)
					if got := srv.Tries(); got != maxAttempts {
						t.Fatalf("server saw %d attempts, want %d", got, maxAttempts)
					}
					if len(srv.Messages()) != 0 {
						t.Fatal("a refusing server recorded a message")
					}
					want := []result{{false, false}, {false, false}, {false, true}}
					if fmt.Sprint(results) != fmt.Sprint(want) {
						t.Fatalf("OnResult saw %v, want %v", results, want)
					}
					if q, f, err := s.R().MailQueueStats(context.Background()); err != nil || q != 0 || f != 1 {
						t.Fatalf("MailQueueStats = %d, %d, %v; want 0 queued, 1 failed", q, f, err)
					}
				})
			}
		})
	}
}

func TestWorkerLocalSender(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				s := e.Open(t)
				clk := newClock()
				id, composed := enqueue(t, s, "verify_email", "ada@example.com", "120934", clk.Now())
				w := &gmail.Worker{Store: s, Sender: gmail.LocalSender{}, Log: quiet, Now: clk.Now}
				if n := runOnce(t, w); n != 1 {
					t.Fatalf("RunOnce sent %d, want 1", n)
				}
				m := mailByID(t, s, id)
				if m.Status != gatehouse.MailSent || m.Text != composed.Text || m.HTML != composed.HTML {
					t.Fatalf("after local delivery: %+v; want sent with the body kept", m)
				}
				// The development mailbox lists it, body and all.
				ms, err := s.R().ListMail(context.Background(), 10)
				if err != nil || len(ms) != 1 || !strings.Contains(ms[0].Text, "120934") {
					t.Fatalf("ListMail = %v, %v", ms, err)
				}
			})
		})
	}
}

// cancellingSender cancels the worker's context during the send, as Stop
// does when it arrives while a message is going out.
type cancellingSender struct {
	cancel context.CancelFunc
	sent   int
}

func (s *cancellingSender) Send(context.Context, *gatehouse.OutboxMessage) error {
	s.cancel()
	s.sent++
	return nil
}
func (s *cancellingSender) Remote() bool { return true }

// TestWorkerStopDuringSend: a message whose send finished while the worker
// was being stopped is recorded as sent, not left leased to go out again.
func TestWorkerStopDuringSend(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				s := e.Open(t)
				clk := newClock()
				id, _ := enqueue(t, s, "verify_email", "ada@example.com", "120934", clk.Now())
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sender := &cancellingSender{cancel: cancel}
				w := &gmail.Worker{Store: s, Sender: sender, Log: quiet, Now: clk.Now}
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatalf("RunOnce: %v", err)
				}
				if m := mailByID(t, s, id); m.Status != gatehouse.MailSent || m.Text != "" {
					t.Fatalf("after a send interrupted by Stop: status %q, body %q; want sent and erased", m.Status, m.Text)
				}
				// After the lease a new worker finds nothing to resend.
				clk.Set(clk.Now().Add(time.Hour))
				w2 := &gmail.Worker{Store: s, Sender: sender, Log: quiet, Now: clk.Now}
				runOnce(t, w2)
				if sender.sent != 1 {
					t.Fatalf("sent %d times, want once", sender.sent)
				}
			})
		})
	}
}

// countingSender records every delivery it makes.
type countingSender struct {
	mu    sync.Mutex
	count map[string]int
}

func (s *countingSender) Send(_ context.Context, m *gatehouse.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == nil {
		s.count = map[string]int{}
	}
	s.count[m.ID]++
	return nil
}
func (s *countingSender) Remote() bool { return true }

// TestWorkerTwoWorkers runs two workers, each with a store of its own on one
// database (two processes), until the outbox is empty: every message goes
// out exactly once.
func TestWorkerTwoWorkers(t *testing.T) {
	const messages = 200
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				dsn := e.NewDSN(t)
				stores := []*store.Store{e.OpenAt(t, dsn), e.OpenAt(t, dsn)}
				ctx := context.Background()
				ids := make([]string, 0, messages)
				err := stores[0].Tx(ctx, func(tx *store.Conn) error {
					for i := range messages {
						id, err := tx.EnqueueMail(ctx, gatehouse.MailMessage{
							To: fmt.Sprintf("user%d@example.com", i), Subject: "s", Text: fmt.Sprintf("body %d", i),
						}, store.Now())
						if err != nil {
							return err
						}
						ids = append(ids, id)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}

				senders := []*countingSender{{}, {}}
				var wg sync.WaitGroup
				errs := make(chan error, len(stores))
				for i, s := range stores {
					w := &gmail.Worker{Store: s, Sender: senders[i], Log: quiet, Batch: 7}
					wg.Go(func() {
						for {
							if _, err := w.RunOnce(ctx); err != nil {
								errs <- fmt.Errorf("worker %d: %w", i, err)
								return
							}
							queued, _, err := s.R().MailQueueStats(ctx)
							if err != nil {
								errs <- fmt.Errorf("worker %d: %w", i, err)
								return
							}
							if queued == 0 {
								return
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}

				total := map[string]int{}
				for i, sd := range senders {
					t.Logf("worker %d delivered %d messages", i, len(sd.count))
					for id, n := range sd.count {
						total[id] += n
					}
				}
				for _, id := range ids {
					if total[id] != 1 {
						t.Errorf("message %s delivered %d times, want exactly once", id, total[id])
					}
				}
				if len(total) != messages {
					t.Errorf("%d distinct messages delivered, want %d", len(total), messages)
				}
				for _, s := range stores {
					if q, f, err := s.R().MailQueueStats(ctx); err != nil || q != 0 || f != 0 {
						t.Fatalf("MailQueueStats = %d, %d, %v; want 0, 0", q, f, err)
					}
				}
			})
		})
	}
}

// TestSealedBodies: a code placed in a mail never reaches the SQLite files
// in clear, neither in the database nor in its write-ahead log.
func TestSealedBodies(t *testing.T) {
	e := storetest.SQLite()
	dir := e.NewDSN(t)
	s := e.OpenAt(t, dir)
	const code = "9081726354" // distinctive, so a chance match is out of the question
	const to = "sealed-check@example.com"
	clk := newClock()
	id, _ := enqueue(t, s, "verify_email", to, code, clk.Now())
	if m := mailByID(t, s, id); !strings.Contains(m.Text, code) {
		t.Fatalf("the store does not give the code back: %q", m.Text)
	}

	scan := func(t *testing.T, when string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		var names []string
		for _, ent := range entries {
			if ent.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, ent.Name()))
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, ent.Name())
			if bytes.Contains(b, []byte(code)) {
				t.Fatalf("%s: the code is in clear in %s", when, ent.Name())
			}
			all = append(all, b...)
		}
		// The control: what is not sealed (the address) is found, so the
		// files read are the ones holding the outbox.
		if !bytes.Contains(all, []byte(to)) {
			t.Fatalf("%s: the recipient is in none of %v; wrong files read?", when, names)
		}
		t.Logf("%s: scanned %v", when, names)
	}

	t.Run("Queued", func(t *testing.T) { scan(t, "queued") })
	t.Run("DeliveredLocally", func(t *testing.T) {
		w := &gmail.Worker{Store: s, Sender: gmail.LocalSender{}, Log: quiet, Now: clk.Now}
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("RunOnce sent %d, want 1", n)
		}
		scan(t, "delivered locally, body kept")
	})
	t.Run("Closed", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		scan(t, "after close (checkpointed)")
	})
}
