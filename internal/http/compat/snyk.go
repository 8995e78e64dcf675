package compat

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// snyk is Snyk's REST org invites dialect (seed 003,
// reference/snyk-invites-openapi.json): JSON:API bodies and errors, a
// required version parameter, cursor pages.
type snyk struct {
	svc *service.Services
	log *slog.Logger
}

const jsonAPI = "application/vnd.api+json"

// versionRe is the documented pattern of the version parameter.
var versionRe = regexp.MustCompile(`^(wip|work-in-progress|experimental|beta|((([0-9]{4})-([0-1][0-9]))-((3[01])|(0[1-9])|([12][0-9]))(~(wip|work-in-progress|experimental|beta))?))$`)

// Endpoint versions, oldest first: the served version is the newest one not
// after the requested date.
var (
	listVersions   = []string{"2022-11-14"}
	createVersions = []string{"2022-06-01", "2023-04-28", "2024-06-21"}
	deleteVersions = []string{"2022-11-14"}
)

func (s *snyk) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /rest/orgs/{org_id}/invites", s.with(listVersions, s.list))
	mux.HandleFunc("POST /rest/orgs/{org_id}/invites", s.with(createVersions, s.create))
	mux.HandleFunc("DELETE /rest/orgs/{org_id}/invites/{invite_id}", s.with(deleteVersions, s.delete))
	// An empty invite id, or deeper paths: a JSON:API 404.
	mux.HandleFunc("/rest/orgs/{org_id}/invites/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "Invite not found."))
	})
}

type jsonAPIVersion struct {
	Version string `json:"version"`
}

var jsonAPI10 = jsonAPIVersion{Version: "1.0"}

type snykError struct {
	Status string         `json:"status"`
	Detail string         `json:"detail"`
	Title  string         `json:"title,omitempty"`
	Code   string         `json:"code,omitempty"`
	Source *snykSource    `json:"source,omitempty"`
	Meta   map[string]any `json:"meta,omitempty"`
}

type snykSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// snykStatus folds statuses the spec does not declare into ones it does
// (a rate limit keeps its Retry-After header).
func snykStatus(status int) int {
	switch status {
	case http.StatusConflict, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge, http.StatusGone, http.StatusMethodNotAllowed,
		http.StatusTooManyRequests:
		return http.StatusBadRequest
	}
	return status
}

// fail writes a JSON:API error document.
func (s *snyk) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, e := respond.MakeProblem(err, "")
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "snyk request failed", "err", e)
	}
	status := snykStatus(p.Status)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	errs := []snykError{}
	if len(p.Errors) == 0 {
		errs = append(errs, snykError{Status: strconv.Itoa(status), Detail: p.Detail, Title: http.StatusText(status), Code: p.Code})
	}
	for _, f := range p.Errors {
		src := &snykSource{Pointer: "/" + strings.ReplaceAll(f.Field, ".", "/")}
		if isQueryParam(f.Field) {
			src = &snykSource{Parameter: f.Field}
		}
		errs = append(errs, snykError{Status: strconv.Itoa(status), Detail: p.Detail + " " + f.Field + " " + f.Message + ".",
			Title: http.StatusText(status), Code: p.Code, Source: src})
	}
	if id, ok := e.Extra["existing_id"].(string); ok {
		errs[0].Meta = map[string]any{"existing_id": id}
	}
	respond.WriteJSON(w, status, jsonAPI, map[string]any{"jsonapi": jsonAPI10, "errors": errs})
}

func isQueryParam(f string) bool {
	switch f {
	case "version", "limit", "starting_after", "ending_before", "org_id", "invite_id":
		return true
	}
	return false
}

// with checks the version parameter, sets the version and request-id
// headers every response carries, then runs h.
func (s *snyk) with(versions []string, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("snyk-request-id", uuid.NewString())
		v := r.URL.Query().Get("version")
		if v == "" || !versionRe.MatchString(v) {
			// Not echoed: the header's schema is the same pattern.
			s.fail(w, r, gatehouse.Invalid("The version parameter is required and must be a date like 2024-06-21, optionally with ~beta, ~experimental or ~wip.",
				gatehouse.FieldError{Field: "version", Message: "is missing or malformed"}))
			return
		}
		hdr.Set("snyk-version-requested", v)
		date, _, _ := strings.Cut(v, "~")
		if !strings.ContainsRune(date, '-') {
			date = "9999-12-31" // a bare stage word asks for the newest
		}
		served := ""
		for _, ev := range versions {
			if ev <= date {
				served = ev
			}
		}
		if served == "" {
			s.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No version of this endpoint exists at or before %s; the first is %s.", v, versions[0]))
			return
		}
		hdr.Set("snyk-version-served", served)
		hdr.Set("snyk-version-lifecycle-stage", "ga")
		h(w, r)
	}
}

// caller authenticates ("token <key>" or "Bearer <key>") in the path's org.
func (s *snyk) caller(r *http.Request) (*service.Caller, error) {
	orgID := r.PathValue("org_id")
	if !authz.IsUUID(orgID) {
		return nil, gatehouse.Invalid("org_id must be a UUID.", gatehouse.FieldError{Field: "org_id", Message: "must be a UUID"})
	}
	c, err := caller(r, s.svc, credential(r, true), orgID)
	if err != nil {
		return nil, err
	}
	return c, nil
}

type snykLinkData struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type snykRelationship struct {
	Data  snykLinkData      `json:"data"`
	Links map[string]string `json:"links"`
}

type snykInvite struct {
	Type          string                      `json:"type"`
	ID            string                      `json:"id"`
	Attributes    snykInviteAttributes        `json:"attributes"`
	Relationships map[string]snykRelationship `json:"relationships"`
}

type snykInviteAttributes struct {
	Email    string `json:"email"`
	IsActive bool   `json:"is_active"`
	Role     string `json:"role"`
}

func orgRelationship(orgID string) map[string]snykRelationship {
	return map[string]snykRelationship{"org": {Data: snykLinkData{ID: orgID, Type: "org"}, Links: map[string]string{"related": "/rest/orgs/" + orgID}}}
}

func (s *snyk) list(w http.ResponseWriter, r *http.Request) {
	c, err := s.caller(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	page := gatehouse.PageRequest{Limit: 10}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 100 || n%10 != 0 {
			s.fail(w, r, gatehouse.Invalid("Invalid limit.", gatehouse.FieldError{Field: "limit", Message: "must be 10, 20, … or 100"}))
			return
		}
		page.Limit = n
	}
	after, before := q.Get("starting_after"), q.Get("ending_before")
	if after != "" && before != "" {
		s.fail(w, r, gatehouse.Invalid("Use starting_after or ending_before, not both.", gatehouse.FieldError{Field: "ending_before", Message: "cannot be combined with starting_after"}))
		return
	}
	var l = service.DialectList{PendingOnly: true, Page: page}
	for _, p := range []struct {
		name, value string
		dst         **gatehouse.Cursor
	}{{"starting_after", after, &l.Page.After}, {"ending_before", before, &l.Before}} {
		if p.value == "" {
			continue
		}
		cur, err := gatehouse.DecodeCursor(p.value)
		if err != nil {
			s.fail(w, r, gatehouse.Invalid("Invalid cursor.", gatehouse.FieldError{Field: p.name, Message: "is not a cursor from this list"}))
			return
		}
		*p.dst = cur
	}
	res, err := s.svc.Invitations.ListForDialect(r.Context(), c, l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]snykInvite, 0, len(res.Items))
	for _, it := range res.Items {
		data = append(data, snykInvite{Type: "org_invitation", ID: it.ID, Relationships: orgRelationship(c.OrgID),
			Attributes: snykInviteAttributes{Email: it.Email, IsActive: it.CurrentStatus == gatehouse.InvitationPending, Role: roleName(it)}})
	}
	base := "/rest/orgs/" + c.OrgID + "/invites"
	link := func(extra url.Values) string {
		v := url.Values{"version": {q.Get("version")}, "limit": {strconv.Itoa(page.Limit)}}
		for k, vs := range extra {
			v[k] = vs
		}
		return base + "?" + v.Encode()
	}
	links := map[string]string{"self": base + "?" + r.URL.RawQuery}
	if len(res.Items) > 0 {
		first, last := res.Items[0], res.Items[len(res.Items)-1]
		firstCur := gatehouse.Cursor{CreatedAt: first.CreatedAt, ID: first.ID}.Encode()
		lastCur := gatehouse.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
		// Going forward, more rows mean a next page; having come from a
		// cursor means a previous one. Backwards, the other way round.
		if (l.Before == nil && res.More) || l.Before != nil {
			links["next"] = link(url.Values{"starting_after": {lastCur}})
		}
		if (l.Before != nil && res.More) || l.Page.After != nil {
			links["prev"] = link(url.Values{"ending_before": {firstCur}})
		}
	}
	respond.WriteJSON(w, http.StatusOK, jsonAPI, map[string]any{"jsonapi": jsonAPI10, "data": data, "links": links})
}

func (s *snyk) create(w http.ResponseWriter, r *http.Request) {
	c, err := s.caller(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Data *struct {
			Type       string `json:"type"`
			Attributes *struct {
				Email *string `json:"email"`
				Role  *string `json:"role"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := respond.Decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var ferrs []gatehouse.FieldError
	switch {
	case in.Data == nil:
		ferrs = append(ferrs, gatehouse.FieldError{Field: "data", Message: "is required"})
	default:
		if in.Data.Type != "org_invitation" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "data.type", Message: `must be "org_invitation"`})
		}
		a := in.Data.Attributes
		if a == nil {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "data.attributes", Message: "is required"})
			break
		}
		if a.Email == nil || *a.Email == "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "data.attributes.email", Message: "is required"})
		}
		if a.Role == nil || !authz.IsUUID(*a.Role) {
			ferrs = append(ferrs, gatehouse.FieldError{Field: "data.attributes.role", Message: "must be a role's UUID (see GET /v1/roles)"})
		}
	}
	if len(ferrs) > 0 {
		s.fail(w, r, gatehouse.Invalid("Invalid invitation.", ferrs...))
		return
	}
	a := in.Data.Attributes
	inv, err := s.svc.Invitations.Create(r.Context(), c, service.InviteInput{Email: *a.Email, Role: *a.Role})
	if err != nil {
		var e *gatehouse.Error
		if errors.As(err, &e) {
			for i, f := range e.Fields {
				if f.Field == "role" || f.Field == "email" {
					e.Fields[i].Field = "data.attributes." + f.Field
				}
			}
		}
		s.fail(w, r, err)
		return
	}
	self := "/rest/orgs/" + c.OrgID + "/invites/" + inv.ID
	w.Header().Set("Location", self)
	body := map[string]any{"jsonapi": jsonAPI10, "links": map[string]string{"self": self},
		"data": snykInvite{Type: "org_invitation", ID: inv.ID, Relationships: orgRelationship(c.OrgID),
			Attributes: snykInviteAttributes{Email: inv.Email, IsActive: inv.CurrentStatus == gatehouse.InvitationPending, Role: inv.RoleID}}}
	respond.WriteJSON(w, http.StatusCreated, jsonAPI, body)
}

func (s *snyk) delete(w http.ResponseWriter, r *http.Request) {
	c, err := s.caller(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("invite_id")
	if !authz.IsUUID(id) {
		s.fail(w, r, gatehouse.Invalid("invite_id must be a UUID.", gatehouse.FieldError{Field: "invite_id", Message: "must be a UUID"}))
		return
	}
	if err := s.svc.Invitations.Revoke(r.Context(), c, id); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			// Only pending invitations exist in this dialect.
			err = gatehouse.Errorf(gatehouse.ENOTFOUND, "No pending invitation with this id.")
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
