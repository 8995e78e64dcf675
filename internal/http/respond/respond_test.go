package respond_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// input is the target of the Decode tests.
type input struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Inner struct {
		Label string `json:"label"`
	} `json:"inner"`
	Tags []string `json:"tags"`
}

// request builds a POST; contentLength -1 sends the body without a length
// (as a chunked request would).
func request(body, contentType string, contentLength int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/things", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if contentLength != 0 {
		r.ContentLength = contentLength
	}
	return r
}

// gatehouseError asserts err is a *gatehouse.Error with the given code.
func gatehouseError(t *testing.T, err error, code string) *gatehouse.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want code %q", code)
	}
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *gatehouse.Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("code = %q, want %q (%v)", e.Code, code, err)
	}
	return e
}

func TestDecode(t *testing.T) {
	big := `{"name":"` + strings.Repeat("a", respond.MaxBodyBytes+10) + `"}`

	t.Run("OK", func(t *testing.T) {
		tests := []struct {
			name        string
			body        string
			contentType string
			want        input
		}{
			{name: "EmptyBodyWithoutContentType", body: "", contentType: "", want: input{Name: "kept"}},
			{name: "EmptyBodyWithOtherContentType", body: "", contentType: "text/plain", want: input{Name: "kept"}},
			{name: "JSON", body: `{"name":"Ada","count":2}`, contentType: "application/json", want: input{Name: "Ada", Count: 2}},
			{name: "JSONWithCharset", body: `{"name":"Ada"}`, contentType: "application/json; charset=utf-8", want: input{Name: "Ada"}},
			{name: "PlusJSONProblem", body: `{"name":"Ada"}`, contentType: "application/problem+json", want: input{Name: "Ada"}},
			{name: "PlusJSONVendor", body: `{"name":"Ada"}`, contentType: "application/vnd.api+json", want: input{Name: "Ada"}},
			{name: "TrailingWhitespace", body: "{\"name\":\"Ada\"}\n\t ", contentType: "application/json", want: input{Name: "Ada"}},
			{name: "Nested", body: `{"inner":{"label":"x"},"tags":["a"]}`, contentType: "application/json",
				want: func() input { var in input; in.Inner.Label = "x"; in.Tags = []string{"a"}; return in }()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := input{}
				if tt.body == "" {
					got.Name = "kept"
				}
				if err := respond.Decode(httptest.NewRecorder(), request(tt.body, tt.contentType, 0), &got); err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if got.Name != tt.want.Name || got.Count != tt.want.Count || got.Inner.Label != tt.want.Inner.Label ||
					strings.Join(got.Tags, ",") != strings.Join(tt.want.Tags, ",") {
					t.Fatalf("decoded %+v, want %+v", got, tt.want)
				}
			})
		}
	})

	t.Run("ErrUnsupported", func(t *testing.T) {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "not a media type;;"} {
			t.Run(ct, func(t *testing.T) {
				var in input
				err := respond.Decode(httptest.NewRecorder(), request(`{"name":"Ada"}`, ct, 0), &in)
				e := gatehouseError(t, err, gatehouse.EUNSUPPORTED)
				if s := respond.Status(e.Code); s != http.StatusUnsupportedMediaType {
					t.Fatalf("status = %d, want 415", s)
				}
				if in.Name != "" {
					t.Fatalf("body was decoded despite the content type: %+v", in)
				}
			})
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		tests := []struct {
			name         string
			body         string
			wantMessage  string // part of the message
			wantField    string // "" for none
			wantFieldMsg string // part of the field's message
		}{
			{name: "Malformed", body: `{"name":`, wantMessage: "Malformed JSON"},
			{name: "MalformedSyntax", body: `{"name" "Ada"}`, wantMessage: "Malformed JSON at byte"},
			{name: "NotJSON", body: `hello`, wantMessage: "Malformed JSON"},
			{name: "WhitespaceOnly", body: "   ", wantMessage: "Malformed JSON"},
			{name: "UnknownField", body: `{"name":"Ada","admin":true}`, wantMessage: "unknown field", wantField: "admin", wantFieldMsg: "not a known field"},
			{name: "UnknownNestedField", body: `{"inner":{"label":"x","colour":"red"}}`, wantMessage: "unknown field", wantField: "colour", wantFieldMsg: "not a known field"},
			{name: "WrongTypeString", body: `{"name":5}`, wantMessage: "wrong type", wantField: "name", wantFieldMsg: "must be a string"},
			{name: "WrongTypeNestedString", body: `{"inner":{"label":true}}`, wantMessage: "wrong type", wantField: "inner.label", wantFieldMsg: "must be a string"},
			{name: "WrongTypeNumber", body: `{"count":"two"}`, wantMessage: "wrong type", wantField: "count", wantFieldMsg: "must be a number"},
			{name: "WrongTypeArray", body: `{"tags":"a"}`, wantMessage: "wrong type", wantField: "tags", wantFieldMsg: "must be an array"},
			{name: "WrongTypeBody", body: `["a"]`, wantMessage: "wrong type", wantField: "body", wantFieldMsg: "must be an object"},
			{name: "TrailingValue", body: `{"name":"Ada"} {"name":"Bob"}`, wantMessage: "one JSON value"},
			{name: "TrailingGarbage", body: `{"name":"Ada"}x`, wantMessage: "one JSON value"},
			{name: "TrailingNumber", body: `{"name":"Ada"} 1`, wantMessage: "one JSON value"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var in input
				err := respond.Decode(httptest.NewRecorder(), request(tt.body, "application/json", 0), &in)
				e := gatehouseError(t, err, gatehouse.EINVALID)
				if !strings.Contains(e.Message, tt.wantMessage) {
					t.Fatalf("message %q does not contain %q", e.Message, tt.wantMessage)
				}
				if tt.wantField == "" {
					if len(e.Fields) != 0 {
						t.Fatalf("fields = %+v, want none", e.Fields)
					}
					return
				}
				if len(e.Fields) != 1 || e.Fields[0].Field != tt.wantField || !strings.Contains(e.Fields[0].Message, tt.wantFieldMsg) {
					t.Fatalf("fields = %+v, want one %q with %q", e.Fields, tt.wantField, tt.wantFieldMsg)
				}
			})
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		tests := []struct {
			name          string
			body          string
			contentLength int64
		}{
			{name: "WithContentLength", body: big},
			{name: "WithoutContentLength", body: big, contentLength: -1},
			{name: "DeclaredLengthOnly", body: `{}`, contentLength: respond.MaxBodyBytes + 1},
			{name: "TrailingWhitespaceWithoutContentLength", body: `{"name":"Ada"}` + strings.Repeat(" ", respond.MaxBodyBytes), contentLength: -1},
			{name: "OversizedBeforeFirstByte", body: strings.Repeat(" ", respond.MaxBodyBytes+1) + `{}`, contentLength: -1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var in input
				err := respond.Decode(httptest.NewRecorder(), request(tt.body, "application/json", tt.contentLength), &in)
				e := gatehouseError(t, err, gatehouse.ETOOLARGE)
				if s := respond.Status(e.Code); s != http.StatusRequestEntityTooLarge {
					t.Fatalf("status = %d, want 413", s)
				}
			})
		}
	})

	t.Run("OKAtLimit", func(t *testing.T) {
		body := `{"name":"` + strings.Repeat("a", respond.MaxBodyBytes-len(`{"name":""}`)) + `"}`
		if len(body) != respond.MaxBodyBytes {
			t.Fatalf("test body is %d bytes", len(body))
		}
		var in input
		if err := respond.Decode(httptest.NewRecorder(), request(body, "application/json", -1), &in); err != nil {
			t.Fatalf("Decode of exactly %d bytes: %v", respond.MaxBodyBytes, err)
		}
	})
}

func TestDecodeLimit(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var in input
		if err := respond.DecodeLimit(httptest.NewRecorder(), request(`{"name":"Ada"}`, "application/json", -1), &in, 14); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		var in input
		err := respond.DecodeLimit(httptest.NewRecorder(), request(`{"name":"Ada!"}`, "application/json", -1), &in, 14)
		gatehouseError(t, err, gatehouse.ETOOLARGE)
	})
}

func TestStatus(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{gatehouse.EINVALID, 400},
		{gatehouse.EUNAUTHORIZED, 401},
		{gatehouse.EFORBIDDEN, 403},
		{gatehouse.ENOTFOUND, 404},
		{gatehouse.EMETHOD, 405},
		{gatehouse.ECONFLICT, 409},
		{gatehouse.EGONE, 410},
		{gatehouse.ETOOLARGE, 413},
		{gatehouse.EUNSUPPORTED, 415},
		{gatehouse.ERATELIMITED, 429},
		{gatehouse.EINTERNAL, 500},
		{gatehouse.ENOTIMPLEMENTED, 501},
		{gatehouse.EUNPROCESSABLE, 422},
		{gatehouse.EUNAVAILABLE, 503},
	}
	useRequestIDs(t) // keeps 5xx log lines out of the test output
	t.Run("OK", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.code, func(t *testing.T) {
				if got := respond.Status(tt.code); got != tt.status {
					t.Fatalf("Status(%q) = %d, want %d", tt.code, got, tt.status)
				}
				if got := respond.ErrorCode(tt.status); got != tt.code {
					t.Fatalf("ErrorCode(%d) = %q, want %q", tt.status, got, tt.code)
				}
				// The problem document carries the same status.
				rec := httptest.NewRecorder()
				respond.Error(rec, httptest.NewRequest("GET", "/", nil), gatehouse.Errorf(tt.code, "message"))
				if rec.Code != tt.status {
					t.Fatalf("Error with code %q answered %d, want %d", tt.code, rec.Code, tt.status)
				}
			})
		}
	})
	t.Run("ErrUnknownCode", func(t *testing.T) {
		if got := respond.Status("no_such_code"); got != 500 {
			t.Fatalf("Status(unknown) = %d, want 500", got)
		}
		if got := respond.ErrorCode(418); got != gatehouse.EINTERNAL {
			t.Fatalf("ErrorCode(418) = %q, want %q", got, gatehouse.EINTERNAL)
		}
	})
}

// problem runs respond.Error and returns the recorder and the decoded body.
func problem(t *testing.T, ctx context.Context, err error) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/things", nil).WithContext(ctx)
	respond.Error(rec, r, err)
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
		t.Fatalf("Content-Length = %q, body is %d bytes", cl, rec.Body.Len())
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	return rec, body
}

type ctxKey struct{}

// useRequestIDs makes respond read request ids from ctxKey, and logs to buf,
// for the duration of the test.
func useRequestIDs(t *testing.T) *bytes.Buffer {
	prevID, prevLog := respond.RequestIDFunc, respond.LoggerFunc
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	respond.RequestIDFunc = func(ctx context.Context) string { id, _ := ctx.Value(ctxKey{}).(string); return id }
	respond.LoggerFunc = func(context.Context) *slog.Logger { return log }
	t.Cleanup(func() { respond.RequestIDFunc, respond.LoggerFunc = prevID, prevLog })
	return &buf
}

func TestError(t *testing.T) {
	logs := useRequestIDs(t)
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-42")

	t.Run("OK", func(t *testing.T) {
		err := gatehouse.Invalid("The request has invalid fields.",
			gatehouse.FieldError{Field: "permissions[1].permission[0].action", Message: "must be read, write or delete"})
		rec, body := problem(t, ctx, err)
		if rec.Code != 400 {
			t.Fatalf("status = %d", rec.Code)
		}
		want := map[string]any{
			"type": "urn:gatehouse:problem:invalid", "title": "Bad Request", "status": float64(400),
			"detail": "The request has invalid fields.", "code": "invalid", "request_id": "req-42",
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s = %#v, want %#v", k, body[k], v)
			}
		}
		errs, _ := body["errors"].([]any)
		if len(errs) != 1 {
			t.Fatalf("errors = %#v", body["errors"])
		}
		fe := errs[0].(map[string]any)
		if fe["field"] != "permissions[1].permission[0].action" || fe["message"] != "must be read, write or delete" {
			t.Fatalf("errors[0] = %#v", fe)
		}
		if rec.Header().Get("Retry-After") != "" {
			t.Fatalf("Retry-After set on a 400")
		}
	})

	t.Run("OKReason", func(t *testing.T) {
		_, body := problem(t, ctx, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified", Message: "Verify first."})
		if body["code"] != "email_not_verified" || body["type"] != "urn:gatehouse:problem:email_not_verified" || body["status"] != float64(403) {
			t.Fatalf("body = %#v", body)
		}
		if _, ok := body["errors"]; ok {
			t.Fatalf("errors present without field errors: %#v", body)
		}
	})

	t.Run("OKRetryAfter", func(t *testing.T) {
		rec, body := problem(t, ctx, &gatehouse.Error{Code: gatehouse.ERATELIMITED, Message: "Too many attempts.", RetryAfter: 37})
		if rec.Code != 429 || body["status"] != float64(429) {
			t.Fatalf("status = %d, body %v", rec.Code, body)
		}
		if got := rec.Header().Get("Retry-After"); got != "37" {
			t.Fatalf("Retry-After = %q, want 37", got)
		}
	})

	t.Run("OKExtra", func(t *testing.T) {
		_, body := problem(t, ctx, &gatehouse.Error{Code: gatehouse.EGONE, Message: "The invitation was revoked.",
			Extra: map[string]any{"invitation_status": "revoked", "status": 200, "code": "hijacked"}})
		if body["invitation_status"] != "revoked" {
			t.Fatalf("invitation_status = %#v", body["invitation_status"])
		}
		// Extra members never replace the standard ones.
		if body["status"] != float64(410) || body["code"] != "gone" {
			t.Fatalf("standard members overwritten: %#v", body)
		}
	})

	t.Run("ErrInternalHidesCause", func(t *testing.T) {
		logs.Reset()
		cause := errors.New("pq: SELECT secret FROM users WHERE password_hash = 'abc'")
		tests := []struct {
			name string
			err  error
		}{
			{"Internal", gatehouse.Internal(cause)},
			{"WrappedInternal", errors.Join(errors.New("loading"), gatehouse.Internal(cause))},
			{"PlainError", cause},
			{"ConflictWithCause", &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "Already exists.", Cause: cause}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec, body := problem(t, ctx, tt.err)
				if strings.Contains(rec.Body.String(), "SELECT secret FROM") || strings.Contains(rec.Body.String(), "password_hash") {
					t.Fatalf("body leaks the cause: %s", rec.Body)
				}
				if body["request_id"] != "req-42" {
					t.Fatalf("request_id = %#v", body["request_id"])
				}
			})
		}
		_, body := problem(t, ctx, gatehouse.Internal(cause))
		if body["status"] != float64(500) || body["code"] != "internal" || body["detail"] != "An internal error occurred." {
			t.Fatalf("body = %#v", body)
		}
		// The cause goes to the request's logger instead (the middleware's
		// ContextHandler adds the request id there; see its tests).
		if !strings.Contains(logs.String(), "SELECT secret FROM") {
			t.Fatalf("the internal cause was not logged: %s", logs)
		}
	})

	t.Run("ErrClientErrorsNotLogged", func(t *testing.T) {
		logs.Reset()
		problem(t, ctx, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such thing."))
		if logs.Len() != 0 {
			t.Fatalf("a 404 was logged as a failure: %s", logs)
		}
	})
}

func TestJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		rec := httptest.NewRecorder()
		respond.JSON(rec, http.StatusCreated, map[string]string{"id": "x"})
		if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		b, _ := io.ReadAll(rec.Body)
		if string(b) != "{\"id\":\"x\"}\n" {
			t.Fatalf("body = %q", b)
		}
		if rec.Header().Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Fatalf("Content-Length = %q for %d bytes", rec.Header().Get("Content-Length"), len(b))
		}
	})
	t.Run("ErrUnmarshallable", func(t *testing.T) {
		rec := httptest.NewRecorder()
		respond.JSON(rec, http.StatusOK, map[string]any{"f": func() {}})
		if rec.Code != 500 {
			t.Fatalf("status = %d, want 500", rec.Code)
		}
	})
	t.Run("OKNoContent", func(t *testing.T) {
		rec := httptest.NewRecorder()
		respond.NoContent(rec)
		if rec.Code != 204 || rec.Body.Len() != 0 {
			t.Fatalf("status %d, body %q", rec.Code, rec.Body)
		}
	})
}

func TestIsJSONContentType(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"Application/JSON", true},
		{"application/json; charset=utf-8", true},
		{"application/vnd.api+json", true},
		{"application/merge-patch+json", true},
		{"", false},
		{"text/json-ish", false},
		{"text/plain", false},
		{"multipart/form-data; boundary=x", false},
	}
	for _, tt := range tests {
		name := "OK"
		if !tt.want {
			name = "ErrNotJSON"
		}
		t.Run(name+"/"+tt.ct, func(t *testing.T) {
			if got := respond.IsJSONContentType(tt.ct); got != tt.want {
				t.Fatalf("IsJSONContentType(%q) = %v, want %v", tt.ct, got, tt.want)
			}
		})
	}
}
