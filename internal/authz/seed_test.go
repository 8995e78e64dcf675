package authz_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// decodeBody decodes an invitation body (such as the seed's, from
// internal/seedtest) strictly, as the HTTP layer does.
func decodeBody(t *testing.T, body string) []gatehouse.Grant {
	t.Helper()
	var req struct {
		Email       string            `json:"email"`
		Permissions []gatehouse.Grant `json:"permissions"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return req.Permissions
}

// grantsJSON decodes a JSON array of grants, for compact test tables.
func grantsJSON(t testing.TB, s string) []gatehouse.Grant {
	t.Helper()
	var g []gatehouse.Grant
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return g
}
