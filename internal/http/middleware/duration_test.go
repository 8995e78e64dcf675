package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The access line's duration_ms is written exactly as slog wrote the
// float64 before: the bytes json.Marshal gives for it.
func TestDurationMSAsFloat(t *testing.T) {
	us := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 1010, 1100, 12345, 100000, 123456789, 999999999999, 1e12, 5e12, -1, -1500}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		us = append(us, rng.Int64N(1e12), rng.Int64N(1e6))
	}
	for _, u := range us {
		d := time.Duration(u) * time.Microsecond
		var got, want bytes.Buffer
		slog.New(slog.NewJSONHandler(&got, nil)).Info("x", slog.Attr{Key: "duration_ms", Value: durationMS(d)})
		slog.New(slog.NewJSONHandler(&want, nil)).Info("x", slog.Float64("duration_ms", float64(d.Microseconds())/1000))
		g, w := got.String(), want.String()
		g, w = g[strings.Index(g, `"duration_ms"`):], w[strings.Index(w, `"duration_ms"`):]
		if g != w {
			t.Fatalf("%d µs: %s, want %s", u, g, w)
		}
		if u >= 0 && u < 1e12 {
			if _, ok := durationMS(d).Any().(json.Number); !ok {
				t.Fatalf("%d µs: not written as a json.Number", u)
			}
		}
	}
}
