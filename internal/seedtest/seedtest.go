// Package seedtest holds the seed documents' examples, verbatim, for tests.
package seedtest

import "strings"

// The two request bodies of the "Send invitation" page (seed 000): the live
// example, and the commented "custom" example with its comment markers
// removed (in the live example's braces, with its email). Both parse as they
// are; their ids are another installation's, to be swapped with WithIDs for
// real ones.
const (
	Email       = "rakajui@gmail.com"
	LiveOrg     = "ab262a90-3e1d-4a71-ac52-b0c76d7af467"
	LiveProject = "d932c659-7ae8-4c84-aad5-8e23b275947d"
	LiveBody    = `{
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

	CustomOrg     = "0a4a7720-c50d-475d-b4af-4a58f3847d7d"
	CustomProject = "f32a0116-fe11-454c-8e6a-5ff4101882e5"
	CustomFolder  = "6e4f9469-fbbe-48c7-adb4-9f67ea3bac1a"
	CustomBody    = `{
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

// WithIDs returns body with the seed's ids swapped for real ones: each key
// of ids (LiveOrg, CustomFolder, ..., or Email) by its value.
func WithIDs(body string, ids map[string]string) string {
	pairs := make([]string, 0, 2*len(ids))
	for seed, id := range ids {
		pairs = append(pairs, seed, id)
	}
	return strings.NewReplacer(pairs...).Replace(body)
}
