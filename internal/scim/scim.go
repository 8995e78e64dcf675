// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) under /scim/v2: the
// Users and Groups an organization's identity provider (Entra ID, Okta…)
// provisions with a SCIM token, and the discovery documents describing
// them. Handlers decode SCIM's JSON, call internal/service and write SCIM's
// shapes, errors included; the rules live in the service.
package scim

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Prefix is where SCIM is served.
const Prefix = "/scim/v2"

// ContentType is SCIM's media type (RFC 7644 §3.1).
const ContentType = "application/scim+json"

// Schema and message URNs.
const (
	SchemaUser        = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup       = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaList        = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaError       = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaPatchOp     = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaSPConfig    = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResType     = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema      = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	maxBody           = 1 << 20
	defaultCount      = 100
	maxFilterBytes    = 2000
	maxPatchOps       = 100
	maxMembersChanged = 1000
)

// Handler serves /scim/v2.
type Handler struct {
	svc     *service.Services
	log     *slog.Logger
	baseURL string // the public URL, for meta.location
}

// Register adds SCIM's routes to mux. They are not API routes of the
// OpenAPI document: SCIM describes itself (Schemas, ResourceTypes).
func Register(mux *http.ServeMux, svc *service.Services, log *slog.Logger, baseURL string) {
	h := &Handler{svc: svc, log: log, baseURL: strings.TrimRight(baseURL, "/")}
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller)) {
		mux.HandleFunc(pattern, h.authed(fn))
	}
	route("GET "+Prefix+"/ServiceProviderConfig", h.serviceProviderConfig)
	route("GET "+Prefix+"/ResourceTypes", h.resourceTypes)
	route("GET "+Prefix+"/ResourceTypes/{id}", h.resourceType)
	route("GET "+Prefix+"/Schemas", h.schemas)
	route("GET "+Prefix+"/Schemas/{id}", h.schema)
	route("GET "+Prefix+"/Users", h.listUsers)
	route("POST "+Prefix+"/Users", h.createUser)
	route("GET "+Prefix+"/Users/{id}", h.getUser)
	route("PUT "+Prefix+"/Users/{id}", h.replaceUser)
	route("PATCH "+Prefix+"/Users/{id}", h.patchUser)
	route("DELETE "+Prefix+"/Users/{id}", h.deleteUser)
	route("GET "+Prefix+"/Groups", h.listGroups)
	route("POST "+Prefix+"/Groups", h.createGroup)
	route("GET "+Prefix+"/Groups/{id}", h.getGroup)
	route("PUT "+Prefix+"/Groups/{id}", h.replaceGroup)
	route("PATCH "+Prefix+"/Groups/{id}", h.patchGroup)
	route("DELETE "+Prefix+"/Groups/{id}", h.deleteGroup)
	// Anything else under the prefix: SCIM's 404, never the API's problem.
	mux.HandleFunc(Prefix+"/", h.authed(func(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
		h.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such SCIM endpoint (or method %s is not allowed here).", r.Method))
	}))
}

// authed resolves the bearer SCIM token: every request is scoped to its
// organization.
func (h *Handler) authed(fn func(w http.ResponseWriter, r *http.Request, sc *service.SCIMCaller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM"`)
			h.fail(w, r, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "Send the organization's SCIM token: Authorization: Bearer <token>."})
			return
		}
		sc, err := h.svc.SCIM.Authenticate(r.Context(), middleware.Actor(r, nil), strings.TrimSpace(token))
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM", error="invalid_token"`)
			}
			h.fail(w, r, err)
			return
		}
		fn(w, r, sc)
	}
}

// scimTypes are the scimType values of RFC 7644 §3.12 a service error's
// Reason may carry.
var scimTypes = map[string]bool{"invalidFilter": true, "tooMany": true, "uniqueness": true, "mutability": true,
	"invalidSyntax": true, "invalidPath": true, "noTarget": true, "invalidValue": true, "invalidVers": true, "sensitive": true}

// Error is SCIM's error body (RFC 7644 §3.12).
type Error struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// fail writes err as a SCIM error: the status from the one error model,
// scimType from its reason (invalidValue for other invalid input,
// uniqueness for conflicts).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := gatehouse.AsError(err)
	status := respond.Status(e.Code)
	body := Error{Schemas: []string{SchemaError}, Status: strconv.Itoa(status), Detail: e.Message}
	switch {
	case scimTypes[e.Reason]:
		body.ScimType = e.Reason
	case e.Code == gatehouse.EINVALID:
		body.ScimType = "invalidValue"
	case e.Code == gatehouse.ECONFLICT && e.Reason != "last_owner":
		body.ScimType = "uniqueness"
	}
	if len(e.Fields) > 0 {
		parts := make([]string, 0, len(e.Fields))
		for _, f := range e.Fields {
			parts = append(parts, f.Field+" "+f.Message)
		}
		body.Detail = strings.TrimSuffix(body.Detail, ".") + ": " + strings.Join(parts, "; ") + "."
	}
	if e.Code == gatehouse.EINTERNAL {
		h.log.ErrorContext(r.Context(), "scim: internal error", "err", err, "path_pattern", r.Pattern)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	} else if e.Code == gatehouse.EUNAVAILABLE {
		w.Header().Set("Retry-After", "5")
	}
	respond.WriteJSON(w, status, ContentType, body)
}

// write answers v as SCIM JSON.
func write(w http.ResponseWriter, status int, v any) {
	respond.WriteJSON(w, status, ContentType, v)
}

// decode reads a JSON object body of application/scim+json or
// application/json (or no type), at most maxBody bytes.
func decode(r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != ContentType && mt != "application/json") {
			return nil, &gatehouse.Error{Code: gatehouse.EUNSUPPORTED, Message: "Send the body as application/scim+json (or application/json)."}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The body may be at most %d bytes.", maxBody)
		}
		return nil, syntaxError("The body could not be read.")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, syntaxError("The body must be a JSON object.")
	}
	return m, nil
}

func syntaxError(msg string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalidSyntax", Message: msg}
}

func pathError(msg string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalidPath", Message: msg}
}

func valueError(msg string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalidValue", Message: msg}
}

// attr reads an attribute of a SCIM object by name, case-insensitively
// (RFC 7643 §2.1: attribute names are case-insensitive).
func attr(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// location is the absolute URL of a resource.
func (h *Handler) location(kind, id string) string {
	return h.baseURL + Prefix + "/" + kind + "/" + id
}

// paging reads startIndex (1-based, default 1) and count (default 100).
func paging(r *http.Request) (start, count int, err error) {
	start, count = 1, defaultCount
	q := r.URL.Query()
	if v := q.Get("startIndex"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return 0, 0, valueError("startIndex must be a whole number.")
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return 0, 0, valueError("count must be a whole number.")
		}
		count = min(max(n, 0), service.MaxSCIMPage)
	}
	return start, count, nil
}

// ListResponse is SCIM's list body.
type ListResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}
