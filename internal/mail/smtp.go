package mail

import (
	"context"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse"
)

// SMTPSender sends over SMTP. smtp:// uses STARTTLS when the server offers
// it; smtps:// speaks TLS from the start. User info in the URL authenticates.
type SMTPSender struct {
	From   string
	client *gomail.Client
}

// ParseSMTPURL checks an SMTP URL without connecting.
func ParseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host")
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	return u, nil
}

// NewSMTPSender builds a sender from an smtp:// or smtps:// URL.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{gomail.WithTimeout(30 * time.Second)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, err
	}
	return &SMTPSender{From: from, client: c}, nil
}

func (s *SMTPSender) Remote() bool { return true }

// Send delivers one message as multipart text and HTML.
func (s *SMTPSender) Send(ctx context.Context, m *gatehouse.OutboxMessage) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("to address: %w", err)
	}
	msg.Subject(m.Subject)
	// One Message-ID per outbox message, the same on every retry: delivery
	// is at least once (a send whose recording was cut off is sent again),
	// and mail systems drop the copy by this id.
	msg.SetMessageIDWithValue(MessageID(m, s.From))
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return s.client.DialAndSendWithContext(ctx, msg)
}

// MessageID is the Message-ID (without angle brackets) of an outbox message:
// its id at the sender's domain, so every attempt carries the same one.
func MessageID(m *gatehouse.OutboxMessage, from string) string {
	domain := "localhost"
	if a, err := netmail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return m.ID + "@" + domain
}
