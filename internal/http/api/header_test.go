package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// header looks keys up as written: every key given to it in this package
// must be canonical, or the look-up silently misses the client's header.
func TestHeaderKeysCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`\bheader\(r, ("[^"]*"|[A-Za-z]+)\)`)
	keys := map[string]string{"OrgHeader": OrgHeader}
	seen := 0
	for _, f := range files {
		if f == "header_test.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			key := m[1]
			if key[0] == '"' {
				key = key[1 : len(key)-1]
			} else if k, ok := keys[key]; ok {
				key = k
			} else {
				t.Errorf("%s: header(r, %s): add the constant to this test", f, m[1])
				continue
			}
			seen++
			if http.CanonicalHeaderKey(key) != key {
				t.Errorf("%s: header(r, %q): not canonical (%q)", f, key, http.CanonicalHeaderKey(key))
			}
		}
	}
	if seen < 4 {
		t.Fatalf("found %d calls of header: the pattern no longer matches them", seen)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("authorization", "Bearer x")
	r.Header.Set(OrgHeader, "a")
	r.Header.Add(OrgHeader, "b")
	for _, k := range []string{"Authorization", OrgHeader, "Content-Type"} {
		if got, want := header(r, k), r.Header.Get(k); got != want {
			t.Errorf("header(%q) = %q, Header.Get %q", k, got, want)
		}
	}
}
