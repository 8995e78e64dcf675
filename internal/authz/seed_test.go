package authz_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The two request bodies of the "Send invitation" page (seed 000): the live
// example, and the commented "custom" example with its comment markers
// removed. Both must parse as they are.
const (
	seedOrg      = "ab262a90-3e1d-4a71-ac52-b0c76d7af467"
	seedProject  = "d932c659-7ae8-4c84-aad5-8e23b275947d"
	seedLiveBody = `{
"email": "rakajui@gmail.com",
"permissions" : [
{
"entity_id": "d932c659-7ae8-4c84-aad5-8e23b275947d",
"entity_type": "projects",
"name": "full-access",
"action": "write+read+delete",
"permission": []
},
{
"entity_id": "ab262a90-3e1d-4a71-ac52-b0c76d7af467",
"entity_type": "organizations",
"name": "billing",
"action": "",
"permission": []
},
{
"entity_id": "ab262a90-3e1d-4a71-ac52-b0c76d7af467",
"entity_type": "organizations",
"name": "api",
"action": "write+read",
"permission": []
}
]
}`
	seedCustomOrg     = "0a4a7720-c50d-475d-b4af-4a58f3847d7d"
	seedCustomProject = "f32a0116-fe11-454c-8e6a-5ff4101882e5"
	seedCustomFolder  = "6e4f9469-fbbe-48c7-adb4-9f67ea3bac1a"
	seedCustomBody    = `{
"email": "rakajui@gmail.com",
"permissions": [
{
"entity_id": "f32a0116-fe11-454c-8e6a-5ff4101882e5",
"entity_type": "projects",
"name": "custom",
"action": "",
"permission": [
{
"action": "custom",
"folders": [
{
"action": "write+read+delete",
"folder_id": "6e4f9469-fbbe-48c7-adb4-9f67ea3bac1a"
}
],
"name": "folders"
},
{
"action": "write+read+delete",
"name": "livestreams"
},
{
"action": "write+read+delete",
"name": "analytics"
},
{
"action": "write+read+delete",
"name": "advertisements"
},
{
"action": "write+read",
"name": "settings"
}
]
},
{
"entity_id": "0a4a7720-c50d-475d-b4af-4a58f3847d7d",
"entity_type": "organizations",
"name": "billing",
"action": "write+read",
"permission": []
},
{
"entity_id": "0a4a7720-c50d-475d-b4af-4a58f3847d7d",
"entity_type": "organizations",
"name": "api",
"action": "write+read",
"permission": []
}
]
}`
)

// decodeBody decodes an invitation body strictly, as the HTTP layer does.
func decodeBody(t *testing.T, body string) []gatehouse.Grant {
	t.Helper()
	var req struct {
		Email       string            `json:"email"`
		Permissions []gatehouse.Grant `json:"permissions"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return req.Permissions
}

// grantsJSON decodes a JSON array of grants, for compact test tables.
func grantsJSON(t testing.TB, s string) []gatehouse.Grant {
	t.Helper()
	var g []gatehouse.Grant
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return g
}
