package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestMarkMailsSent: one statement records several deliveries, each with
// its own time, erasing the bodies when asked, and leaves other mail alone;
// batches of three and four deliveries run the same statement text (padded
// to a power of two, so the statement cache keeps a few texts, not one per
// size).
func TestMarkMailsSent(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
			ids := make([]string, 8)
			var texts []string
			st.Observe(func(q string, _ []any) {
				if strings.HasPrefix(q, "UPDATE outbox") {
					texts = append(texts, q)
				}
			})
			defer st.Observe(nil)
			if err := st.Tx(ctx, func(tx *store.Conn) error {
				for i := range ids {
					var err error
					if ids[i], err = tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "m@example.com", Subject: "S", Text: "body"}, t0); err != nil {
						return err
					}
				}
				if err := tx.MarkMailsSent(ctx, []store.MailSent{{ID: ids[0], At: t0.Add(time.Second)}, {ID: ids[2], At: t0.Add(3 * time.Second)},
					{ID: ids[4], At: t0.Add(5 * time.Second)}}, true); err != nil {
					return err
				}
				return tx.MarkMailsSent(ctx, []store.MailSent{{ID: ids[5], At: t0.Add(6 * time.Second)}, {ID: ids[6], At: t0.Add(7 * time.Second)},
					{ID: ids[7], At: t0.Add(8 * time.Second)}, {ID: ids[7], At: t0.Add(8 * time.Second)}}, true)
			}); err != nil {
				t.Fatal(err)
			}
			if len(texts) != 2 || texts[0] != texts[1] {
				t.Errorf("batches of 3 and 4 ran %d statements, or two texts: %q", len(texts), texts)
			}
			for i, want := range []time.Time{t0.Add(time.Second), {}, t0.Add(3 * time.Second), {}, t0.Add(5 * time.Second),
				t0.Add(6 * time.Second), t0.Add(7 * time.Second), t0.Add(8 * time.Second)} {
				m, err := st.R().MailByID(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				if want.IsZero() {
					if m.Status != gatehouse.MailQueued || m.Text != "body" {
						t.Errorf("message %d: %s %q, want queued with its body", i, m.Status, m.Text)
					}
					continue
				}
				if m.Status != gatehouse.MailSent || !m.SentAt.Equal(want) || m.Text != "" {
					t.Errorf("message %d: %s at %v body %q, want sent at %v, body erased", i, m.Status, m.SentAt, m.Text, want)
				}
			}
		})
	}
}

// TestMailBodySize: the sealed body holds the HTML part as written, not
// escaped for HTML inside its JSON (each < as \u003c made an invitation's
// stored mail a fifth larger), and opens back to it.
func TestMailBodySize(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			html := strings.Repeat("<p>&</p>", 250) // 2,000 bytes, 750 of them < > &
			var id string
			if err := st.Tx(ctx, func(tx *store.Conn) error {
				var err error
				id, err = tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "m@example.com", Subject: "S", Text: "t", HTML: html}, time.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := st.ReaderDB().QueryRowContext(ctx, `SELECT length(body) FROM outbox WHERE id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > len(html)+100 {
				t.Errorf("sealed body of %d bytes for %d bytes of HTML", n, len(html))
			}
			m, err := st.R().MailByID(ctx, id)
			if err != nil || m.HTML != html || m.Text != "t" {
				t.Fatalf("opened %q, %v", m.HTML[:min(len(m.HTML), 40)], err)
			}
		})
	}
}
