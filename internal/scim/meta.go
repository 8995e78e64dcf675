package scim

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The discovery documents (RFC 7644 §4): what this service provider
// supports, its resource types and their schemas.

func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	write(w, http.StatusOK, map[string]any{
		"schemas":        []string{SchemaSPConfig},
		"patch":          map[string]any{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": service.MaxSCIMPage},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": false},
		"etag":           map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "SCIM token", "primary": true,
			"description": "The organization's SCIM token (Gatehouse dashboard, Settings → SCIM), sent as Authorization: Bearer <token>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.baseURL + Prefix + "/ServiceProviderConfig"},
	})
}

func (h *Handler) resourceTypeDocs() []map[string]any {
	return []map[string]any{
		{"schemas": []string{SchemaResType}, "id": "User", "name": "User", "endpoint": "/Users", "description": "A member of the organization",
			"schema": SchemaUser, "schemaExtensions": []map[string]any{{"schema": SchemaEnterprise, "required": false}},
			"meta": map[string]any{"resourceType": "ResourceType", "location": h.baseURL + Prefix + "/ResourceTypes/User"}},
		{"schemas": []string{SchemaResType}, "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "A role of the organization",
			"schema": SchemaGroup, "meta": map[string]any{"resourceType": "ResourceType", "location": h.baseURL + Prefix + "/ResourceTypes/Group"}},
	}
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	docs := h.resourceTypeDocs()
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = d
	}
	write(w, http.StatusOK, ListResponse{Schemas: []string{SchemaList}, TotalResults: len(res), StartIndex: 1, ItemsPerPage: len(res), Resources: res})
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	for _, d := range h.resourceTypeDocs() {
		if d["id"] == r.PathValue("id") {
			write(w, http.StatusOK, d)
			return
		}
	}
	h.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such resource type."))
}

func attribute(name, typ string, required bool, mutability, uniqueness string, caseExact bool, sub ...map[string]any) map[string]any {
	a := map[string]any{"name": name, "type": typ, "multiValued": false, "required": required, "caseExact": caseExact,
		"mutability": mutability, "returned": "default", "uniqueness": uniqueness, "description": name}
	if len(sub) > 0 {
		a["subAttributes"] = sub
	}
	return a
}

func multi(a map[string]any) map[string]any { a["multiValued"] = true; return a }

func (h *Handler) schemaDocs() []map[string]any {
	user := map[string]any{
		"schemas": []string{SchemaSchema}, "id": SchemaUser, "name": "User", "description": "A member of the organization",
		"attributes": []map[string]any{
			attribute("userName", "string", true, "readWrite", "server", false),
			attribute("externalId", "string", false, "readWrite", "none", true),
			attribute("displayName", "string", false, "readWrite", "none", false),
			attribute("name", "complex", false, "readWrite", "none", false,
				attribute("givenName", "string", false, "readWrite", "none", false),
				attribute("familyName", "string", false, "readWrite", "none", false),
				attribute("formatted", "string", false, "readOnly", "none", false)),
			multi(attribute("emails", "complex", false, "readWrite", "none", false,
				attribute("value", "string", false, "readWrite", "none", false),
				attribute("type", "string", false, "readWrite", "none", false),
				attribute("primary", "boolean", false, "readWrite", "none", false))),
			attribute("active", "boolean", false, "readWrite", "none", false),
			multi(attribute("groups", "complex", false, "readOnly", "none", false,
				attribute("value", "string", false, "readOnly", "none", false),
				attribute("display", "string", false, "readOnly", "none", false))),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": h.baseURL + Prefix + "/Schemas/" + SchemaUser},
	}
	group := map[string]any{
		"schemas": []string{SchemaSchema}, "id": SchemaGroup, "name": "Group", "description": "A role of the organization; its members hold it",
		"attributes": []map[string]any{
			attribute("displayName", "string", true, "readOnly", "server", false),
			multi(attribute("members", "complex", false, "readWrite", "none", false,
				attribute("value", "string", false, "immutable", "none", true),
				attribute("display", "string", false, "readOnly", "none", false))),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": h.baseURL + Prefix + "/Schemas/" + SchemaGroup},
	}
	return []map[string]any{user, group}
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	docs := h.schemaDocs()
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = d
	}
	write(w, http.StatusOK, ListResponse{Schemas: []string{SchemaList}, TotalResults: len(res), StartIndex: 1, ItemsPerPage: len(res), Resources: res})
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request, _ *service.SCIMCaller) {
	for _, d := range h.schemaDocs() {
		if d["id"] == r.PathValue("id") {
			write(w, http.StatusOK, d)
			return
		}
	}
	h.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such schema."))
}
