package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
)

type mailBody struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// bodyBuffers hold a message's JSON body until it is sealed (one per queued
// mail; json.Marshal's result was a fresh copy each time). The encoder's
// trailing newline is inside the sealed JSON, which decodes the same.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// EnqueueMail writes a message to the outbox, its body sealed by the store's
// Box. Inside a transaction the message commits with the change that caused it.
func (c *Conn) EnqueueMail(ctx context.Context, m gatehouse.MailMessage, now time.Time) (string, error) {
	msg, err := c.enqueueMail(ctx, m, now, time.Time{})
	if err != nil {
		return "", err
	}
	return msg.ID, nil
}

// EnqueueLeasedMail is EnqueueMail for a message this process's own worker
// delivers right after the commit (mail.Worker.HandOff): it is written
// already claimed, leased until leaseUntil with its first attempt counted,
// as ClaimMail would leave it, so that no claim rewrites the row and reads
// the body back. Should the process stop before delivering it, the lease
// runs out and any worker claims it as usual; nothing is lost. It returns
// the message as a claim would.
func (c *Conn) EnqueueLeasedMail(ctx context.Context, m gatehouse.MailMessage, now, leaseUntil time.Time) (*gatehouse.OutboxMessage, error) {
	return c.enqueueMail(ctx, m, now, leaseUntil)
}

func (c *Conn) enqueueMail(ctx context.Context, m gatehouse.MailMessage, now, leaseUntil time.Time) (*gatehouse.OutboxMessage, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	buf.Reset()
	// Not escaped for HTML: the body is JSON inside a sealed column, never
	// inside a page, and every < and > of the HTML part as \u003c and
	// \u003e made an invitation's sealed body a fifth larger (1,352 against
	// 1,126 bytes; issue 17).
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mailBody{Text: m.Text, HTML: m.HTML}); err != nil {
		return nil, gatehouse.Internal(err)
	}
	sealed, err := c.s.box.Seal(buf.Bytes()) // a copy: the buffer goes back to the pool
	if err != nil {
		return nil, gatehouse.Internal(fmt.Errorf("seal mail: %w", err))
	}
	msg := &gatehouse.OutboxMessage{ID: uuid.Must(uuid.NewV7()).String(), To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		Kind: m.Kind, RefID: m.RefID, Status: gatehouse.MailQueued, NextAttemptAt: fromTS(ts(now)), CreatedAt: fromTS(ts(now))}
	var locked int64
	if !leaseUntil.IsZero() {
		msg.Attempts, locked = 1, ts(leaseUntil)
	}
	_, err = c.exec(ctx, `INSERT INTO outbox (id, to_addr, subject, body, kind, ref_id, status, attempts, next_attempt_at, locked_until, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $8)`,
		msg.ID, m.To, m.Subject, sealed, m.Kind, m.RefID, msg.Attempts, ts(now), locked)
	if err != nil {
		return nil, err
	}
	return msg, nil
}

const outboxColumns = `id, to_addr, subject, body, kind, ref_id, status, attempts, last_error, next_attempt_at, created_at, sent_at`

func (c *Conn) scanOutbox(rows *sql.Rows) ([]*gatehouse.OutboxMessage, error) {
	defer rows.Close()
	var out []*gatehouse.OutboxMessage
	for rows.Next() {
		var m gatehouse.OutboxMessage
		var body sql.RawBytes // opened into new memory before the next row: no copy of the sealed body
		var next, created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.To, &m.Subject, &body, &m.Kind, &m.RefID, &m.Status, &m.Attempts, &m.LastError, &next, &created, &sent); err != nil {
			return nil, c.wrap(err, "scan outbox")
		}
		m.NextAttemptAt, m.CreatedAt, m.SentAt = fromTS(next), fromTS(created), fromNullTS(sent)
		if len(body) > 0 {
			plain, err := c.s.box.Open(body)
			if err != nil {
				return nil, gatehouse.Internal(fmt.Errorf("open mail %s: %w", m.ID, err))
			}
			var b mailBody
			if err := json.Unmarshal(plain, &b); err != nil {
				return nil, gatehouse.Internal(err)
			}
			m.Text, m.HTML = b.Text, b.HTML
		}
		out = append(out, &m)
	}
	return out, c.wrap(rows.Err(), "outbox rows")
}

// ClaimMail leases up to limit due messages to one worker until now+lease.
// A message leased by another worker is skipped, so each goes out once.
func (c *Conn) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*gatehouse.OutboxMessage, error) {
	rows, err := c.q.QueryContext(ctx, `UPDATE outbox SET locked_until = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE status = 'queued' AND next_attempt_at <= $2 AND locked_until <= $2
			ORDER BY next_attempt_at LIMIT $3 `+c.s.dialect.SkipLocked()+`)
		RETURNING `+outboxColumns, ts(now.Add(lease)), ts(now), limit)
	if err != nil {
		return nil, c.wrap(err, "claim mail")
	}
	return c.scanOutbox(rows)
}

// MarkMailSent records delivery. eraseBody drops the sealed body, as after a
// real SMTP delivery; the development mailbox keeps it.
func (c *Conn) MarkMailSent(ctx context.Context, id string, now time.Time, eraseBody bool) error {
	return c.MarkMailsSent(ctx, []MailSent{{ID: id, At: now}}, eraseBody)
}

// MailSent is one delivery to record: the message and when it went out.
type MailSent struct {
	ID string
	At time.Time
}

// MarkMailsSent records deliveries as MarkMailSent does, each with its own
// time, in one statement (the mail worker records a batch at once).
func (c *Conn) MarkMailsSent(ctx context.Context, sent []MailSent, eraseBody bool) error {
	if len(sent) == 0 {
		return nil
	}
	sent = padList(sent) // a few statement texts, not one per batch size
	var sb strings.Builder
	args := make([]any, 0, 2*len(sent))
	sb.WriteString(`UPDATE outbox SET status = 'sent', last_error = '', locked_until = 0, sent_at = CASE id`)
	for _, m := range sent {
		args = append(args, m.ID, ts(m.At))
		fmt.Fprintf(&sb, ` WHEN $%d THEN CAST($%d AS BIGINT)`, len(args)-1, len(args))
	}
	sb.WriteString(` END`)
	if eraseBody {
		sb.WriteString(`, body = NULL`)
	}
	sb.WriteString(` WHERE id IN (`)
	for i := range sent {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "$%d", 2*i+1)
	}
	sb.WriteByte(')')
	_, err := c.exec(ctx, sb.String(), args...)
	return err
}

// MarkMailFailed records a failed attempt: retried at next, or failed for
// good when final. The message and its body are kept either way.
func (c *Conn) MarkMailFailed(ctx context.Context, id, lastErr string, next time.Time, final bool) error {
	status := gatehouse.MailQueued
	if final {
		status = gatehouse.MailFailed
	}
	if len(lastErr) > 500 {
		lastErr = lastErr[:500]
	}
	_, err := c.exec(ctx, `UPDATE outbox SET status = $2, last_error = $3, next_attempt_at = $4, locked_until = 0 WHERE id = $1`,
		id, status, lastErr, ts(next))
	return err
}

// ListMail returns messages newest first, bodies opened (the dev mailbox).
func (c *Conn) ListMail(ctx context.Context, limit int) ([]*gatehouse.OutboxMessage, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, c.wrap(err, "list mail")
	}
	return c.scanOutbox(rows)
}

// MailByID returns one outbox message.
func (c *Conn) MailByID(ctx context.Context, id string) (*gatehouse.OutboxMessage, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id)
	if err != nil {
		return nil, c.wrap(err, "mail by id")
	}
	ms, err := c.scanOutbox(rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Message not found.")
	}
	return ms[0], nil
}

// LatestMailStatus returns the status of the newest message about a resource,
// "" when there is none.
func (c *Conn) LatestMailStatus(ctx context.Context, kind, refID string) (string, error) {
	var status string
	err := c.q.QueryRowContext(ctx, `SELECT status FROM outbox WHERE kind = $1 AND ref_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, kind, refID).Scan(&status)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return status, c.wrap(err, "latest mail status")
}

// MailQueueStats counts queued and failed messages, for metrics.
func (c *Conn) MailQueueStats(ctx context.Context) (queued, failed int64, err error) {
	// Each count reads its partial index (migration 00200), not the outbox.
	err = c.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'queued'),
		(SELECT COUNT(*) FROM outbox WHERE status = 'failed')`).Scan(&queued, &failed)
	return queued, failed, c.wrap(err, "mail stats")
}

// LatestMailStatuses returns, for each of refIDs that has mail, the status
// of its newest message: one query for a whole page.
func (c *Conn) LatestMailStatuses(ctx context.Context, kind string, refIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(refIDs) == 0 {
		return out, nil
	}
	q, args := inList(`SELECT ref_id, status FROM outbox WHERE kind = $1 AND ref_id IN `, []any{kind}, refIDs)
	rows, err := c.q.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, c.wrap(err, "mail statuses")
	}
	defer rows.Close()
	for rows.Next() {
		var ref, status string
		if err := rows.Scan(&ref, &status); err != nil {
			return nil, c.wrap(err, "scan status")
		}
		out[ref] = status // later rows are newer
	}
	return out, c.wrap(rows.Err(), "status rows")
}
