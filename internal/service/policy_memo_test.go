package service

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestPolicyOfMemo: a remembered policy is the one parsing gives, for many
// documents sharing the memo's slots, and what a caller changes in the
// policy it got does not reach the next caller.
func TestPolicyOfMemo(t *testing.T) {
	docs := []string{``, `{}`, `not json`, `{"allowed_domains":["a.example"],"seat_limit":3,"remind_after_days":2}`}
	for i := range 300 {
		docs = append(docs, fmt.Sprintf(`{"invitations_per_day":%d,"allowed_domains":["d%d.example"],"who_can_invite":"owners"}`, i+1, i))
	}
	for round := range 3 {
		for _, d := range docs {
			o := &gatehouse.Organization{Settings: []byte(d)}
			got, want := PolicyOf(o), parsePolicy([]byte(d))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %q: %+v, want %+v", round, d, got, want)
			}
		}
	}
	o := &gatehouse.Organization{Settings: []byte(docs[3])}
	PolicyOf(o)      // remembered, if another document had its slot
	p := PolicyOf(o) // from the memo
	p.AllowedDomains[0], *p.SeatLimit, *p.RemindAfterDays = "changed.example", 99, 99
	p.AllowedDomains = append(p.AllowedDomains, "more.example")
	if again := PolicyOf(o); again.AllowedDomains[0] != "a.example" || len(again.AllowedDomains) != 1 || *again.SeatLimit != 3 || *again.RemindAfterDays != 2 {
		t.Errorf("a caller's change reached the memo: %+v", again)
	}
	if p := PolicyOf(&gatehouse.Organization{Settings: []byte(`{}`)}); p.AllowedDomains == nil {
		t.Error("allowed_domains is nil, want [] (it is encoded as [])")
	}
}

func BenchmarkPolicyOf(b *testing.B) {
	o := &gatehouse.Organization{Settings: []byte(`{"invitations_per_day":1000000000}`)}
	b.ReportAllocs()
	for b.Loop() {
		_ = PolicyOf(o)
	}
}
