package apptest

// An in-process SMTP server (github.com/emersion/go-smtp) that keeps what it
// receives, for tests of what really leaves through GATEHOUSE_SMTP_URL.

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// SMTPSink accepts every message on 127.0.0.1.
type SMTPSink struct {
	Addr string
	mu   sync.Mutex
	msgs []SMTPMessage
}

// SMTPMessage is one message received: its envelope and raw data.
type SMTPMessage struct {
	From string
	To   []string
	Data string
}

// Subject is the message's Subject header (unfolded, not decoded).
func (m SMTPMessage) Subject() string {
	head, _, _ := strings.Cut(m.Data, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// Text is the raw data with quoted-printable soft line breaks removed, so
// that a long link reads in one piece.
func (m SMTPMessage) Text() string { return strings.ReplaceAll(m.Data, "=\r\n", "") }

// StartSMTP starts a sink, closed when tb ends.
func StartSMTP(tb testing.TB) *SMTPSink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &SMTPSink{Addr: ln.Addr().String()}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// URL is the sink as GATEHOUSE_SMTP_URL.
func (s *SMTPSink) URL() string { return "smtp://" + s.Addr }

// To returns the messages received for addr, oldest first.
func (s *SMTPSink) To(addr string) []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SMTPMessage
	for _, m := range s.msgs {
		for _, t := range m.To {
			if strings.EqualFold(t, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// NewSession makes SMTPSink a go-smtp backend.
func (s *SMTPSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink *SMTPSink
	from string
	to   []string
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, SMTPMessage{From: ss.from, To: ss.to, Data: string(data)})
	ss.sink.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
