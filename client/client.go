// Package client is Gatehouse's Go client for the platform's other
// services: typed calls for the permission check (one and batch), members
// and invitations, a Checker that keeps recent decisions in a bounded local
// cache (dropped on the matching webhook events), and net/http middleware
// that refuses requests the caller may not make.
//
//	gh := client.New("https://gatehouse.internal", os.Getenv("GATEHOUSE_API_KEY"))
//	ok, err := gh.Check(ctx, client.CheckRequest{UserID: uid, EntityType: "projects", EntityID: pid, Name: "settings", Action: "write"})
//
// The package depends only on the standard library and Gatehouse's root
// package (its domain types).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Client calls one Gatehouse with one credential (an API key, or a user's
// access token). It is safe for concurrent use.
type Client struct {
	base  string
	auth  string
	orgID string
	http  *http.Client
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (10 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithOrganization sends X-Organization-Id on every call: the organization a
// user's token acts in (an API key acts in its own organization).
func WithOrganization(orgID string) Option { return func(c *Client) { c.orgID = orgID } }

// New returns a client of the Gatehouse at baseURL (like
// "https://gatehouse.internal"), authenticating with apiKey (sent as
// "Authorization: Bearer <apiKey>").
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), auth: "Bearer " + apiKey,
		http: &http.Client{Timeout: 10 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is a problem Gatehouse answered (RFC 9457 problem details).
type Error struct {
	Status int                    `json:"status"`
	Code   string                 `json:"code"`
	Title  string                 `json:"title"`
	Detail string                 `json:"detail"`
	Errors []gatehouse.FieldError `json:"errors"`
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	return fmt.Sprintf("gatehouse: %d %s: %s", e.Status, e.Code, msg)
}

// IsNotFound reports whether err is Gatehouse's 404.
func IsNotFound(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Status == http.StatusNotFound
}

// do sends one request with a JSON body (nil: none) and decodes a 2xx
// answer into out (nil: ignored). Other statuses become *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.orgID != "" {
		req.Header.Set("X-Organization-Id", c.orgID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{}
		if json.Unmarshal(raw, e) != nil || e.Code == "" {
			e.Title = strings.TrimSpace(string(raw))
		}
		e.Status = resp.StatusCode
		return e
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// CheckRequest is one permission question: may UserID (empty: the caller
// itself, e.g. the API key) do Action on the area Name of the entity?
// EntityType is "organizations", "projects" or "folders". It is comparable
// and is the Checker's cache key.
type CheckRequest struct {
	UserID     string `json:"user_id,omitempty"`
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	Name       string `json:"name"`
	Action     string `json:"action"`
}

// CheckResult answers it: GrantedBy names the grant that allowed it.
type CheckResult struct {
	Allowed   bool   `json:"allowed"`
	GrantedBy string `json:"granted_by"`
}

// Check asks Gatehouse one question (no cache: see Checker).
func (c *Client) Check(ctx context.Context, q CheckRequest) (CheckResult, error) {
	var out struct {
		Allowed   bool    `json:"allowed"`
		GrantedBy *string `json:"granted_by"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/members/permissions/check", q, &out); err != nil {
		return CheckResult{}, err
	}
	r := CheckResult{Allowed: out.Allowed}
	if out.GrantedBy != nil {
		r.GrantedBy = *out.GrantedBy
	}
	return r, nil
}

// MaxBatch is the most checks one CheckBatch call sends.
const MaxBatch = 100

// CheckBatch asks up to MaxBatch questions in one request; the answers are
// in the same order.
func (c *Client) CheckBatch(ctx context.Context, qs []CheckRequest) ([]CheckResult, error) {
	if len(qs) > MaxBatch {
		return nil, fmt.Errorf("gatehouse: %d checks in one batch (at most %d)", len(qs), MaxBatch)
	}
	in := struct {
		Checks []CheckRequest `json:"checks"`
	}{Checks: qs}
	if in.Checks == nil {
		in.Checks = []CheckRequest{}
	}
	var out struct {
		Results []struct {
			Allowed   bool    `json:"allowed"`
			GrantedBy *string `json:"granted_by"`
		} `json:"results"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/members/permissions/check/batch", in, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(qs) {
		return nil, fmt.Errorf("gatehouse: %d results for %d checks", len(out.Results), len(qs))
	}
	res := make([]CheckResult, len(qs))
	for i, r := range out.Results {
		res[i].Allowed = r.Allowed
		if r.GrantedBy != nil {
			res[i].GrantedBy = *r.GrantedBy
		}
	}
	return res, nil
}

// ListOptions page a list: Limit 1–100 (0: the server's default, 25) and
// the Cursor of the previous page's NextCursor.
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o ListOptions) query(v url.Values) string {
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		v.Set("cursor", o.Cursor)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Page is one page of a list; NextCursor is "" on the last page.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"-"`
}

func listInto[T any](ctx context.Context, c *Client, path string, out *Page[T]) error {
	var raw struct {
		Data       []T     `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return err
	}
	out.Data = raw.Data
	if raw.NextCursor != nil {
		out.NextCursor = *raw.NextCursor
	}
	return nil
}
