package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Whenever the hand parser accepts a body, encoding/json (as the general
// decoder runs it) decodes the same values; bodies it cannot parse
// exactly are left to the general decoder.
func TestParseCheckMatchesEncodingJSON(t *testing.T) {
	fast := []string{
		`{"entity_type":"projects","entity_id":"p1","name":"settings","action":"write"}`,
		` { "user_id" : "u" , "entity_type":"folders","entity_id":"f","name":"folders","action":"read+write" } `,
		`{"action":"read","action":"write"}`,
		`{}`,
		`{"name":"é ünïcode"}`,
	}
	slow := []string{
		``, `[]`, `{`, `{"name":"a"`, `{"name":"a",}`, `{"Name":"a"}`, `{"name":"a\"b"}`, `{"name":"a\u0041"}`,
		`{"name":null}`, `{"name":1}`, `{"checks":[]}`, `{"other":"x"}`, `{"name":"a"} {}`, `{"name":"a"}x`,
		"{\"name\":\"\xff\"}", "{\"name\":\"a\tb\"}", `{"name" "a"}`, `{"name":"a" "action":"b"}`,
	}
	for _, body := range append(fast, slow...) {
		var got checkJSON
		ok := parseCheck(body, &got)
		if !ok {
			for _, f := range fast {
				if f == body {
					t.Errorf("%q: not parsed by the fast path", body)
				}
			}
			continue
		}
		for _, s := range slow {
			if s == body {
				t.Errorf("%q: parsed by the fast path", body)
			}
		}
		var want struct {
			checkJSON
			Checks []checkJSON `json:"checks"`
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Errorf("%q: fast path accepted what encoding/json refuses: %v", body, err)
			continue
		}
		if got != want.checkJSON || want.Checks != nil {
			t.Errorf("%q: fast %+v, encoding/json %+v", body, got, want.checkJSON)
		}
	}
}
