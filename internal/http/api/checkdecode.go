package api

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// The permission check is every other service's hot path. Its body is a
// small flat object of strings; decoding it through encoding/json's
// reflection was about a third of the check handler's CPU (issue 17's
// profile). decodeCheck reads the body once and parses that common shape
// by hand; anything else (escapes, unknown or differently cased keys,
// non-strings, "checks", a wrong content type…) goes through the general
// decoder on the same bytes, so answers and problems are unchanged.

// checkBodyMax is the largest body the fast path reads.
const checkBodyMax = 2048

var checkBufs = sync.Pool{New: func() any { b := make([]byte, 0, checkBodyMax); return &b }}

// decodeCheck fills one with the check of the body; the batch form of old
// ({"checks":[…]}) comes back as checks (non-nil). false means a problem was
// answered.
func decodeCheck(w http.ResponseWriter, r *http.Request, one *checkJSON) (checks []checkJSON, ok bool) {
	n := r.ContentLength
	if n <= 0 || n > checkBodyMax || !respond.IsJSONContentType(header(r, "Content-Type")) {
		return decodeChecks(w, r, one)
	}
	bp := checkBufs.Get().(*[]byte)
	defer checkBufs.Put(bp)
	buf := (*bp)[:n]
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		respond.Error(w, r, gatehouse.Invalid("The request body could not be read."))
		return nil, false
	}
	if parseCheck(string(buf), one) {
		return nil, true
	}
	*one = checkJSON{}
	r.Body = io.NopCloser(bytes.NewReader(buf))
	return decodeChecks(w, r, one)
}

// decodeChecks is the general decoder's reading of a check body.
func decodeChecks(w http.ResponseWriter, r *http.Request, one *checkJSON) ([]checkJSON, bool) {
	var in struct {
		checkJSON
		Checks []checkJSON `json:"checks"`
	}
	if !decode(w, r, &in) {
		return nil, false
	}
	*one = in.checkJSON
	return in.Checks, true
}

// parseCheck parses {"key":"value",...} with keys among checkJSON's and
// plain string values (no escapes, valid UTF-8); false for anything else.
// The values are substrings of b: the body is copied once, not per value.
func parseCheck(b string, out *checkJSON) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		j = skipWS(b, j)
		if j >= len(b) || b[j] != ':' {
			return false
		}
		val, k, ok := plainString(b, skipWS(b, j+1))
		if !ok {
			return false
		}
		switch key {
		case "user_id":
			out.UserID = val
		case "entity_type":
			out.EntityType = val
		case "entity_id":
			out.EntityID = val
		case "name":
			out.Name = val
		case "action":
			out.Action = val
		default:
			return false
		}
		k = skipWS(b, k)
		if k >= len(b) {
			return false
		}
		switch b[k] {
		case ',':
			i = skipWS(b, k+1)
		case '}':
			return skipWS(b, k+1) == len(b)
		default:
			return false
		}
	}
}

// plainString reads a JSON string at b[i] without escapes or control
// characters; it returns its bytes and the index after the closing quote.
func plainString(b string, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			return s, j + 1, ascii || utf8.ValidString(s)
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

func skipWS(b string, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
