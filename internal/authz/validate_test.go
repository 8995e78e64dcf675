package authz_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/seedtest"
)

const (
	vOrg = "11111111-1111-4111-8111-111111111111"
	vP1  = "22222222-2222-4222-8222-222222222222"
	vP2  = "33333333-3333-4333-8333-333333333333"
	vF1  = "44444444-4444-4444-8444-444444444444"
	vF2  = "55555555-5555-4555-8555-555555555555"
)

// r replaces $O, $P1, $P2, $F1, $F2 in a JSON template.
func r(s string) string {
	return strings.NewReplacer("$O", vOrg, "$P1", vP1, "$P2", vP2, "$F1", vF1, "$F2", vF2).Replace(s)
}

// fieldsOf returns the field errors of a validation error, failing on any
// other kind of error.
func fieldsOf(t *testing.T, err error) []gatehouse.FieldError {
	t.Helper()
	var e *gatehouse.Error
	if !errors.As(err, &e) || e.Code != gatehouse.EINVALID || e.Message != "Invalid permissions." {
		t.Fatalf("err = %#v, want an invalid-permissions error", err)
	}
	return e.Fields
}

func TestValidateSeed(t *testing.T) {
	t.Run("OKLive", func(t *testing.T) {
		refs, err := authz.Validate(seedtest.LiveOrg, decodeBody(t, seedtest.LiveBody), "permissions")
		if err != nil {
			t.Fatal(err)
		}
		want := []authz.ProjectRef{{ID: seedtest.LiveProject, Paths: []string{"permissions[0].entity_id"}}}
		if len(refs.Projects) != 1 || refs.Projects[0].ID != want[0].ID || !slices.Equal(refs.Projects[0].Paths, want[0].Paths) || len(refs.Folders) != 0 {
			t.Errorf("refs = %+v, want projects %+v and no folders", refs, want)
		}
	})
	t.Run("OKCustom", func(t *testing.T) {
		refs, err := authz.Validate(seedtest.CustomOrg, decodeBody(t, seedtest.CustomBody), "permissions")
		if err != nil {
			t.Fatal(err)
		}
		if got := refs.ProjectIDs(); !slices.Equal(got, []string{seedtest.CustomProject}) {
			t.Errorf("ProjectIDs = %v", got)
		}
		if got := refs.FolderIDs(); !slices.Equal(got, []string{seedtest.CustomFolder}) {
			t.Errorf("FolderIDs = %v", got)
		}
		wantUse := authz.FolderUse{Path: "permissions[0].permission[0].folders[0].folder_id", ProjectID: seedtest.CustomProject}
		if u := refs.Folders[0].Uses; len(u) != 1 || u[0] != wantUse {
			t.Errorf("folder uses = %+v, want %+v", u, wantUse)
		}
	})
	t.Run("ErrOtherOrganization", func(t *testing.T) {
		_, err := authz.Validate(seedtest.LiveOrg, decodeBody(t, seedtest.CustomBody), "permissions")
		want := []gatehouse.FieldError{
			{Field: "permissions[1].entity_id", Message: "must be this organization's id"},
			{Field: "permissions[2].entity_id", Message: "must be this organization's id"},
		}
		if got := fieldsOf(t, err); !slices.Equal(got, want) {
			t.Errorf("fields = %+v\nwant %+v", got, want)
		}
	})
}

func TestValidate(t *testing.T) {
	ok := []struct {
		name, grants string
	}{
		{"Empty", `[]`},
		{"Owner", `[{"entity_type":"organizations","entity_id":"$O","name":"owner","action":"","permission":[]}]`},
		{"OwnerFullAction", `[{"entity_type":"organizations","entity_id":"$O","name":"owner","action":"delete+write+read"}]`},
		{"EveryOrgArea", `[
			{"entity_type":"organizations","entity_id":"$O","name":"billing","action":"read"},
			{"entity_type":"organizations","entity_id":"$O","name":"api","action":"write+read"},
			{"entity_type":"organizations","entity_id":"$O","name":"members","action":""},
			{"entity_type":"organizations","entity_id":"$O","name":"settings","action":"delete"},
			{"entity_type":"organizations","entity_id":"$O","name":"audit","action":"read+delete"}]`},
		{"StarFullAccess", `[{"entity_type":"projects","entity_id":"*","name":"full-access","action":""}]`},
		{"CustomEveryArea", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[
			{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":""},{"folder_id":"$F2","action":"read"}]},
			{"name":"livestreams","action":""},{"name":"analytics","action":"read"},
			{"name":"advertisements","action":"write"},{"name":"settings","action":"read+write+delete"}]}]`},
		{"SameProjectTwice", `[
			{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":"read"},
			{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":""}]}]}]`},
	}
	for _, tc := range ok {
		t.Run("OK"+tc.name, func(t *testing.T) {
			if _, err := authz.Validate(vOrg, grantsJSON(t, r(tc.grants)), "permissions"); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}

	// fe is a local copy of gatehouse.FieldError so the tables can stay
	// positional (vet flags unkeyed literals of imported types only).
	type fe struct{ Field, Message string }
	conv := func(in []fe) []gatehouse.FieldError {
		out := make([]gatehouse.FieldError, len(in))
		for i, f := range in {
			out[i] = gatehouse.FieldError(f)
		}
		return out
	}
	bad := []struct {
		name, grants string
		want         []fe
	}{
		{"ErrEntityType", `[{"entity_type":"organization","entity_id":"$O","name":"owner","action":""}]`,
			[]fe{{"permissions[0].entity_type", `must be "organizations" or "projects"`}}},
		{"ErrEntityTypeEmpty", `[{"entity_type":"","entity_id":"$O","name":"owner","action":""}]`,
			[]fe{{"permissions[0].entity_type", `must be "organizations" or "projects"`}}},
		{"ErrOrgEntityID", `[{"entity_type":"organizations","entity_id":"$P1","name":"billing","action":""}]`,
			[]fe{{"permissions[0].entity_id", "must be this organization's id"}}},
		{"ErrOrgEntityIDEmpty", `[{"entity_type":"organizations","entity_id":"","name":"billing","action":""}]`,
			[]fe{{"permissions[0].entity_id", "must be this organization's id"}}},
		{"ErrOrgName", `[{"entity_type":"organizations","entity_id":"$O","name":"full-access","action":""}]`,
			[]fe{{"permissions[0].name", "must be one of owner, billing, api, members, settings, audit"}}},
		{"ErrOrgNameCase", `[{"entity_type":"organizations","entity_id":"$O","name":"Billing","action":""}]`,
			[]fe{{"permissions[0].name", "must be one of owner, billing, api, members, settings, audit"}}},
		{"ErrOrgAction", `[{"entity_type":"organizations","entity_id":"$O","name":"api","action":"READ"}]`,
			[]fe{{"permissions[0].action", `unknown action "READ"; use read, write and delete joined by "+", or "" for every action`}}},
		{"ErrOrgActionRepeated", `[{"entity_type":"organizations","entity_id":"$O","name":"api","action":"read+read"}]`,
			[]fe{{"permissions[0].action", `action "read" appears more than once`}}},
		{"ErrOrgActionCustom", `[{"entity_type":"organizations","entity_id":"$O","name":"api","action":"custom"}]`,
			[]fe{{"permissions[0].action", `"custom" is only valid as the action of the folders area`}}},
		{"ErrOwnerPartial", `[{"entity_type":"organizations","entity_id":"$O","name":"owner","action":"read"}]`,
			[]fe{{"permissions[0].action", `owner carries every action; leave it ""`}}},
		{"ErrOrgPermission", `[{"entity_type":"organizations","entity_id":"$O","name":"billing","action":"","permission":[{"name":"folders","action":""}]}]`,
			[]fe{{"permissions[0].permission", "must be empty for organizations permissions"}}},
		{"ErrProjectEntityID", `[{"entity_type":"projects","entity_id":"not-a-uuid","name":"full-access","action":""}]`,
			[]fe{{"permissions[0].entity_id", `must be a project id (a lowercase UUID) or "*"`}}},
		{"ErrProjectEntityIDEmpty", `[{"entity_type":"projects","entity_id":"","name":"full-access","action":""}]`,
			[]fe{{"permissions[0].entity_id", `must be a project id (a lowercase UUID) or "*"`}}},
		{"ErrProjectEntityIDUpper", `[{"entity_type":"projects","entity_id":"D932C659-7AE8-4C84-AAD5-8E23B275947D","name":"full-access","action":""}]`,
			[]fe{{"permissions[0].entity_id", `must be a project id (a lowercase UUID) or "*"`}}},
		{"ErrProjectName", `[{"entity_type":"projects","entity_id":"*","name":"billing","action":""}]`,
			[]fe{{"permissions[0].name", `must be "full-access" or "custom"`}}},
		{"ErrProjectAction", `[{"entity_type":"projects","entity_id":"*","name":"full-access","action":"+read"}]`,
			[]fe{{"permissions[0].action", `empty action between "+"; use read, write and delete joined by "+", or "" for every action`}}},
		{"ErrFullAccessPermission", `[{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":"","permission":[{"name":"analytics","action":"read"}]}]`,
			[]fe{{"permissions[0].permission", "must be empty for full-access"}}},
		{"ErrCustomNoAreas", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[]}]`,
			[]fe{{"permissions[0].permission", "must list at least one area for custom"}}},
		{"ErrCustomAbsentAreas", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":""}]`,
			[]fe{{"permissions[0].permission", "must list at least one area for custom"}}},
		{"ErrAreaName", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"videos","action":"read"}]}]`,
			[]fe{{"permissions[0].permission[0].name", "must be one of folders, livestreams, analytics, advertisements, settings"}}},
		{"ErrAreaAction", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"analytics","action":"read+"}]}]`,
			[]fe{{"permissions[0].permission[0].action", `empty action between "+"; use read, write and delete joined by "+", or "" for every action`}}},
		{"ErrAreaCustomNotFolders", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"livestreams","action":"custom","folders":[{"folder_id":"$F1","action":""}]}]}]`,
			[]fe{{"permissions[0].permission[0].action", `"custom" is only valid on the folders area`}}},
		{"ErrFoldersWithoutCustom", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"folders","action":"read","folders":[{"folder_id":"$F1","action":""}]}]}]`,
			[]fe{{"permissions[0].permission[0].folders", `only allowed when action is "custom"`}}},
		{"ErrCustomNoFolders", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[]}]}]`,
			[]fe{{"permissions[0].permission[0].folders", `must list at least one folder when action is "custom"`}}},
		{"ErrDuplicateArea", `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"analytics","action":"read"},{"name":"settings","action":"read"},{"name":"analytics","action":"write"}]}]`,
			[]fe{{"permissions[0].permission[2].name", `duplicate area "analytics"`}}},
		{"ErrFolderID", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"","action":""}]}]}]`,
			[]fe{{"permissions[0].permission[0].folders[0].folder_id", "must be a folder id (a lowercase UUID)"}}},
		{"ErrDuplicateFolder", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":""},{"folder_id":"$F1","action":"read"}]}]}]`,
			[]fe{{"permissions[0].permission[0].folders[1].folder_id", "duplicate folder"}}},
		{"ErrFolderAction", `[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":"custom"}]}]}]`,
			[]fe{{"permissions[0].permission[0].folders[0].action", `"custom" is only valid as the action of the folders area`}}},
		{"ErrCollectsAll", `[
			{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[
				{"name":"livestreams","action":"read"},{"name":"analytics","action":"read"},
				{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":"read"},{"folder_id":"nope","action":"write"}]}]},
			{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"settings","action":"write+write"}]},
			{"entity_type":"teams","entity_id":"$O","name":"x","action":"x"}]`,
			[]fe{
				{"permissions[0].permission[2].folders[1].folder_id", "must be a folder id (a lowercase UUID)"},
				{"permissions[1].permission[0].action", `action "write" appears more than once`},
				{"permissions[2].entity_type", `must be "organizations" or "projects"`},
			}},
		{"ErrSeveralInOneGrant", `[{"entity_type":"organizations","entity_id":"$P1","name":"root","action":"all","permission":[{"name":"folders","action":""}]}]`,
			[]fe{
				{"permissions[0].entity_id", "must be this organization's id"},
				{"permissions[0].name", "must be one of owner, billing, api, members, settings, audit"},
				{"permissions[0].action", `unknown action "all"; use read, write and delete joined by "+", or "" for every action`},
				{"permissions[0].permission", "must be empty for organizations permissions"},
			}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authz.Validate(vOrg, grantsJSON(t, r(tc.grants)), "permissions")
			if got := fieldsOf(t, err); !slices.Equal(got, conv(tc.want)) {
				t.Errorf("fields =\n  %+v\nwant\n  %+v", got, tc.want)
			}
		})
	}
	t.Run("OKPrefix", func(t *testing.T) {
		_, err := authz.Validate(vOrg, grantsJSON(t, `[{"entity_type":"x"}]`), "data.attributes.permissions")
		want := conv([]fe{{"data.attributes.permissions[0].entity_type", `must be "organizations" or "projects"`}})
		if got := fieldsOf(t, err); !slices.Equal(got, want) {
			t.Errorf("fields = %+v, want %+v", got, want)
		}
	})
}

func TestRefs(t *testing.T) {
	grants := grantsJSON(t, r(`[
		{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":""},
		{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":""}]}]},
		{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"$F2","action":""},{"folder_id":"$F1","action":"read"}]}]},
		{"entity_type":"projects","entity_id":"$P2","name":"full-access","action":"read"}]`))
	refs, err := authz.Validate(vOrg, grants, "permissions")
	if err != nil {
		t.Fatal(err)
	}
	if got := refs.ProjectIDs(); !slices.Equal(got, []string{vP1, vP2}) {
		t.Fatalf("ProjectIDs = %v", got)
	}
	if got := refs.Projects[0].Paths; !slices.Equal(got, []string{"permissions[0].entity_id", "permissions[2].entity_id"}) {
		t.Errorf("P1 paths = %v", got)
	}
	if got := refs.FolderIDs(); !slices.Equal(got, []string{vF1, vF2}) {
		t.Fatalf("FolderIDs = %v", got)
	}
	wantF1 := []authz.FolderUse{
		{Path: "permissions[1].permission[0].folders[0].folder_id", ProjectID: "*"},
		{Path: "permissions[2].permission[0].folders[1].folder_id", ProjectID: vP1},
	}
	if got := refs.Folders[0].Uses; !slices.Equal(got, wantF1) {
		t.Errorf("F1 uses = %+v", got)
	}

	t.Run("OK", func(t *testing.T) {
		err := refs.Verify(map[string]bool{vP1: true, vP2: true}, map[string]string{vF1: vP1, vF2: vP1})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		err := refs.Verify(map[string]bool{vP1: true}, map[string]string{vF2: vP1})
		want := []gatehouse.FieldError{
			{Field: "permissions[3].entity_id", Message: "unknown project"},
			{Field: "permissions[1].permission[0].folders[0].folder_id", Message: "unknown folder"},
			{Field: "permissions[2].permission[0].folders[1].folder_id", Message: "unknown folder"},
		}
		if got := fieldsOf(t, err); !slices.Equal(got, want) {
			t.Errorf("fields = %+v\nwant %+v", got, want)
		}
	})
	t.Run("ErrFolderInOtherProject", func(t *testing.T) {
		err := refs.Verify(map[string]bool{vP1: true, vP2: true}, map[string]string{vF1: vP2, vF2: vP1})
		want := []gatehouse.FieldError{
			{Field: "permissions[2].permission[0].folders[1].folder_id", Message: "folder is not in project " + vP1},
		}
		if got := fieldsOf(t, err); !slices.Equal(got, want) {
			t.Errorf("fields = %+v\nwant %+v", got, want)
		}
	})
}
