package compat

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// vidbeo is Vidbeo's /v2/invites dialect (seed 001).
type vidbeo struct {
	svc     *service.Services
	log     *slog.Logger
	baseURL string
}

func (v *vidbeo) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v2/invites", v.list)
	mux.HandleFunc("POST /v2/invites", v.create)
	mux.HandleFunc("DELETE /v2/invites/{id}", v.delete)
	// There is no PATCH: an invite's email goes out at once, so there is
	// nothing left to edit. Other methods get a 405 in the envelope.
	mux.HandleFunc("/v2/invites/{id}", v.methodNotAllowed("DELETE"))
	mux.HandleFunc("/v2/invites", v.methodNotAllowed("GET, POST"))
	// An empty id ("/v2/invites/") or deeper paths: a 404 in the envelope.
	mux.HandleFunc("/v2/invites/", func(w http.ResponseWriter, r *http.Request) {
		v.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "Invite not found."))
	})
}

// envelope is every Vidbeo response.
type envelope struct {
	Success bool          `json:"success"`
	Result  any           `json:"result"`
	Links   any           `json:"links"`
	Errors  []vidbeoError `json:"errors"`
}

type vidbeoError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type vidbeoInvite struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Email          string `json:"email"`
	Role           string `json:"role"`
	Authentication string `json:"authentication"`
	Status         string `json:"status"`
	CreatedBy      string `json:"created_by"`
	CreatedTime    string `json:"created_time"`
	UpdatedBy      string `json:"updated_by"`
	UpdatedTime    string `json:"updated_time"`
}

// vidbeoTime is the page's format: 2022-01-01T00:00:00.000Z.
func vidbeoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func toVidbeo(v *service.InvitationView) vidbeoInvite {
	return vidbeoInvite{ID: v.ID, Name: v.Name, Email: v.Email, Role: roleName(v), Authentication: v.Authentication,
		Status: v.CurrentStatus, CreatedBy: v.CreatedBy, CreatedTime: vidbeoTime(v.CreatedAt),
		UpdatedBy: v.UpdatedBy, UpdatedTime: vidbeoTime(v.UpdatedAt)}
}

func (v *vidbeo) ok(w http.ResponseWriter, status int, result, links any) {
	respond.JSON(w, status, envelope{Success: true, Result: result, Links: links, Errors: []vidbeoError{}})
}

// fail writes an error in the envelope with the status the error's code maps to.
func (v *vidbeo) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, e := respond.MakeProblem(err, "")
	if p.Status >= 500 {
		v.log.ErrorContext(r.Context(), "vidbeo request failed", "err", e)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	errs := []vidbeoError{{Code: p.Code, Message: p.Detail}}
	for _, f := range p.Errors {
		errs = append(errs, vidbeoError{Code: "invalid_field", Message: f.Field + " " + f.Message, Field: f.Field})
	}
	if id, ok := e.Extra["existing_id"].(string); ok {
		errs[0].Message += " (existing invite id " + id + ")"
	}
	respond.JSON(w, p.Status, envelope{Success: false, Result: nil, Links: nil, Errors: errs})
}

func (v *vidbeo) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		msg := "Method " + r.Method + " is not supported here."
		if r.Method == http.MethodPatch || r.Method == http.MethodPut {
			msg = "Invites cannot be edited: the email goes out when the invite is created. Delete it and invite again."
		}
		v.fail(w, r, &gatehouse.Error{Code: gatehouse.EMETHOD, Message: msg})
	}
}

func (v *vidbeo) list(w http.ResponseWriter, r *http.Request) {
	c, err := caller(r, v.svc, credential(r, false), "")
	if err != nil {
		v.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	page := gatehouse.PageRequest{Limit: gatehouse.DefaultPageLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > gatehouse.MaxPageLimit {
			v.fail(w, r, gatehouse.Invalid("Invalid limit.", gatehouse.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"}))
			return
		}
		page.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		if page.After, err = gatehouse.DecodeCursor(s); err != nil {
			v.fail(w, r, err)
			return
		}
	}
	res, err := v.svc.Invitations.ListForDialect(r.Context(), c, service.DialectList{Page: page})
	if err != nil {
		v.fail(w, r, err)
		return
	}
	out := make([]vidbeoInvite, 0, len(res.Items))
	for _, it := range res.Items {
		out = append(out, toVidbeo(it))
	}
	links := map[string]string{}
	if res.More && len(res.Items) > 0 {
		last := res.Items[len(res.Items)-1]
		next := url.Values{"cursor": {gatehouse.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()}, "limit": {strconv.Itoa(page.Limit)}}
		// An absolute URL, as the page promises, on the public base URL:
		// never the request's Host (client-chosen) or scheme (wrong behind
		// a TLS proxy).
		links["next"] = v.baseURL + "/v2/invites?" + next.Encode()
	}
	v.ok(w, http.StatusOK, out, links)
}

func (v *vidbeo) create(w http.ResponseWriter, r *http.Request) {
	c, err := caller(r, v.svc, credential(r, false), "")
	if err != nil {
		v.fail(w, r, err)
		return
	}
	var in struct {
		Name           *string `json:"name"`
		Email          *string `json:"email"`
		Role           *string `json:"role"`
		Authentication *string `json:"authentication"`
	}
	if err := respond.Decode(w, r, &in); err != nil {
		v.fail(w, r, err)
		return
	}
	var ferrs []gatehouse.FieldError
	required := func(field string, p *string) string {
		if p == nil || strings.TrimSpace(*p) == "" {
			ferrs = append(ferrs, gatehouse.FieldError{Field: field, Message: "is required"})
			return ""
		}
		return strings.TrimSpace(*p)
	}
	name, email, role, auth := required("name", in.Name), required("email", in.Email), required("role", in.Role), required("authentication", in.Authentication)
	switch role {
	case "", gatehouse.RoleViewer, gatehouse.RoleUploader, gatehouse.RoleAdmin, gatehouse.RoleOwner:
	default:
		ferrs = append(ferrs, gatehouse.FieldError{Field: "role", Message: "must be viewer, uploader, admin or owner"})
	}
	if len(ferrs) > 0 {
		v.fail(w, r, gatehouse.Invalid("You must provide the user's name, email, authentication and role.", ferrs...))
		return
	}
	inv, err := v.svc.Invitations.Create(r.Context(), c, service.InviteInput{Email: email, Name: name, Role: role, Authentication: auth})
	if err != nil {
		v.fail(w, r, err)
		return
	}
	v.ok(w, http.StatusCreated, toVidbeo(inv), nil)
}

func (v *vidbeo) delete(w http.ResponseWriter, r *http.Request) {
	c, err := caller(r, v.svc, credential(r, false), "")
	if err != nil {
		v.fail(w, r, err)
		return
	}
	if err := v.svc.Invitations.Dismiss(r.Context(), c, r.PathValue("id")); err != nil {
		v.fail(w, r, err)
		return
	}
	v.ok(w, http.StatusOK, json.RawMessage(`{}`), nil)
}
