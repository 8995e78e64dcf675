package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/service"
)

// TestWriteCheckMatchesEncodingJSON: the hand-written answer is byte for
// byte what respond.JSON (encoding/json) writes, for plain and for escaped
// granted_by values.
func TestWriteCheckMatchesEncodingJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, res := range []service.CheckResult{
		{Allowed: true, GrantedBy: str("role:owner.permissions[0]")},
		{Allowed: true, GrantedBy: str("direct.permissions[2]")},
		{Allowed: false},
		{Allowed: true, GrantedBy: str("")},
		{Allowed: true, GrantedBy: str(`a "quoted" \ name`)},
		{Allowed: true, GrantedBy: str("<script>&")},
		{Allowed: true, GrantedBy: str("é\u2028\x01\x7f")},
		{Allowed: false, GrantedBy: str("bad utf8 \xff")},
	} {
		want, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		writeCheck(rec, res)
		if got := rec.Body.String(); got != string(want)+"\n" {
			t.Errorf("writeCheck(%+v) = %q, want %q", res, got, string(want)+"\n")
		}
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
