// Package respond writes Gatehouse's HTTP responses: JSON bodies, RFC 9457
// problem documents (the one place where error codes become statuses) and
// strict JSON request decoding.
package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse"
)

// MaxBodyBytes caps JSON request bodies.
const MaxBodyBytes = 1 << 20

// statuses maps each error code to its HTTP status: the only such table.
var statuses = map[string]int{
	gatehouse.EINVALID:        http.StatusBadRequest,
	gatehouse.EUNAUTHORIZED:   http.StatusUnauthorized,
	gatehouse.EFORBIDDEN:      http.StatusForbidden,
	gatehouse.ENOTFOUND:       http.StatusNotFound,
	gatehouse.EMETHOD:         http.StatusMethodNotAllowed,
	gatehouse.ECONFLICT:       http.StatusConflict,
	gatehouse.EGONE:           http.StatusGone,
	gatehouse.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	gatehouse.EUNSUPPORTED:    http.StatusUnsupportedMediaType,
	gatehouse.ERATELIMITED:    http.StatusTooManyRequests,
	gatehouse.EINTERNAL:       http.StatusInternalServerError,
	gatehouse.ENOTIMPLEMENTED: http.StatusNotImplemented,
	gatehouse.EUNAVAILABLE:    http.StatusServiceUnavailable,
	gatehouse.EUNPROCESSABLE:  http.StatusUnprocessableEntity,
}

// Status returns the HTTP status for an error code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorCode returns the domain error code for an HTTP status (for dialects
// that start from a status).
func ErrorCode(status int) string {
	for code, s := range statuses {
		if s == status {
			return code
		}
	}
	return gatehouse.EINTERNAL
}

// JSON writes v with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	WriteJSON(w, status, "application/json", v)
}

// WriteJSON writes v with a content type of the caller's choice.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// NoContent answers 204.
func NoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Detail string                 `json:"detail,omitempty"`
	Code   string                 `json:"code"`
	Errors []gatehouse.FieldError `json:"errors,omitempty"`
	// RequestID lets a user quote the request when reporting a problem.
	RequestID string `json:"request_id,omitempty"`
}

// MakeProblem builds the problem document for err (without logging).
func MakeProblem(err error, requestID string) (Problem, *gatehouse.Error) {
	e := gatehouse.AsError(err)
	status := Status(e.Code)
	code := e.Code
	if e.Reason != "" {
		code = e.Reason
	}
	return Problem{
		Type:      "urn:gatehouse:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    e.Message,
		Code:      code,
		Errors:    e.Fields,
		RequestID: requestID,
	}, e
}

type ctxKey int

// requestKey finds a request's requestCtx.
const requestKey ctxKey = 0

// requestCtx carries a request's id and logger in one context node: one
// allocation per request where two context.WithValue nodes and the boxed id
// took three (issue 17, the permission check's path).
type requestCtx struct {
	context.Context
	id  string
	log *slog.Logger // nil: the default logger
}

func (c *requestCtx) Value(key any) any {
	if key == requestKey {
		return c
	}
	return c.Context.Value(key)
}

// request returns ctx's innermost requestCtx, nil outside a request.
func request(ctx context.Context) *requestCtx {
	rc, _ := ctx.Value(requestKey).(*requestCtx)
	return rc
}

// WithRequest returns ctx carrying a request's id and logger (a nil logger
// keeps ctx's). The middleware
// (LogWith) calls it for every request, so that a problem names the request
// and internal causes reach the server's log with the request id rather than
// the process-wide default logger. This package owns these values so that
// it needs no wiring from the middleware.
func WithRequest(ctx context.Context, id string, log *slog.Logger) context.Context {
	if log == nil {
		if outer := request(ctx); outer != nil {
			log = outer.log
		}
	}
	return &requestCtx{Context: ctx, id: id, log: log}
}

// RequestIDFunc returns the request id of a context ("" outside a request);
// a variable only so that tests can stand in for it.
var RequestIDFunc = func(ctx context.Context) string {
	if rc := request(ctx); rc != nil {
		return rc.id
	}
	return ""
}

// LoggerFunc returns the logger of a request's context (the default logger
// outside a request); a variable only so that tests can stand in for it.
var LoggerFunc = func(ctx context.Context) *slog.Logger {
	if rc := request(ctx); rc != nil && rc.log != nil {
		return rc.log
	}
	return slog.Default()
}

// Error writes err as application/problem+json. Internal causes are logged
// with the request id and never sent.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	p, e := MakeProblem(err, RequestIDFunc(r.Context()))
	if p.Status >= 500 {
		LoggerFunc(r.Context()).ErrorContext(r.Context(), "request failed", "code", e.Code, "err", e)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := map[string]any{}
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &body)
	for k, v := range e.Extra {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	WriteJSON(w, p.Status, "application/problem+json", body)
}

// Decode reads a JSON body into v strictly: at most MaxBodyBytes, a JSON
// content type, no unknown fields, nothing after the value. An empty body
// leaves v as it is, so a POST needing nothing needs no content type.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	return DecodeLimit(w, r, v, MaxBodyBytes)
}

// DecodeLimit is Decode with another size limit.
func DecodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	// The whole body into a pooled buffer, then decoded from it: the
	// decoder then reads it in one go (a stream decoder over the request
	// grew its own buffer twice, 2 KB per request; issue 17).
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return decodeError(err, limit)
	}
	data := buf.Bytes()
	if len(data) == 0 {
		return nil // empty body
	}
	if !IsJSONContentType(r.Header.Get("Content-Type")) {
		return gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The request body must be JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, limit)
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) != 0 {
		return gatehouse.Invalid("The request body must hold one JSON value only.")
	}
	return nil
}

// bodyBuffers hold request bodies while they are decoded.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBodyBuffer returns a buffer to the pool, unless a rare large body grew
// it past 64 KiB.
func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// IsJSONContentType accepts application/json and any +json type.
func IsJSONContentType(ct string) bool {
	if ct == "application/json" {
		return true // the common case, without ParseMediaType's map (issue 17)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func tooLarge(limit int64) error {
	return gatehouse.Errorf(gatehouse.ETOOLARGE, "The request body is larger than %d bytes.", limit)
}

func decodeError(err error, limit int64) error {
	var (
		mbe *http.MaxBytesError
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.As(err, &syn):
		return gatehouse.Invalid(fmt.Sprintf("Malformed JSON at byte %d.", syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return gatehouse.Invalid("Malformed JSON: the body ends too soon.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return gatehouse.Invalid("A field has the wrong type.", gatehouse.FieldError{
			Field: field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return gatehouse.Invalid("The request has an unknown field.", gatehouse.FieldError{Field: name, Message: "is not a known field"})
	default:
		return gatehouse.Invalid("Malformed JSON.")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "another type"
}
