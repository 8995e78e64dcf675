package api_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// BenchmarkCreateInvitationHandler is issue 17's figure (b) without the
// network and one request at a time (no group commit to share): one POST
// /v1/members/invitations through the whole handler, each to a new
// address, as the load harness sends it. allocs/op and B/op include what the
// mail worker does meanwhile:
//
//	go test ./internal/http/api/ -run '^$' -bench CreateInvitationHandler -benchmem
func BenchmarkCreateInvitationHandler(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			srv := apptest.New(b, e)
			tok, _ := srv.Signup("Owner", "owner@example.com")
			org := srv.CreateOrg(tok, "Bench")
			srv.SetOrgSetting(org, "invitations_per_day", 1_000_000_000)
			w := &discardWriter{h: http.Header{}}
			rd := bytes.NewReader(nil)
			h := srv.Handler()
			i := 0
			serve := func() {
				i++
				body := []byte(`{"email":"invitee` + strconv.Itoa(i) + `@example.com","role":"viewer"}`)
				rd.Reset(body)
				r := benchRequest(b, "/v1/members/invitations", rd, tok, org)
				clear(w.h)
				w.status, w.n = 0, 0
				h.ServeHTTP(w, r)
				if w.status != http.StatusCreated {
					b.Fatalf("status %d", w.status)
				}
			}
			serve()
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
