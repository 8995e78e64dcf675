package api_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func fdRegister(t *testing.T, srv *apptest.Server, email string) {
	t.Helper()
	srv.Must(201, apptest.Req{Method: "POST", Path: "/v1/auth/register",
		Body: map[string]string{"name": "Test User", "email": email, "password": apptest.TestPassword}})
}

func TestFoundationWelcome(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		t.Run("OK", func(t *testing.T) {
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/"})
			if resp.Status != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, type %q", resp.Status, resp.Header.Get("Content-Type"))
			}
			body := resp.JSON(t)
			if body["name"] != "gatehouse" || body["version"] != gatehouse.Version || len(body) != 2 {
				t.Fatalf("body = %v", body)
			}
		})
		t.Run("ErrOnlyExactRoot", func(t *testing.T) {
			apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/nothing-here"}), 404, "not_found")
		})
	})
}

func TestFoundationHealth(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/health"})
			if resp.Status != 200 {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			parts := 2
			if e.Name == "postgres" {
				parts = 3 // and the invalidation listener
			}
			if body := resp.JSON(t); body["status"] != "ok" || body["database"] != "ok" || len(body) != parts {
				t.Fatalf("body = %v", body)
			}
		})
		t.Run("ErrDatabaseDown", func(t *testing.T) {
			srv := apptest.New(t, e)
			// The cleanup closes the store again, which is harmless: database/sql
			// makes Close idempotent.
			if err := srv.Store.Close(); err != nil {
				t.Fatalf("close store: %v", err)
			}
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/health"})
			if resp.Status != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503: %s", resp.Status, resp.Body)
			}
			body := resp.JSON(t)
			if body["database"] != "down" || body["status"] == "ok" {
				t.Fatalf("body = %v", body)
			}
			if !strings.Contains(srv.Logs.String(), "database down") {
				t.Fatalf("the outage was not logged: %s", srv.Logs)
			}
		})
	})
}

func TestFoundationRouting(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, path := range []string{"/nope", "/v1", "/v1/nope", "/v1/auth/register/extra", "/dev"} {
				t.Run(path, func(t *testing.T) {
					apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: path}), 404, "not_found")
				})
			}
		})
		t.Run("ErrMethodNotAllowed", func(t *testing.T) {
			tests := []struct {
				method, path string
				allow        []string
			}{
				{"DELETE", "/health", []string{"GET", "HEAD"}},
				{"POST", "/", []string{"GET", "HEAD"}},
				{"GET", "/v1/auth/register", []string{"POST"}},
				{"PUT", "/v1/auth/login", []string{"POST"}},
			}
			for _, tt := range tests {
				t.Run(tt.method+tt.path, func(t *testing.T) {
					resp := apptest.DoRequestID(t, srv, apptest.Req{Method: tt.method, Path: tt.path})
					apptest.ProblemCode(t, resp, 405, "method")
					allow := resp.Header.Get("Allow")
					for _, m := range tt.allow {
						if !strings.Contains(allow, m) {
							t.Fatalf("Allow = %q, want it to list %s", allow, m)
						}
					}
				})
			}
		})
		// The mux's own answers other than 404 and 405 pass through as
		// they are: a path it cleans is redirected.
		t.Run("MuxAnswers", func(t *testing.T) {
			for _, tt := range []struct {
				method, target string
				status         int
				location, body string
			}{
				{"GET", "/v1/./health/../health", http.StatusTemporaryRedirect, "/v1/health", ""},
				{"GET", "//health", http.StatusTemporaryRedirect, "/health", "<a href=\"/health\">Temporary Redirect</a>.\n\n"},
				{"OPTIONS", "*", http.StatusTemporaryRedirect, "/%2A", ""},
			} {
				t.Run(tt.method+tt.target, func(t *testing.T) {
					r := httptest.NewRequest(tt.method, "/", nil)
					r.URL.Path, r.RequestURI = tt.target, tt.target
					rec := httptest.NewRecorder()
					srv.Handler().ServeHTTP(rec, r)
					if rec.Code != tt.status || rec.Header().Get("Location") != tt.location || rec.Body.String() != tt.body {
						t.Fatalf("%d, Location %q, body %q; want %d, Location %q, body %q", rec.Code, rec.Header().Get("Location"), rec.Body, tt.status, tt.location, tt.body)
					}
					if rec.Header().Get("X-Request-Id") == "" {
						t.Fatal("no X-Request-Id")
					}
				})
			}
		})
	})
}

func TestFoundationJSONBodies(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		const path = "/v1/auth/register"
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
		t.Run("ErrTooLarge", func(t *testing.T) {
			apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: big, ContentType: "application/json"}), 413, "too_large")
		})
		t.Run("ErrTooLargeChunked", func(t *testing.T) {
			// No Content-Length: the limit applies while reading.
			req, err := http.NewRequest("POST", srv.URL+path, io.MultiReader(strings.NewReader(big)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			apptest.ProblemCode(t, &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, 413, "too_large")
		})
		t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
				apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: `{"email":"a@example.com"}`, ContentType: ct}), 415, "unsupported")
			}
		})
		t.Run("ErrMalformed", func(t *testing.T) {
			apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: `{"email":`, ContentType: "application/json"}), 400, "invalid")
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			p := apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path,
				Body: map[string]any{"name": "A", "email": "a@example.com", "password": apptest.TestPassword, "is_admin": true}}), 400, "invalid")
			errs, _ := p["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != "is_admin" {
				t.Fatalf("errors = %v", p["errors"])
			}
		})
		t.Run("ErrWrongType", func(t *testing.T) {
			p := apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: map[string]any{"name": 7}}), 400, "invalid")
			errs, _ := p["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != "name" || !strings.Contains(errs[0].(map[string]any)["message"].(string), "must be a string") {
				t.Fatalf("errors = %v", p["errors"])
			}
		})
		t.Run("ErrTrailingData", func(t *testing.T) {
			apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: `{} {}`, ContentType: "application/json"}), 400, "invalid")
		})
		t.Run("OKPlusJSON", func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"name": "Plus", "email": "plus@example.com", "password": apptest.TestPassword})
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path, Body: b, ContentType: "application/vnd.api+json"})
			if resp.Status != 201 {
				t.Fatalf("status = %d: %s", resp.Status, resp.Body)
			}
		})
		t.Run("ErrEmptyBodyNeedsNoContentType", func(t *testing.T) {
			// An empty body is decoded as {}: the service then names the fields.
			p := apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "POST", Path: path}), 400, "invalid")
			if errs, _ := p["errors"].([]any); len(errs) == 0 {
				t.Fatalf("want field errors from validation, got %v", p)
			}
		})
	})
}

func TestFoundationMetrics(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		const sessionID = "0190f4b2-7c1e-7a3b-9d2e-5ec2e7000001"
		apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/health"})
		apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/health"})
		apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/no/such/place"})
		apptest.DoRequestID(t, srv, apptest.Req{Method: "DELETE", Path: "/v1/auth/sessions/" + sessionID}) // 401, by pattern
		fdRegister(t, srv, "metrics@example.com")

		resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/metrics"})
		if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("status %d, type %q", resp.Status, resp.Header.Get("Content-Type"))
		}
		text := string(resp.Body)
		t.Run("OK", func(t *testing.T) {
			for _, want := range []string{
				`gatehouse_http_requests_total{method="GET",route="/health",status="200"} 2`,
				`gatehouse_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
				`gatehouse_http_requests_total{method="DELETE",route="/v1/auth/sessions/{id}",status="401"} 1`,
				`gatehouse_http_requests_total{method="POST",route="/v1/auth/register",status="201"} 1`,
				`gatehouse_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"} 2`,
				`gatehouse_http_request_duration_seconds_count{method="POST",route="/v1/auth/register"} 1`,
				"# TYPE gatehouse_outbox_queued gauge",
				"gatehouse_outbox_queued 1", // the verification mail; no worker runs in apptest
				"gatehouse_outbox_failed 0",
				`go_sql_max_open_connections{db_name="writer"}`,
				`go_sql_open_connections{db_name="writer"}`,
				`go_sql_wait_count_total{db_name="writer"}`,
				"go_goroutines",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("metrics lack %q", want)
				}
			}
			if e.Name == "sqlite" && !strings.Contains(text, `go_sql_max_open_connections{db_name="reader"}`) {
				t.Errorf("metrics lack the SQLite reader pool")
			}
		})
		t.Run("ErrRawPathsNeverLabels", func(t *testing.T) {
			for _, leak := range []string{sessionID, "/no/such/place"} {
				if strings.Contains(text, leak) {
					t.Errorf("metrics carry the raw path %q", leak)
				}
			}
			if strings.Contains(srv.Logs.String(), sessionID) {
				t.Errorf("the access log carries the raw path of a wildcard route")
			}
		})
	})
}

func TestFoundationDevMailbox(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		t.Run("OKEmpty", func(t *testing.T) {
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mailbox"})
			if resp.Status != 200 || string(bytes.TrimSpace(resp.Body)) != `{"data":[]}` {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			page := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mail"})
			if page.Status != 200 || !strings.Contains(string(page.Body), "No mail yet") {
				t.Fatalf("status %d: %s", page.Status, page.Body)
			}
		})

		fdRegister(t, srv, "first@example.com")
		fdRegister(t, srv, "second@example.com")

		t.Run("OK", func(t *testing.T) {
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mailbox"})
			if resp.Status != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, type %q", resp.Status, resp.Header.Get("Content-Type"))
			}
			var body struct {
				Data []map[string]any `json:"data"`
			}
			if err := json.Unmarshal(resp.Body, &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Data) != 2 {
				t.Fatalf("messages = %d, want 2: %s", len(body.Data), resp.Body)
			}
			if body.Data[0]["to"] != "second@example.com" || body.Data[1]["to"] != "first@example.com" {
				t.Fatalf("not newest first: %v, %v", body.Data[0]["to"], body.Data[1]["to"])
			}
			m := body.Data[0]
			for _, k := range []string{"id", "to", "subject", "text", "html", "created_at"} {
				if s, _ := m[k].(string); s == "" {
					t.Errorf("message field %q = %#v", k, m[k])
				}
			}
			if !strings.Contains(m["text"].(string), srv.LastCode("second@example.com")) {
				t.Errorf("the text lacks the verification code: %q", m["text"])
			}

			one := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mailbox?limit=1"})
			if err := json.Unmarshal(one.Body, &body); err != nil || len(body.Data) != 1 || body.Data[0]["to"] != "second@example.com" {
				t.Fatalf("limit=1: %v %s", err, one.Body)
			}
			hundred := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mailbox?limit=100"})
			if hundred.Status != 200 {
				t.Fatalf("limit=100: status %d", hundred.Status)
			}

			page := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/dev/mail"})
			if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, type %q", page.Status, page.Header.Get("Content-Type"))
			}
			if subject := m["subject"].(string); !strings.Contains(string(page.Body), html.EscapeString(subject)) {
				t.Fatalf("the page lacks the subject %q: %s", subject, page.Body)
			}
			if !strings.Contains(string(page.Body), "second@example.com") {
				t.Fatalf("the page lacks the recipient")
			}
		})

		t.Run("ErrLimit", func(t *testing.T) {
			for _, path := range []string{"/dev/mailbox?limit=0", "/dev/mailbox?limit=101", "/dev/mailbox?limit=-1", "/dev/mailbox?limit=ten", "/dev/mail?limit=0"} {
				t.Run(path, func(t *testing.T) {
					p := apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: path}), 400, "invalid")
					errs, _ := p["errors"].([]any)
					if len(errs) != 1 || errs[0].(map[string]any)["field"] != "limit" {
						t.Fatalf("errors = %v", p["errors"])
					}
				})
			}
		})
	})
}

func TestFoundationDevMailboxWithSMTP(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e, apptest.Options{SMTPURL: "smtp://127.0.0.1:1"})
		t.Run("ErrNotServed", func(t *testing.T) {
			for _, path := range []string{"/dev/mailbox", "/dev/mail", "/dev/mailbox?limit=5"} {
				apptest.ProblemCode(t, apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: path}), 404, "not_found")
			}
		})
		t.Run("OKRestStillServed", func(t *testing.T) {
			if resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/health"}); resp.Status != 200 {
				t.Fatalf("health: %d", resp.Status)
			}
		})
	})
}

func TestFoundationRequestIDHeader(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		t.Run("OK", func(t *testing.T) {
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/"},
				{Method: "GET", Path: "/health"},
				{Method: "GET", Path: "/metrics"},
				{Method: "GET", Path: "/openapi.json"},
				{Method: "GET", Path: "/dev/mailbox"},
				{Method: "GET", Path: "/v1/me"},
				{Method: "GET", Path: "/nope"},
				{Method: "PATCH", Path: "/health"},
				{Method: "POST", Path: "/v1/auth/register", Body: "{", ContentType: "application/json"},
			} {
				apptest.DoRequestID(t, srv, r)
			}
		})
		t.Run("OKEchoed", func(t *testing.T) {
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/nope", Header: map[string]string{"X-Request-Id": "client-id-1"}})
			if resp.Header.Get("X-Request-Id") != "client-id-1" || resp.JSON(t)["request_id"] != "client-id-1" {
				t.Fatalf("X-Request-Id = %q, body %s", resp.Header.Get("X-Request-Id"), resp.Body)
			}
		})
		t.Run("ErrReplaced", func(t *testing.T) {
			resp := apptest.DoRequestID(t, srv, apptest.Req{Method: "GET", Path: "/", Header: map[string]string{"X-Request-Id": "has spaces in it"}})
			if resp.Header.Get("X-Request-Id") == "has spaces in it" {
				t.Fatal("an invalid client id was echoed")
			}
		})
	})
}
