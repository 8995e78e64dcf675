package authz_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

func roleSet(t *testing.T, name string, tree *authz.Tree) *authz.Set {
	t.Helper()
	role, ok := gatehouse.BuiltinRole(name)
	if !ok {
		t.Fatalf("no role %s", name)
	}
	return authz.Compile(vOrg, []authz.Source{{Label: role.Name, Grants: role.GrantsFor(vOrg)}}, tree)
}

func directSet(t *testing.T, grants string, tree *authz.Tree) *authz.Set {
	t.Helper()
	return authz.Compile(vOrg, []authz.Source{{Label: "direct", Grants: grantsJSON(t, r(grants))}}, tree)
}

func TestCovers(t *testing.T) {
	tree := authz.NewTree([]authz.FolderNode{
		{ID: vF1, ProjectID: vP1},
		{ID: fChild, ParentID: vF1, ProjectID: vP1},
		{ID: fGrandchild, ParentID: fChild, ProjectID: vP1},
		{ID: vF2, ProjectID: vP2},
	})
	role := func(name string) *authz.Set { return roleSet(t, name, tree) }
	direct := func(g string) *authz.Set { return directSet(t, g, tree) }
	folderGrant := func(project, folder, action string) string {
		return `[{"entity_type":"projects","entity_id":"` + project + `","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"` + folder + `","action":"` + action + `"}]}]}]`
	}
	empty := direct(`[]`)

	ok := []struct {
		name              string
		holder, requested *authz.Set
	}{
		{"OwnerCoversAdmin", role("owner"), role("admin")},
		{"OwnerCoversOwner", role("owner"), role("owner")},
		{"AdminCoversDeveloper", role("admin"), role("developer")},
		{"AdminCoversUploader", role("admin"), role("uploader")},
		{"ViewerCoversViewer", role("viewer"), role("viewer")},
		{"AnythingCoversNothing", empty, empty},
		{"AncestorFolderCoversDescendant", direct(folderGrant("$P1", "$F1", "")), direct(folderGrant("$P1", fGrandchild, "read"))},
		{"StarFolderGrantCoversProjectFolderGrant", direct(folderGrant("*", "$F1", "")), direct(folderGrant("$P1", fChild, "write"))},
		{"ProjectFoldersCoverFolderGrant", direct(`[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"read"}]}]`),
			direct(folderGrant("$P1", "$F1", "read"))},
		{"StarCoversProject", role("viewer"), direct(`[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"analytics","action":"read"}]}]`)},
		{"FullAccessCoversCustom", direct(`[{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":""}]`),
			direct(`[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"settings","action":"delete"},{"name":"folders","action":"custom","folders":[{"folder_id":"$F1","action":""}]}]}]`)},
	}
	for _, tc := range ok {
		t.Run("OK"+tc.name, func(t *testing.T) {
			if r, by, found := authz.Uncovered(tc.holder, tc.requested); found {
				t.Errorf("uncovered %v (from %v)", r, by)
			}
			if !authz.Covers(tc.holder, tc.requested) {
				t.Error("Covers = false")
			}
		})
	}

	bad := []struct {
		name              string
		holder, requested *authz.Set
		want, by          string
	}{
		{"ErrAdminCannotGrantOwner", role("admin"), role("owner"), "owner of the organization", "owner.permissions[0]"},
		{"ErrViewerCannotGrantWrite", role("viewer"), role("uploader"), "write on folders of project:*", "uploader.permissions[0]"},
		{"ErrAdminLacksBilling", role("admin"), role("billing"), "read on billing of organization", "billing.permissions[0]"},
		{"ErrNothingCoversViewer", empty, role("viewer"), "read on folders of project:*", "viewer.permissions[0]"},
		{"ErrDescendantDoesNotCoverAncestor", direct(folderGrant("$P1", fChild, "")), direct(folderGrant("$P1", "$F1", "read")),
			"read on folder:" + vF1, "direct.permissions[0]"},
		{"ErrFolderActionNarrower", direct(folderGrant("$P1", "$F1", "read")), direct(folderGrant("$P1", fChild, "read+delete")),
			"delete on folder:" + fChild, "direct.permissions[0]"},
		{"ErrStarNotCoveredByEveryProject", direct(`[
				{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":""},
				{"entity_type":"projects","entity_id":"$P2","name":"full-access","action":""}]`),
			direct(`[{"entity_type":"projects","entity_id":"*","name":"custom","action":"","permission":[{"name":"analytics","action":"read"}]}]`),
			"read on analytics of project:*", "direct.permissions[0]"},
		{"ErrOtherProject", direct(`[{"entity_type":"projects","entity_id":"$P1","name":"full-access","action":""}]`),
			direct(`[{"entity_type":"projects","entity_id":"$P2","name":"full-access","action":"write"}]`),
			"write on folders of project:" + vP2, "direct.permissions[0]"},
		{"ErrFolderGrantDoesNotCoverProjectFolders", direct(folderGrant("$P1", "$F1", "")),
			direct(`[{"entity_type":"projects","entity_id":"$P1","name":"custom","action":"","permission":[{"name":"folders","action":"read"}]}]`),
			"read on folders of project:" + vP1, "direct.permissions[0]"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r, by, found := authz.Uncovered(tc.holder, tc.requested)
			if !found || r.String() != tc.want || by.String() != tc.by {
				t.Errorf("Uncovered = %q from %q (%v), want %q from %q", r, by, found, tc.want, tc.by)
			}
			if authz.Covers(tc.holder, tc.requested) {
				t.Error("Covers = true")
			}
		})
	}
}
