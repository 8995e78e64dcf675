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
