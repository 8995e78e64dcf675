package api

import (
	"html/template"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

type devMessage struct {
	ID        string    `json:"id"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) devMessages(r *http.Request) ([]devMessage, error) {
	limit := gatehouse.DefaultPageLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gatehouse.MaxPageLimit {
			return nil, gatehouse.Invalid("Invalid limit.", gatehouse.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"})
		}
		limit = n
	}
	ms, err := s.Store.R().ListMail(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	out := make([]devMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, devMessage{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Status: m.Status, CreatedAt: m.CreatedAt})
	}
	return out, nil
}

// loopbackOnly serves h only to a client whose TCP peer is a loopback
// address (someone on this machine); anyone else gets the 404 of an unknown
// path. Only the connection's own peer counts: headers such as
// X-Forwarded-For are the client's to write.
func (s *Server) loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackPeer(r.RemoteAddr) {
			s.notFound(w, r)
			return
		}
		h(w, r)
	}
}

// LoopbackPeer reports whether a request's RemoteAddr (ip:port, as
// net/http sets it from the connection) is a loopback address.
func LoopbackPeer(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// handleDevMailbox lists the local outbox, newest first. It exists only
// while no SMTP server is configured.
func (s *Server) handleDevMailbox(w http.ResponseWriter, r *http.Request) {
	ms, err := s.devMessages(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"data": ms})
}

var devMailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development mailbox — Gatehouse</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem}
article{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}pre{white-space:pre-wrap}</style></head>
<body><h1>Development mailbox</h1>
<p>Mail that Gatehouse would send, kept here because no SMTP server is configured.</p>
{{range .}}<article><h2>{{.Subject}}</h2><p>To: {{.To}} · {{.CreatedAt.Format "2006-01-02 15:04:05 MST"}}</p><pre>{{.Text}}</pre></article>
{{else}}<p>No mail yet. Register an account or send an invitation, and its email appears here.</p>{{end}}
</body></html>`))

func (s *Server) handleDevMailPage(w http.ResponseWriter, r *http.Request) {
	ms, err := s.devMessages(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = devMailPage.Execute(w, ms)
}
