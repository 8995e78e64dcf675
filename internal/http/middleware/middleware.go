// Package middleware holds the small, explicit wrappers every request goes
// through: request ids, access logs, panic recovery and metrics.
package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// Logger returns the logger of the request (the one given to Log), or the
// default logger outside a request. The request's values live in respond
// (respond.WithRequest), which reads them without any wiring.
func Logger(ctx context.Context) *slog.Logger {
	return respond.LoggerFunc(ctx)
}

// RequestID returns the request's id, "" outside a request.
func RequestID(ctx context.Context) string {
	return respond.RequestIDFunc(ctx)
}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return respond.WithRequest(ctx, id, nil)
}

// validRequestID accepts a client's id only when it is short and plain, so
// it cannot inject anything into logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	var id [24]byte
	hex.Encode(id[:], b[:])
	return string(id[:])
}

// unmatched is the route of a request no pattern matched.
const unmatched = "unmatched"

// Recorder remembers the status and size written through it.
type Recorder struct {
	http.ResponseWriter
	Status int
	Bytes  int

	requestID [1]string // the X-Request-Id header's value, allocated with the recorder
}

func (r *Recorder) WriteHeader(status int) {
	if r.Status == 0 {
		r.Status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Observe is called once per request with its route pattern, status and
// duration (metrics hook).
type Observe func(r *http.Request, route string, status int, d time.Duration)

// Log assigns the request id, recovers panics as a problem+json 500, logs one
// JSON access line per request and reports to observe. Routes are logged by
// their pattern: a path may carry a secret (an invitation token), so a path
// with wildcards is never logged, nor an unmatched one (a token under a
// wrong method or a mistyped suffix), nor any query string.
func Log(log *slog.Logger, observe Observe, next http.Handler) http.Handler {
	return LogWith(log, nil, observe, next)
}

// LogWith is Log writing access lines only for the requests policy keeps
// (every request when policy is nil).
func LogWith(log *slog.Logger, policy *AccessLog, observe Observe, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var id string
		if v := r.Header["X-Request-Id"]; len(v) > 0 { // r.Header.Get's look-up, the key written canonical
			id = v[0]
		}
		if !validRequestID(id) {
			id = newRequestID()
		}
		rec := &Recorder{ResponseWriter: w}
		rec.requestID[0] = id
		w.Header()["X-Request-Id"] = rec.requestID[:] // Header().Set without a slice of its own
		r = r.WithContext(respond.WithRequest(r.Context(), id, log))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.Status == 0 {
					respond.Error(rec, r, gatehouse.Internal(fmt.Errorf("panic: %v", p)))
				}
			}
			status := rec.Status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			route := Route(r)
			if observe != nil {
				observe(r, route, status, d)
			}
			if !policy.keep(route, status) {
				return
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int("bytes", rec.Bytes),
				{Key: "duration_ms", Value: durationMS(d)},
				slog.String("remote", r.RemoteAddr),
			}
			if route != unmatched && !strings.Contains(route, "{") {
				attrs = append(attrs, slog.String("path", r.URL.Path))
			}
			// Straight to the handler, as Logger.LogAttrs does but without
			// the caller's program counter, which it unwinds the stack for at
			// every line (issue 17: most of a sampled line's cost) and which
			// only a handler with AddSource writes: the caller here would be
			// this function, for every access line.
			ctx := r.Context()
			if h := log.Handler(); h.Enabled(ctx, slog.LevelInfo) {
				line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				line.AddAttrs(attrs...)
				_ = h.Handle(ctx, line)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// durationMS is d in milliseconds to the microsecond, the JSON number
// json.Marshal writes for float64(d.Microseconds())/1000, formatted from the
// integer. slog's JSON handler writes a float64 through encoding/json's
// float formatting, whose stack is deep enough that the sampled access line
// grew the connection goroutine's stack (shrunk again at every collection)
// each time: in issue 17's profiles, all of the permission check's stack
// copying. A json.Number is written as it is.
func durationMS(d time.Duration) slog.Value {
	us := d.Microseconds()
	if us < 0 || us >= 1e12 { // beyond any request; as before
		return slog.Float64Value(float64(us) / 1000)
	}
	var b [24]byte
	n := strconv.AppendInt(b[:0], us/1000, 10)
	if frac := us % 1000; frac != 0 {
		n = append(n, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		n = bytes.TrimRight(n, "0")
	}
	return slog.AnyValue(json.Number(n))
}

// Route returns the request's matched pattern without its method, or
// "unmatched".
func Route(r *http.Request) string {
	p := r.Pattern
	if p == "" {
		return unmatched
	}
	if _, after, ok := strings.Cut(p, " "); ok {
		return after
	}
	return p
}

// ContextHandler adds the request id to every log record made with a
// request's context.
type ContextHandler struct{ slog.Handler }

func (h ContextHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(attrs)}
}

func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}

// Actor describes who makes a request, for audit events: the principal (nil
// when nobody is signed in), the peer address, the cleaned user agent and
// the request id. Every transport builds its actors here.
func Actor(r *http.Request, p *gatehouse.Principal) gatehouse.Actor {
	a := gatehouse.Actor{IP: ClientIP(r), UserAgent: gatehouse.CleanHeader(r.UserAgent()), RequestID: RequestID(r.Context())}
	if p != nil {
		a.Kind, a.ID, a.Name = p.Kind, p.ID(), p.Name
	}
	return a
}

// ClientIP is the peer address without its port. X-Forwarded-For is not
// trusted: a client can set it.
func ClientIP(r *http.Request) string {
	addr := r.RemoteAddr
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "[]")
}
