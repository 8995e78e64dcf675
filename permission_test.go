package gatehouse

import (
	"reflect"
	"testing"
)

// TestBuiltinRoleCopy: BuiltinRole finds each built-in role by id and by
// name, equal to BuiltinRoles' entry, and as a fresh copy: changing what it
// returned changes nothing the next caller gets.
func TestBuiltinRoleCopy(t *testing.T) {
	for _, want := range BuiltinRoles() {
		for _, key := range []string{want.ID, want.Name} {
			got, ok := BuiltinRole(key)
			if !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("BuiltinRole(%q) = %+v, %v; want %+v", key, got, ok, want)
			}
			for i := range got.Grants {
				got.Grants[i].Name = "changed"
				for j := range got.Grants[i].Permission {
					got.Grants[i].Permission[j].Action = "changed"
				}
			}
			if again, _ := BuiltinRole(key); !reflect.DeepEqual(again, want) {
				t.Fatalf("BuiltinRole(%q) after the caller changed its copy: %+v", key, again)
			}
		}
	}
	if _, ok := BuiltinRole("no-such-role"); ok {
		t.Fatal("found a role that does not exist")
	}
}
