package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The audit log.

type auditRow struct {
	Time                   time.Time
	Actor, ActorKind       string
	Action                 string
	TargetType, TargetID   string
	Summary                []summaryItem
	IP, UserAgent          string
	ActorID, TargetIDShort string
}

type auditData struct {
	Rows    []auditRow
	Next    string
	Query   url.Values
	NextURL string
}

var auditTargets = []string{"organization", "project", "folder", "member", "invitation", "api_key", "role", "user", "session"}

func (h *Handler) auditPage(rc *reqCtx) {
	r := rc.r
	p := rc.page("Audit log", "audit")
	if !p.Can.Audit {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need audit log permission to read the audit log of " + rc.Org.Name + "."})
		return
	}
	q := r.URL.Query()
	keep := url.Values{}
	for _, k := range []string{"action", "actor", "target_type", "from", "to"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			keep.Set(k, v)
		}
	}
	f := newForm(keep)
	filter := gatehouse.AuditFilter{ActorID: keep.Get("actor"), Action: keep.Get("action"), TargetType: keep.Get("target_type")}
	for _, pt := range []struct {
		name string
		dst  *time.Time
		add  time.Duration
	}{{"from", &filter.From, 0}, {"to", &filter.To, 24 * time.Hour}} {
		if v := keep.Get(pt.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				f.Set(pt.name, fieldLabels[pt.name]+" must be a date.")
				continue
			}
			*pt.dst = t.Add(pt.add)
		}
	}
	d := auditData{Query: keep}
	if !f.HasErrors() {
		page, ok := rc.listPage(50)
		if !ok {
			return
		}
		filter.Page = page
		evs, err := h.svc.Audits.List(r.Context(), rc.Caller, filter)
		if err != nil {
			status := f.apply(err)
			p.Form, p.Data = f, d
			h.renderStatus(rc.w, r, status, "audit", p)
			return
		}
		for _, e := range evs.Items {
			d.Rows = append(d.Rows, auditRowOf(e))
		}
		if evs.NextCursor != "" {
			nq := url.Values{}
			for k, v := range keep {
				nq[k] = v
			}
			nq.Set("cursor", evs.NextCursor)
			d.NextURL = "/audit?" + nq.Encode()
		}
	}
	p.Form, p.Data = f, d
	status := http.StatusOK
	if f.HasErrors() {
		f.Error = "Please correct the filters marked below."
		status = http.StatusBadRequest
	}
	h.renderStatus(rc.w, r, status, "audit", p)
}

func auditRowOf(e *gatehouse.AuditEvent) auditRow {
	actor := e.ActorName
	if actor == "" {
		actor = map[string]string{"": "Gatehouse", gatehouse.PrincipalAPIKey: "API key"}[e.ActorKind]
		if actor == "" {
			actor = e.ActorID
		}
	}
	summary := summarize(e.Summary)
	short := e.TargetID
	if len(short) > 13 {
		short = short[:8] + "…" + short[len(short)-4:]
	}
	return auditRow{Time: e.CreatedAt, Actor: actor, ActorKind: e.ActorKind, ActorID: e.ActorID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, TargetIDShort: short, Summary: summary, IP: e.IP, UserAgent: e.UserAgent}
}

// summaryItem is one changed field of an event, in words.
type summaryItem struct{ Key, Value string }

// summarize turns an event's summary into short "key: value" items:
// permission lists become counts, before/after pairs become arrows.
func summarize(raw []byte) []summaryItem {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []summaryItem
	for _, k := range keys {
		if v := short(m[k]); v != "" {
			out = append(out, summaryItem{Key: strings.ReplaceAll(k, "_", " "), Value: v})
		}
	}
	return out
}

func short(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		if len(v) > 60 {
			return v[:57] + "…"
		}
		return v
	case []any:
		switch len(v) {
		case 0:
			return "none"
		case 1:
			return "1 item"
		}
		return strconv.Itoa(len(v)) + " items"
	case map[string]any:
		if b, ok := v["before"]; ok {
			return short(b) + " → " + short(v["after"])
		}
		return strconv.Itoa(len(v)) + " fields"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}
