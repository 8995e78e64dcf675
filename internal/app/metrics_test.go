package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsListener: with GATEHOUSE_METRICS_ADDR, /metrics is served on
// that listener and never on the main one, even to a loopback peer.
func TestMetricsListener(t *testing.T) {
	m := &Main{Config: Config{Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", DataDir: t.TempDir(),
		BaseURL: "http://localhost", MailFrom: "g@example.com", LogLevel: slog.LevelError},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(m.MetricsURL()); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics listener: %d", code)
	}
	if code, body := get(m.URL() + "/metrics"); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Fatalf("main listener: %d", code)
	}
}
