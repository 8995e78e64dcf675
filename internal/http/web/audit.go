package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The audit log: each event in words (Audits.Stories), targets by name
// with a link, a before/after table for updates, filters by person, kind
// and time, paging with the API's cursors, "Verify chain" and, for owners,
// the NDJSON export.

type auditRow struct {
	Time       time.Time
	Actor      string
	ActorID    string
	Action     string
	Sentence   string
	TargetName string
	TargetLink string
	TargetKind string
	Gone       bool
	Changes    []service.FieldChange
	IP         string
}

type auditData struct {
	Rows      []auditRow
	Query     url.Values
	NextURL   string
	FirstURL  string
	People    []option
	Kinds     []option
	Targets   []option
	CanExport bool
	ExportURL string
	Verified  *service.Verification
	Filtered  bool
}

var auditTargets = []string{"organization", "project", "folder", "member", "invitation", "api_key", "role", "user", "session"}

// auditKinds are the kinds of events the filter offers (action prefixes).
var auditKinds = []struct{ Value, Label string }{
	{"member.", "Members"}, {"invitation.", "Invitations"}, {"role.", "Roles"}, {"project.", "Projects"}, {"folder.", "Folders"},
	{"api_key.", "API keys"}, {"organization.", "Organization"}, {"webhook_endpoint.", "Webhooks"}, {"sso_connection.", "Single sign-on"},
	{"user.", "Accounts"}, {"session.", "Sessions"}, {"mfa.", "Second factors"},
}

func (h *Handler) registerAudit(mux *http.ServeMux) {
	h.handle(mux, "GET /audit", h.inOrg(h.auditPage))
	h.handle(mux, "GET /audit/verify", h.inOrg(h.auditVerify))
	h.handle(mux, "GET /audit/export.ndjson", h.inOrg(h.auditExport))
}

// auditFilter reads the page's filters; bad dates are field errors.
func auditFilter(r *http.Request) (gatehouse.AuditFilter, url.Values, *form) {
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
	return filter, keep, f
}

func (h *Handler) mayAudit(rc *reqCtx, p *page) bool {
	if !p.Can.Audit {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need audit log permission to read the audit log of " + rc.Org.Name + "."})
		return false
	}
	return true
}

func (h *Handler) auditPage(rc *reqCtx) {
	h.showAudit(rc, nil)
}

func (h *Handler) showAudit(rc *reqCtx, verified *service.Verification) {
	r := rc.r
	ctx := r.Context()
	p := rc.page("Audit log", "audit")
	if !h.mayAudit(rc, p) {
		return
	}
	filter, keep, f := auditFilter(r)
	d := auditData{Query: keep, Verified: verified, Filtered: len(keep) > 0}
	d.CanExport, _ = rc.Caller.Rights.Owner()
	d.ExportURL = "/audit/export.ndjson"
	if len(keep) > 0 {
		d.ExportURL += "?" + keep.Encode()
	}
	people, err := h.svc.Lookups.Reviewable(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	for _, m := range people {
		d.People = append(d.People, option{Value: m.UserID, Label: m.Name, Selected: m.UserID == keep.Get("actor")})
	}
	if a := keep.Get("actor"); a != "" && !slices.ContainsFunc(d.People, func(o option) bool { return o.Value == a }) {
		d.People = append(d.People, option{Value: a, Label: "A former member", Selected: true})
	}
	for _, k := range auditKinds {
		d.Kinds = append(d.Kinds, option{Value: k.Value, Label: k.Label, Selected: k.Value == keep.Get("action")})
	}
	if a := keep.Get("action"); a != "" && !slices.ContainsFunc(d.Kinds, func(o option) bool { return o.Value == a }) {
		d.Kinds = append(d.Kinds, option{Value: a, Label: a, Selected: true})
	}
	for _, t := range auditTargets {
		d.Targets = append(d.Targets, option{Value: t, Label: targetLabel(t), Selected: t == keep.Get("target_type")})
	}
	status := http.StatusOK
	if !f.HasErrors() {
		page, ok := rc.listPage(50)
		if !ok {
			return
		}
		filter.Page = page
		evs, err := h.svc.Audits.List(ctx, rc.Caller, filter)
		if err == nil {
			var stories []service.EventStory
			if stories, err = h.svc.Audits.Stories(ctx, rc.Caller, evs.Items); err == nil {
				for _, s := range stories {
					d.Rows = append(d.Rows, auditRowOf(s))
				}
			}
		}
		if err != nil {
			status = f.apply(err)
		} else {
			if evs.NextCursor != "" {
				nq := url.Values{}
				for k, v := range keep {
					nq[k] = v
				}
				nq.Set("cursor", evs.NextCursor)
				d.NextURL = "/audit?" + nq.Encode()
			}
			if page.After != nil {
				d.FirstURL = "/audit"
				if len(keep) > 0 {
					d.FirstURL += "?" + keep.Encode()
				}
			}
		}
	} else {
		f.Error = "Please correct the filters marked below."
		status = http.StatusBadRequest
	}
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, r, status, "audit", p)
}

func targetLabel(t string) string {
	l := strings.ReplaceAll(t, "_", " ")
	if t == "api_key" {
		l = "API key"
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// targetLink is where the dashboard shows an event's target, "" for none.
func targetLink(t service.TargetRef) string {
	if !t.Exists {
		return ""
	}
	id := url.PathEscape(t.ID)
	switch t.Type {
	case "project":
		return "/projects/" + id
	case "folder":
		return "/projects/" + url.PathEscape(t.ProjectID)
	case "member", "user":
		return "/access?member=" + url.QueryEscape(t.ID)
	case "role":
		if _, builtin := gatehouse.BuiltinRole(t.ID); builtin {
			return "/roles"
		}
		return "/roles/" + id
	case "api_key":
		return "/api-keys"
	case "invitation":
		return "/members/invitations?status="
	case "webhook_endpoint":
		return "/webhooks/" + id
	case "organization":
		return "/dashboard"
	}
	return ""
}

func auditRowOf(s service.EventStory) auditRow {
	e := s.Event
	return auditRow{Time: e.CreatedAt, Actor: s.Actor, ActorID: e.ActorID, Action: e.Action, Sentence: s.Sentence,
		TargetName: s.Target.Name, TargetLink: targetLink(s.Target), TargetKind: targetLabel(orDefault(e.TargetType, "event")),
		Gone: !s.Target.Exists, Changes: s.Changes, IP: e.IP}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// auditVerify recomputes the organization's chain and shows the result
// above the log.
func (h *Handler) auditVerify(rc *reqCtx) {
	p := rc.page("Audit log", "audit")
	if !h.mayAudit(rc, p) {
		return
	}
	v, err := h.svc.Audits.Verify(rc.r.Context(), rc.Caller, nil)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	h.showAudit(rc, v)
}

// auditEventJSON is an exported event, the same object as the API's
// GET /v1/audits/export.
type auditEventJSON struct {
	ID             string          `json:"id"`
	Time           time.Time       `json:"time"`
	OrganizationID string          `json:"organization_id"`
	Actor          auditActorJSON  `json:"actor"`
	Action         string          `json:"action"`
	Target         auditTargetJSON `json:"target"`
	Summary        json.RawMessage `json:"summary"`
	IP             string          `json:"ip"`
	UserAgent      string          `json:"user_agent"`
	RequestID      string          `json:"request_id"`
	Seq            int64           `json:"seq"`
	Hash           string          `json:"hash"`
	PrevHash       string          `json:"prev_hash"`
	KeyID          string          `json:"key_id"`
}

type auditActorJSON struct {
	Kind string  `json:"kind"`
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

type auditTargetJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// auditExport downloads the events matching the page's filters as NDJSON:
// owners only.
func (h *Handler) auditExport(rc *reqCtx) {
	p := rc.page("Audit log", "audit")
	if !h.mayAudit(rc, p) {
		return
	}
	if owner, _ := rc.Caller.Rights.Owner(); !owner {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Only an owner of " + rc.Org.Name + " may export the audit log."})
		return
	}
	filter, _, f := auditFilter(rc.r)
	if f.HasErrors() {
		h.failPage(rc.w, rc.r, rc, gatehouse.Invalid("The export's filters are not valid: "+strings.Join(mapValues(f.Errors), " ")))
		return
	}
	bw := bufio.NewWriterSize(rc.w, 32<<10)
	enc := json.NewEncoder(bw)
	started := false
	start := func() {
		if !started {
			started = true
			hd := rc.w.Header()
			hd.Set("Content-Type", "application/x-ndjson")
			hd.Set("Content-Disposition", `attachment; filename="audit-log.ndjson"`)
			hd.Set("Cache-Control", "no-store")
			rc.w.WriteHeader(http.StatusOK)
		}
	}
	err := h.svc.Audits.Export(rc.r.Context(), rc.Caller, filter, func(e *gatehouse.AuditEvent) error {
		start()
		var actorID *string
		if e.ActorID != "" {
			id := e.ActorID
			actorID = &id
		}
		return enc.Encode(auditEventJSON{ID: e.ID, Time: e.CreatedAt, OrganizationID: e.OrgID,
			Actor: auditActorJSON{Kind: e.ActorKind, ID: actorID, Name: e.ActorName}, Action: e.Action,
			Target: auditTargetJSON{Type: e.TargetType, ID: e.TargetID}, Summary: e.Summary, IP: e.IP, UserAgent: e.UserAgent,
			RequestID: e.RequestID, Seq: e.Seq, Hash: e.Hash, PrevHash: e.PrevHash, KeyID: e.KeyID})
	})
	if err != nil && !started {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	start()
	if err != nil {
		h.cfg.Log.ErrorContext(rc.r.Context(), "web: audit export failed", "err", err)
	}
	_ = bw.Flush()
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
