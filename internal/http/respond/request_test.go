package respond_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/http/respond"
)

type otherKey struct{}

// A request's context carries its id and logger in one node: an inner
// WithRequest without a logger keeps the outer one, the parent's values,
// deadline and cancellation show through, and a context derived from it
// still finds them.
func TestWithRequest(t *testing.T) {
	if got := respond.RequestIDFunc(context.Background()); got != "" {
		t.Fatalf("RequestID outside a request = %q", got)
	}
	if respond.LoggerFunc(context.Background()) != slog.Default() {
		t.Fatal("the logger outside a request is not the default one")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), otherKey{}, "v"), time.Now().Add(time.Hour))
	ctx := respond.WithRequest(parent, "outer", log)
	inner := respond.WithRequest(ctx, "inner", nil)
	derived, stop := context.WithCancel(inner)
	defer stop()
	for _, tc := range []struct {
		ctx context.Context
		id  string
	}{{ctx, "outer"}, {inner, "inner"}, {derived, "inner"}} {
		if got := respond.RequestIDFunc(tc.ctx); got != tc.id {
			t.Errorf("RequestID = %q, want %q", got, tc.id)
		}
		if respond.LoggerFunc(tc.ctx) != log {
			t.Errorf("%s: not the request's logger", tc.id)
		}
		if tc.ctx.Value(otherKey{}) != "v" {
			t.Errorf("%s: the parent's value is lost", tc.id)
		}
		if d, ok := tc.ctx.Deadline(); !ok || d.IsZero() {
			t.Errorf("%s: the parent's deadline is lost", tc.id)
		}
	}
	if respond.LoggerFunc(respond.WithRequest(context.Background(), "x", nil)) != slog.Default() {
		t.Error("a request without a logger does not log to the default logger")
	}
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the parent does not reach a context derived from the request's")
	}
	if derived.Err() == nil || inner.Err() == nil {
		t.Fatal("no error after the parent's cancellation")
	}
}
