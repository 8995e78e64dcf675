package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/http/api"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// discardWriter is a ResponseWriter reused across iterations, so that the
// benchmark's allocations are the server's.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(b)
	return len(b), nil
}

// benchRequest is a JSON POST to path with body rd, as the load harness
// sends it: a session token, and the organization in X-Organization-Id
// when org is not empty.
func benchRequest(b *testing.B, path string, rd *bytes.Reader, tok, org string) *http.Request {
	r, err := http.NewRequest("POST", "http://gatehouse.test"+path, io.NopCloser(rd))
	if err != nil {
		b.Fatal(err)
	}
	r.ContentLength = int64(rd.Len())
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tok)
	if org != "" {
		r.Header.Set(api.OrgHeader, org)
	}
	return r
}

// BenchmarkCheckHandler is issue 17's figure (a) without the network: one
// POST /v1/members/permissions/check through the whole handler (request id,
// access log policy, metrics, routing, session authentication, the caller's
// organization and rights, decode, check, encode), as the load harness sends
// it (a session token, the organization taken from the session, or named in
// X-Organization-Id), next to a bare handler writing an answer of the same
// size. Compare allocs/op and ns/op:
//
//	go test ./internal/http/api/ -run '^$' -bench CheckHandler -benchmem
func BenchmarkCheckHandler(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			srv := apptest.New(b, e)
			tok, _ := srv.Signup("Owner", "owner@example.com")
			org := srv.CreateOrg(tok, "Bench")
			proj := srv.CreateProject(tok, org, "bench")
			body := []byte(`{"entity_type":"projects","entity_id":"` + proj + `","name":"settings","action":"write"}`)
			want := []byte(`{"allowed":true,"granted_by":"role:owner.permissions[0]"}` + "\n")
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(want)
			})
			for _, tc := range []struct {
				name string
				h    http.Handler
				org  string
			}{
				{"bare", bare, ""},
				{"check", srv.Handler(), ""},
				{"check-org-header", srv.Handler(), org},
			} {
				b.Run(tc.name, func(b *testing.B) {
					rd := bytes.NewReader(body)
					r := benchRequest(b, "/v1/members/permissions/check", rd, tok, tc.org)
					w := &discardWriter{h: http.Header{}}
					serve := func() {
						rd.Reset(body)
						clear(w.h)
						w.status, w.n = 0, 0
						tc.h.ServeHTTP(w, r)
						if w.status != http.StatusOK || w.n != len(want) {
							b.Fatalf("%s: status %d, %d bytes", tc.name, w.status, w.n)
						}
					}
					serve()
					b.ReportAllocs()
					for b.Loop() {
						serve()
					}
				})
			}
		})
	}
}
