package apptest

// The one set of assertions the HTTP tests share: a status, a problem
// document with its code and fields, and the parts of a JSON answer (list
// pages, ids, times, permission lists). Each takes the test that fails, so
// subtests fail themselves rather than the server's test.

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Status fails tb unless resp has status want; it returns the JSON object
// body, if any.
func Status(tb testing.TB, want int, resp *Response) map[string]any {
	tb.Helper()
	if resp.Status != want {
		tb.Fatalf("status %d, want %d: %s", resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(tb)
}

// MustDo sends r and fails tb (not the server's test) unless the status is
// want; it returns the JSON object body, if any.
func MustDo(tb testing.TB, s *Server, want int, r Req) map[string]any {
	tb.Helper()
	resp := s.Do(r)
	if resp.Status != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.Path, resp.Status, want, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return resp.JSON(tb)
}

// ProblemCode checks that resp is a problem document (see Problem) with
// status and, unless code is "", that code, and that it is complete: a
// detail, and the type and title that go with code and status. (Its
// request_id is checked by DoRequestID: a replayed answer names the first
// request.)
func ProblemCode(tb testing.TB, resp *Response, status int, code string) map[string]any {
	tb.Helper()
	p := Problem(tb, resp, status)
	if code != "" && p["code"] != code {
		tb.Fatalf("code %v, want %q: %s", p["code"], code, resp.Body)
	}
	if detail, _ := p["detail"].(string); detail == "" {
		tb.Fatalf("problem without detail: %s", resp.Body)
	}
	if p["type"] != "urn:gatehouse:problem:"+p["code"].(string) || p["title"] != http.StatusText(resp.Status) {
		tb.Fatalf("problem type %v, title %v do not go with code %v, status %d", p["type"], p["title"], p["code"], resp.Status)
	}
	return p
}

// ProblemField checks that problem p names field among its errors.
func ProblemField(tb testing.TB, p map[string]any, field string) {
	tb.Helper()
	errs, _ := p["errors"].([]any)
	var got []string
	for _, e := range errs {
		f, _ := e.(map[string]any)["field"].(string)
		if f == field {
			return
		}
		got = append(got, f)
	}
	tb.Fatalf("no error for field %q; fields %v", field, got)
}

// BadField checks that resp is a 400 problem naming field among its errors.
func BadField(tb testing.TB, resp *Response, field string) {
	tb.Helper()
	ProblemField(tb, ProblemCode(tb, resp, 400, ""), field)
}

// RetryAfter checks a 429 problem and returns its Retry-After.
func RetryAfter(tb testing.TB, resp *Response) time.Duration {
	tb.Helper()
	Problem(tb, resp, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		tb.Fatalf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

// Page returns a list answer's data and next cursor (the next_cursor member
// must be present, null on the last page).
func Page(tb testing.TB, body map[string]any) ([]map[string]any, string) {
	tb.Helper()
	out := Items(tb, body)
	next, _ := body["next_cursor"].(string)
	if _, present := body["next_cursor"]; !present {
		tb.Fatalf("no next_cursor member: %v", body)
	}
	return out, next
}

// Items returns a list answer's data objects.
func Items(tb testing.TB, body map[string]any) []map[string]any {
	tb.Helper()
	raw, ok := body["data"].([]any)
	if !ok {
		tb.Fatalf("no data array: %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i], _ = r.(map[string]any)
	}
	return out
}

// IDs returns each item's string member key ("" where it has none).
func IDs(items []map[string]any, key string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it[key].(string)
	}
	return out
}

// DataIDs returns the ids of a list answer's data objects, failing tb when
// one has none.
func DataIDs(tb testing.TB, body map[string]any) []string {
	tb.Helper()
	ids := []string{}
	for _, it := range Items(tb, body) {
		ids = append(ids, ID(tb, it))
	}
	return ids
}

// ID returns an object's id, failing tb when it has none.
func ID(tb testing.TB, body map[string]any) string {
	tb.Helper()
	id, _ := body["id"].(string)
	if id == "" {
		tb.Fatalf("no id in %v", body)
	}
	return id
}

// StringField reads a string member of a JSON object answer ("" if none,
// or if the answer is not an object).
func StringField(resp *Response, name string) string {
	m := map[string]any{}
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		return ""
	}
	v, _ := m[name].(string)
	return v
}

// UTCTime parses an RFC 3339 UTC time member.
func UTCTime(tb testing.TB, v any) time.Time {
	tb.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		tb.Fatalf("time %q is not RFC 3339 UTC: %v", s, err)
	}
	return tm
}

// Grants decodes a permission list, from a request or a response, for
// comparison (a grant without areas has an empty, not a nil, list).
func Grants(tb testing.TB, v any) []gatehouse.Grant {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var gs []gatehouse.Grant
	if err := json.Unmarshal(b, &gs); err != nil {
		tb.Fatalf("not a permission list: %s", b)
	}
	for i := range gs {
		if gs[i].Permission == nil {
			gs[i].Permission = []gatehouse.AreaGrant{}
		}
	}
	return gs
}

// Keys returns a map's keys, sorted.
func Keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// HasAudit fails tb unless the organization's audit log (orgID "" for
// events outside any organization) holds action about target.
func HasAudit(tb testing.TB, s *Server, orgID, target, action string) {
	tb.Helper()
	if got := s.TargetAuditActions(orgID, target); !slices.Contains(got, action) {
		tb.Fatalf("audit of %s in %q: %v, want %s", target, orgID, got, action)
	}
}
