package web

import (
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Sessions: the user's own sign-ins.

type sessionRow struct {
	ID, Device, IP    string
	Created, LastUsed time.Time
	Current           bool
	Method            string // how it was opened, from its amr (mfa.go)
}

type sessionsData struct {
	Rows []sessionRow
	Next string
}

func (h *Handler) sessionsPage(rc *reqCtx) {
	r := rc.r
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	list, err := h.svc.Auth.Sessions(r.Context(), rc.P, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d := sessionsData{Next: list.NextCursor}
	for _, s := range list.Items {
		d.Rows = append(d.Rows, sessionRow{ID: s.ID, Device: device(s.UserAgent), IP: s.IP, Created: s.CreatedAt, LastUsed: s.LastUsedAt, Current: s.ID == rc.P.SessionID, Method: signInMethod(s.AMR)})
	}
	h.orgNav(rc) // profile.go
	p := rc.page("Sessions", "sessions")
	p.Data = d
	h.render(rc.w, r, "sessions", p)
}

func (h *Handler) endSession(rc *reqCtx) {
	id := rc.r.PathValue("id")
	if err := h.svc.Auth.EndSession(rc.r.Context(), rc.Actor(), rc.P, id); err != nil {
		rc.fail("/sessions", err)
		return
	}
	if id == rc.P.SessionID {
		h.clearSession(rc.w)
		rc.done("/login", "This session has ended: you are signed out.")
		return
	}
	rc.done("/sessions", "Session ended: that device is signed out.")
}

// device names a browser and system from a user agent, roughly.
func device(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := "A browser"
	for _, b := range []struct{ key, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go client"},
	} {
		if strings.Contains(ua, b.key) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ key, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Mac OS X", "macOS"}, {"Windows", "Windows"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.key) {
			system = s.name
			break
		}
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
