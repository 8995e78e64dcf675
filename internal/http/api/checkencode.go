package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The check's answer, {"allowed":…,"granted_by":…}, written without
// encoding/json's reflection (issue 17: the check handler's profile spent
// about a tenth of its time in respond.JSON). A granted_by holding anything
// encoding/json would escape (quotes, backslashes, control characters,
// <, >, &, non-ASCII) goes through respond.JSON, so the bytes are always
// encoding/json's.

var jsonContentType = []string{"application/json"}

// writeCheck answers 200 with one check result.
func writeCheck(w http.ResponseWriter, res service.CheckResult) {
	if res.GrantedBy != nil && !plainJSONString(*res.GrantedBy) {
		respond.JSON(w, http.StatusOK, res)
		return
	}
	w.Header()["Content-Type"] = jsonContentType // net/http adds Content-Length to a body this small
	w.WriteHeader(http.StatusOK)
	bp := checkBufs.Get().(*[]byte) // checkdecode.go's: a Write does not keep its bytes
	b := appendCheck((*bp)[:0], res)
	_, _ = w.Write(b)
	*bp = b[:0]
	checkBufs.Put(bp)
}

// appendCheck appends res as encoding/json writes it, and a newline, for a
// granted_by that plainJSONString accepts.
func appendCheck(b []byte, res service.CheckResult) []byte {
	if res.Allowed {
		b = append(b, `{"allowed":true,"granted_by":`...)
	} else {
		b = append(b, `{"allowed":false,"granted_by":`...)
	}
	if res.GrantedBy == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, *res.GrantedBy...)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// plainJSONString reports whether encoding/json writes s between quotes
// unchanged: printable ASCII without ", \, <, > or &.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
