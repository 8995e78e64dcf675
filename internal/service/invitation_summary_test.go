package service

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestInvitationCreatedSummary: the "invitation.created" summary encodes
// exactly as the map it replaced, so events read the same before and after.
func TestInvitationCreatedSummary(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 2, 3, 456000, time.UTC)
	for _, grants := range [][]gatehouse.Grant{{}, nil, {{EntityType: "projects", EntityID: "p1", Name: "folders", Action: "read"}}} {
		asMap, err := json.Marshal(map[string]any{"email": "a+<b>@example.com", "role_id": "r1", "permissions": grants,
			"authentication": "password", "expires_at": at})
		if err != nil {
			t.Fatal(err)
		}
		asStruct, err := json.Marshal(invitationCreated{Authentication: "password", Email: "a+<b>@example.com", ExpiresAt: at,
			Permissions: grants, RoleID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		if string(asMap) != string(asStruct) {
			t.Errorf("struct %s\n   map %s", asStruct, asMap)
		}
	}
}
