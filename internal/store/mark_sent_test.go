package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestMarkMailsSent: one statement records several deliveries, each with
// its own time, erasing the bodies when asked, and leaves other mail alone.
func TestMarkMailsSent(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
			ids := make([]string, 3)
			if err := st.Tx(ctx, func(tx *store.Conn) error {
				for i := range ids {
					var err error
					if ids[i], err = tx.EnqueueMail(ctx, gatehouse.MailMessage{To: "m@example.com", Subject: "S", Text: "body"}, t0); err != nil {
						return err
					}
				}
				return tx.MarkMailsSent(ctx, []store.MailSent{{ID: ids[0], At: t0.Add(time.Second)}, {ID: ids[2], At: t0.Add(3 * time.Second)}}, true)
			}); err != nil {
				t.Fatal(err)
			}
			for i, want := range []time.Time{t0.Add(time.Second), {}, t0.Add(3 * time.Second)} {
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
