// Package mail composes Gatehouse's emails from embedded templates and
// delivers the outbox: a worker claims due messages, sends them over SMTP (or
// keeps them for the development mailbox) and retries with backoff.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/gatehouse/gatehouse"
)

//go:embed templates/*
var templateFiles embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.New("").ParseFS(templateFiles, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").ParseFS(templateFiles, "templates/*.html"))
)

// Compose renders the named template pair (name.txt and name.html) with
// data. The first line of the text template is "Subject: ...".
func Compose(name, to string, data any) (gatehouse.MailMessage, error) {
	text, html := getBuffer(), getBuffer()
	defer putBuffer(text)
	defer putBuffer(html)
	if err := textTemplates.ExecuteTemplate(text, name+".txt", data); err != nil {
		return gatehouse.MailMessage{}, fmt.Errorf("mail template %s.txt: %w", name, err)
	}
	if err := htmlTemplates.ExecuteTemplate(html, name+".html", data); err != nil {
		return gatehouse.MailMessage{}, fmt.Errorf("mail template %s.html: %w", name, err)
	}
	subject, body, ok := strings.Cut(text.String(), "\n")
	if !ok || !strings.HasPrefix(subject, "Subject: ") {
		return gatehouse.MailMessage{}, fmt.Errorf("mail template %s.txt: first line must be \"Subject: ...\"", name)
	}
	return gatehouse.MailMessage{
		To:      to,
		Subject: strings.TrimSpace(strings.TrimPrefix(subject, "Subject: ")),
		Text:    strings.TrimLeft(body, "\n"),
		HTML:    html.String(),
	}, nil
}

// buffers hold rendered mail between Compose calls: a message is rendered
// by many small writes, and a fresh buffer grew by doubling to its size
// every time (the largest allocation of an invitation). What Compose
// returns is copied out (Buffer.String), never the buffer itself.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps a rare huge message's buffer out of the pool.
const maxPooledBuffer = 64 << 10

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m *gatehouse.OutboxMessage) error
	// Remote reports whether delivery leaves this machine; the body of a
	// remotely delivered message is erased from the outbox.
	Remote() bool
}

// LocalSender delivers nowhere: the message stays in the outbox, body kept,
// for the development mailbox.
type LocalSender struct{}

func (LocalSender) Send(context.Context, *gatehouse.OutboxMessage) error { return nil }
func (LocalSender) Remote() bool                                         { return false }
