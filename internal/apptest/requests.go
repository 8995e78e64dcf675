package apptest

// Requests the HTTP tests share: bodies and requests built from key/value
// pairs, a request sent without the harness, permission lists in the
// request shape, and the token checks of the authentication tests.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// Fields builds a JSON object body of string members from key/value pairs.
func Fields(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Post is an anonymous POST of Fields(kv...).
func Post(path string, kv ...string) Req {
	return Req{Method: "POST", Path: path, Body: Fields(kv...)}
}

// GetAs is a GET with token ("" for none).
func GetAs(path, token string) Req {
	return Req{Method: "GET", Path: path, Token: token}
}

// Raw sends a request without the harness, so it is safe from any
// goroutine (a non-empty body is sent as JSON); it returns the status and
// body.
func Raw(s *Server, method, path, token string, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.HTTP.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

var requestIDRe = regexp.MustCompile(`^[0-9A-Za-z._:-]{1,128}$`)

// DoRequestID sends r and checks what every answer carries: an
// X-Request-Id, which a problem document names as its request_id.
func DoRequestID(tb testing.TB, s *Server, r Req) *Response {
	tb.Helper()
	resp := s.Do(r)
	id := resp.Header.Get("X-Request-Id")
	if !requestIDRe.MatchString(id) {
		tb.Fatalf("%s %s: X-Request-Id = %q", r.Method, r.Path, id)
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if p := resp.JSON(tb); p["request_id"] != id {
			tb.Fatalf("%s %s: request_id %v differs from X-Request-Id %q", r.Method, r.Path, p["request_id"], id)
		}
	}
	return resp
}

// SignupMember is Signup returning the user as a Member (not yet in any
// organization).
func (s *Server) SignupMember(name, email string) *Member {
	s.TB.Helper()
	tok, user := s.Signup(name, email)
	return &Member{UserID: user["id"].(string), Email: email, Token: tok}
}

// AccountExists looks an account up in the store.
func AccountExists(tb testing.TB, s *Server, email string) bool {
	tb.Helper()
	_, err := s.Store.R().UserByEmail(context.Background(), email)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		tb.Fatal(err)
	}
	return err == nil
}

// CreateKey makes an API key named "ci key" in orgID as token's user with
// grants (request-shape permissions) and returns the answer.
func (s *Server) CreateKey(token, orgID string, grants ...map[string]any) map[string]any {
	s.TB.Helper()
	return s.Must(201, Req{Method: "POST", Path: "/v1/api-keys", Token: token, Header: OrgHeader(orgID),
		Body: map[string]any{"name": "ci key", "permissions": grants}})
}

// Permission lists in the request shape (JSON objects), for bodies.

// OrgGrant is an organizations grant.
func OrgGrant(orgID, name, action string) map[string]any {
	return map[string]any{"entity_type": "organizations", "entity_id": orgID, "name": name, "action": action, "permission": []any{}}
}

// ProjectGrant is a projects grant on projectID (or "*") with areas.
func ProjectGrant(projectID, name, action string, areas ...map[string]any) map[string]any {
	perm := []any{}
	for _, a := range areas {
		perm = append(perm, a)
	}
	return map[string]any{"entity_type": "projects", "entity_id": projectID, "name": name, "action": action, "permission": perm}
}

// AreaGrant is one area of a projects grant.
func AreaGrant(name, action string) map[string]any {
	return map[string]any{"name": name, "action": action}
}

// FoldersArea is the folders area, custom, with per-folder grants.
func FoldersArea(folders ...map[string]any) map[string]any {
	fs := []any{}
	for _, f := range folders {
		fs = append(fs, f)
	}
	return map[string]any{"name": "folders", "action": "custom", "folders": fs}
}

// FolderGrant is action on one folder (and its descendants).
func FolderGrant(id, action string) map[string]any {
	return map[string]any{"folder_id": id, "action": action}
}

// Permissions is an access body {"permissions": grants}.
func Permissions(grants ...map[string]any) map[string]any {
	gs := []any{}
	for _, g := range grants {
		gs = append(gs, g)
	}
	return map[string]any{"permissions": gs}
}

// Role is an access body {"role": role}.
func Role(role string) map[string]any { return map[string]any{"role": role} }

// Token checks of the authentication tests.

// WrongCode returns a 6-digit code other than code.
func WrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// SHA256Hex is the hex SHA-256 of s (how high-entropy tokens are stored).
func SHA256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TokenAlive asserts that an access token works (or not) on the very next
// request.
func TokenAlive(tb testing.TB, s *Server, token string, want bool) {
	tb.Helper()
	resp := s.Do(GetAs("/v1/auth/api-access-check", token))
	switch {
	case want && resp.Status != 200:
		tb.Fatalf("token refused: %d %s", resp.Status, resp.Body)
	case !want:
		ProblemCode(tb, resp, 401, "invalid_token")
	}
}

// WarmToken makes the server see a token twice, so that its session is
// cached.
func WarmToken(tb testing.TB, s *Server, token string) {
	tb.Helper()
	TokenAlive(tb, s, token, true)
	TokenAlive(tb, s, token, true)
}

// RefreshRefused asserts that a refresh token is refused.
func RefreshRefused(tb testing.TB, s *Server, refresh string) {
	tb.Helper()
	ProblemCode(tb, s.Do(Post("/v1/auth/refresh", "refresh_token", refresh)), 401, "invalid_refresh_token")
}

// LoginRefused asserts that a password sign-in is refused.
func LoginRefused(tb testing.TB, s *Server, email, pw string) {
	tb.Helper()
	ProblemCode(tb, s.Do(Post("/v1/auth/login", "email", email, "password", pw)), 401, "invalid_credentials")
}
