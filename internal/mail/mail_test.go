package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse"
	gmail "github.com/gatehouse/gatehouse/internal/mail"
)

type mailData struct {
	Name         string
	Code         string
	ValidMinutes int
}

func TestCompose(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			subject string
			phrase  string
		}{
			{"verify_email", "Your Gatehouse verification code", "Your verification code is"},
			{"reset_password", "Your Gatehouse password reset code", "Your password reset code is"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				m, err := gmail.Compose(tt.name, "ada@example.com", mailData{Name: "Ada <b>&</b>", Code: "482915", ValidMinutes: 15})
				if err != nil {
					t.Fatal(err)
				}
				if m.To != "ada@example.com" || m.Subject != tt.subject {
					t.Fatalf("To %q Subject %q, want ada@example.com and %q", m.To, m.Subject, tt.subject)
				}
				if strings.Contains(m.Text, "Subject:") || strings.HasPrefix(m.Text, "\n") {
					t.Fatalf("the subject line or blank lines lead the text: %q", m.Text)
				}
				if !strings.HasPrefix(m.Text, "Hello Ada <b>&</b>,") {
					t.Fatalf("text = %q, want it to greet the raw name", m.Text)
				}
				for _, want := range []string{tt.phrase + " 482915", "valid for 15 minutes"} {
					if !strings.Contains(m.Text, want) {
						t.Fatalf("text lacks %q:\n%s", want, m.Text)
					}
				}
				for _, want := range []string{"<strong>482915</strong>", "Hello Ada &lt;b&gt;&amp;&lt;/b&gt;,", "15 minutes"} {
					if !strings.Contains(m.HTML, want) {
						t.Fatalf("html lacks %q:\n%s", want, m.HTML)
					}
				}
				if strings.Contains(m.HTML, "<b>&</b>") {
					t.Fatal("the name is not escaped in the html")
				}
			})
		}
	})

	t.Run("BuffersReused", func(t *testing.T) {
		// Compose renders into reused buffers: nothing of an earlier
		// message, finished or failed half-way, shows in a later one.
		first, err := gmail.Compose("verify_email", "ada@example.com", mailData{Name: "Ada", Code: "111111", ValidMinutes: 15})
		if err != nil {
			t.Fatal(err)
		}
		kept := first
		for range 3 {
			if _, err := gmail.Compose("verify_email", "ada@example.com", "not a struct"); err == nil {
				t.Fatal("Compose with unusable data succeeded")
			}
			m, err := gmail.Compose("reset_password", "bob@example.com", mailData{Name: "Bob", Code: "222222", ValidMinutes: 5})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.Text, "Hello Bob,") || strings.Contains(m.Text+m.HTML, "111111") || strings.Contains(m.Text+m.HTML, "verification") ||
				strings.Count(m.HTML, "<html") > 1 {
				t.Fatalf("a later message holds an earlier one's text:\n%s\n%s", m.Text, m.HTML)
			}
		}
		if first != kept || !strings.Contains(first.Text, "111111") {
			t.Fatalf("an earlier message changed: %+v", first)
		}
	})

	t.Run("ErrUnknownTemplate", func(t *testing.T) {
		if _, err := gmail.Compose("no_such_template", "ada@example.com", mailData{}); err == nil {
			t.Fatal("Compose of an unknown template succeeded")
		}
	})

	t.Run("ErrBadData", func(t *testing.T) {
		// The templates read fields a string does not have.
		if _, err := gmail.Compose("verify_email", "ada@example.com", "not a struct"); err == nil {
			t.Fatal("Compose with unusable data succeeded")
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, raw := range []string{"smtp://mail.example.com", "smtp://user:pass@mail.example.com:2525", "smtps://mail.example.com:465"} {
			if _, err := gmail.ParseSMTPURL(raw); err != nil {
				t.Errorf("ParseSMTPURL(%q) = %v", raw, err)
			}
			if _, err := gmail.NewSMTPSender(raw, "Gatehouse <g@example.com>"); err != nil {
				t.Errorf("NewSMTPSender(%q) = %v", raw, err)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, raw := range []string{"http://mail.example.com", "mail.example.com:25", "smtp://", "smtp://mail.example.com:port", "::"} {
			if _, err := gmail.ParseSMTPURL(raw); err == nil {
				t.Errorf("ParseSMTPURL(%q) succeeded", raw)
			}
			if _, err := gmail.NewSMTPSender(raw, "g@example.com"); err == nil {
				t.Errorf("NewSMTPSender(%q) succeeded", raw)
			}
		}
	})
}

func TestLocalSender(t *testing.T) {
	var s gmail.LocalSender
	if s.Remote() {
		t.Fatal("LocalSender is remote: its bodies would be erased")
	}
	if err := s.Send(t.Context(), &gatehouse.OutboxMessage{To: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
}

// smtpServer is an in-process SMTP sink (github.com/emersion/go-smtp) on
// 127.0.0.1 that records what it accepts. Refuse, when set, is asked at RCPT
// TO ("rcpt") and at the end of DATA ("data"): a non-empty reply such as
// "550 5.1.1 no such user" refuses with that code and text.
type smtpServer struct {
	Addr   string
	Refuse func(stage string) string

	srv   *smtp.Server
	mu    sync.Mutex
	msgs  []*receivedMail
	tries int // transactions that reached RCPT TO
}

// receivedMail is one accepted message.
type receivedMail struct {
	From string
	To   []string
	Data []byte
}

func startSMTP(t *testing.T, refuse func(stage string) string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{Addr: ln.Addr().String(), Refuse: refuse}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// URL is the server's address as GATEHOUSE_SMTP_URL.
func (s *smtpServer) URL() string { return "smtp://" + s.Addr }

// Messages returns what the server accepted so far.
func (s *smtpServer) Messages() []*receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*receivedMail(nil), s.msgs...)
}

// Tries counts delivery attempts that reached RCPT TO, accepted or not.
func (s *smtpServer) Tries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

// refusal turns a reply like "550 5.1.1 no such user" into an SMTP error.
func (s *smtpServer) refusal(stage string) error {
	if s.Refuse == nil {
		return nil
	}
	r := s.Refuse(stage)
	if r == "" {
		return nil
	}
	e := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.NoEnhancedCode, Message: r}
	if code, rest, ok := strings.Cut(r, " "); ok {
		if n, err := strconv.Atoi(code); err == nil {
			e.Code, e.Message = n, rest
			if enh, msg, ok := strings.Cut(rest, " "); ok {
				var c smtp.EnhancedCode
				if _, err := fmt.Sscanf(enh, "%d.%d.%d", &c[0], &c[1], &c[2]); err == nil {
					e.EnhancedCode, e.Message = c, msg
				}
			}
		}
	}
	return e
}

// NewSession makes smtpServer a go-smtp Backend.
func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }

type smtpSession struct {
	srv  *smtpServer
	from string
	to   []string
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	ss.srv.tries++
	ss.srv.mu.Unlock()
	if err := ss.srv.refusal("rcpt"); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.srv.refusal("data"); err != nil {
		return err
	}
	ss.srv.mu.Lock()
	ss.srv.msgs = append(ss.srv.msgs, &receivedMail{From: ss.from, To: ss.to, Data: data})
	ss.srv.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// parsedMail is a received message taken apart.
type parsedMail struct {
	From, To, Subject string
	Text, HTML        string
}

// parseMail reads an RFC 5322 message with a text/plain body or a
// multipart/alternative of text and HTML, decoding transfer encodings.
func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	dec := new(mime.WordDecoder)
	header := func(k string) string {
		v, err := dec.DecodeHeader(msg.Header.Get(k))
		if err != nil {
			t.Fatalf("decode %s: %v", k, err)
		}
		return v
	}
	p := parsedMail{From: header("From"), To: header("To"), Subject: header("Subject")}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		p.Text = decodeBody(t, textproto.MIMEHeader(msg.Header), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		body := decodeBody(t, part.Header, part)
		switch pt {
		case "text/plain":
			p.Text = body
		case "text/html":
			p.HTML = body
		}
	}
	return p
}

func decodeBody(t *testing.T, h textproto.MIMEHeader, r io.Reader) string {
	t.Helper()
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// TestSMTPServer checks the test server itself with a raw exchange, so that
// the worker tests below rest on a known-good peer.
func TestSMTPServer(t *testing.T) {
	srv := startSMTP(t, nil)
	c, err := textproto.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect := func(code int, format string, args ...any) {
		t.Helper()
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
		}
	}
	expect(220, "")
	expect(250, "EHLO client")
	expect(250, "MAIL FROM:<g@example.com>")
	expect(250, "RCPT TO:<ada@example.com>")
	expect(354, "DATA")
	w := c.DotWriter()
	fmt.Fprint(w, "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n")
	w.Close()
	expect(250, "")
	expect(221, "QUIT")
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].From != "g@example.com" || len(msgs[0].To) != 1 || msgs[0].To[0] != "ada@example.com" {
		t.Fatalf("server recorded %+v", msgs)
	}
	if p := parseMail(t, msgs[0].Data); p.Subject != "hi" || p.Text != ".leading dot\nbody\n" {
		t.Fatalf("parsed %+v", p)
	}
}

// TestMessageIDStable: every attempt at one outbox message carries the same
// Message-ID (its id at the sender's domain), so that a copy sent again
// after a cut-off recording is dropped by mail systems; another message
// carries another.
func TestMessageIDStable(t *testing.T) {
	srv := startSMTP(t, nil)
	s, err := gmail.NewSMTPSender(srv.URL(), "Gatehouse <g@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	one := &gatehouse.OutboxMessage{ID: "0193a7c2-0000-7000-8000-000000000001", To: "ada@example.com", Subject: "hi", Text: "body"}
	other := &gatehouse.OutboxMessage{ID: "0193a7c2-0000-7000-8000-000000000002", To: "ada@example.com", Subject: "hi", Text: "body"}
	for _, m := range []*gatehouse.OutboxMessage{one, one, other} {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	ids := make([]string, 3)
	for i, m := range msgs {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = msg.Header.Get("Message-Id")
	}
	if want := "<" + one.ID + "@example.com>"; ids[0] != want || ids[1] != want {
		t.Fatalf("Message-IDs of two attempts: %q, %q; want %q", ids[0], ids[1], want)
	}
	if ids[2] == ids[0] {
		t.Fatalf("two messages share Message-ID %q", ids[2])
	}
}
