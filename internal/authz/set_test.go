package authz_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/seedtest"
)

// check is one Check call and its expected answer; by is the expected
// GrantRef.String() when allowed ("" to skip).
type check struct {
	res    authz.Resource
	area   string
	action authz.Action
	want   bool
	by     string
}

func runChecks(t *testing.T, s *authz.Set, checks []check) {
	t.Helper()
	for _, c := range checks {
		got, by := s.Check(c.res, c.area, c.action)
		if got != c.want {
			t.Errorf("Check(%v, %q, %v) = %v, want %v", c.res, c.area, c.action, got, c.want)
			continue
		}
		if c.want && c.by != "" && by.String() != c.by {
			t.Errorf("Check(%v, %q, %v) granted by %q, want %q", c.res, c.area, c.action, by, c.by)
		}
		if !c.want && by != (authz.GrantRef{}) {
			t.Errorf("Check(%v, %q, %v) denied but names %v", c.res, c.area, c.action, by)
		}
	}
}

const (
	fChild      = "6e4f9469-0000-4000-8000-000000000001"
	fGrandchild = "6e4f9469-0000-4000-8000-000000000002"
	fSibling    = "6e4f9469-0000-4000-8000-000000000003"
	fOther      = "6e4f9469-0000-4000-8000-000000000004" // in another project
	otherProj   = "99999999-0000-4000-8000-000000000000"
	freshProj   = "abababab-0000-4000-8000-000000000000" // never in any tree
)

func seedCustomTree() *authz.Tree {
	return authz.NewTree([]authz.FolderNode{
		{ID: seedtest.CustomFolder, ProjectID: seedtest.CustomProject},
		{ID: fChild, ParentID: seedtest.CustomFolder, ProjectID: seedtest.CustomProject},
		{ID: fGrandchild, ParentID: fChild, ProjectID: seedtest.CustomProject},
		{ID: fSibling, ProjectID: seedtest.CustomProject},
		{ID: fOther, ProjectID: otherProj},
	})
}

func TestCheckSeed(t *testing.T) {
	org := authz.Organization()
	t.Run("OKLive", func(t *testing.T) {
		tree := authz.NewTree([]authz.FolderNode{
			{ID: fChild, ProjectID: seedtest.LiveProject},
			{ID: fGrandchild, ParentID: fChild, ProjectID: seedtest.LiveProject},
			{ID: fOther, ProjectID: otherProj},
		})
		s := authz.Compile(seedtest.LiveOrg, []authz.Source{{Label: "direct", Grants: decodeBody(t, seedtest.LiveBody)}}, tree)
		var checks []check
		for _, area := range []string{"folders", "livestreams", "analytics", "advertisements", "settings"} {
			for _, a := range []authz.Action{authz.Read, authz.Write, authz.Delete, authz.All} {
				checks = append(checks,
					check{authz.Project(seedtest.LiveProject), area, a, true, "direct.permissions[0]"},
					check{authz.Project(otherProj), area, a, false, ""})
			}
		}
		checks = append(checks,
			check{authz.Folder(fGrandchild), "", authz.All, true, "direct.permissions[0]"},
			check{authz.Folder(fChild), "folders", authz.Delete, true, "direct.permissions[0]"},
			check{authz.Folder(fOther), "folders", authz.Read, false, ""},
			check{org, "billing", authz.Read, true, "direct.permissions[1]"},
			check{org, "billing", authz.Write, true, "direct.permissions[1]"},
			check{org, "billing", authz.Delete, true, "direct.permissions[1]"},
			check{org, "api", authz.Read | authz.Write, true, "direct.permissions[2]"},
			check{org, "api", authz.Delete, false, ""},
			check{org, "members", authz.Read, false, ""},
			check{org, "owner", authz.Read, false, ""},
		)
		runChecks(t, s, checks)
	})
	t.Run("OKCustom", func(t *testing.T) {
		s := authz.Compile(seedtest.CustomOrg, []authz.Source{{Label: "direct", Grants: decodeBody(t, seedtest.CustomBody)}}, seedCustomTree())
		p := authz.Project(seedtest.CustomProject)
		runChecks(t, s, []check{
			// The folder and its subtree, but not a sibling, nor the project's folders area.
			{authz.Folder(seedtest.CustomFolder), "folders", authz.All, true, "direct.permissions[0]"},
			{authz.Folder(fChild), "folders", authz.Write, true, "direct.permissions[0]"},
			{authz.Folder(fGrandchild), "", authz.Delete, true, "direct.permissions[0]"},
			{authz.Folder(fSibling), "folders", authz.Read, false, ""},
			{authz.Folder(fOther), "folders", authz.Read, false, ""},
			{p, "folders", authz.Read, false, ""},
			{authz.Folder(fChild), "livestreams", authz.Read, false, ""},
			{p, "livestreams", authz.All, true, "direct.permissions[0]"},
			{p, "analytics", authz.Delete, true, "direct.permissions[0]"},
			{p, "advertisements", authz.Write, true, "direct.permissions[0]"},
			{p, "settings", authz.Read | authz.Write, true, "direct.permissions[0]"},
			{p, "settings", authz.Delete, false, ""},
			{authz.Project(otherProj), "analytics", authz.Read, false, ""},
			{org, "billing", authz.Write, true, "direct.permissions[1]"},
			{org, "billing", authz.Delete, false, ""},
			{org, "api", authz.Read, true, "direct.permissions[2]"},
			{org, "settings", authz.Read, false, ""},
		})
	})
}

func TestCheckEdges(t *testing.T) {
	s := authz.Compile(seedtest.CustomOrg, []authz.Source{{Label: "direct", Grants: decodeBody(t, seedtest.CustomBody)}}, seedCustomTree())
	p := authz.Project(seedtest.CustomProject)
	runChecks(t, s, []check{
		{p, "videos", authz.Read, false, ""},
		{p, "", authz.Read, false, ""},
		{p, "livestreams", 0, false, ""},
		{p, "livestreams", 8, false, ""},
		{p, "livestreams", authz.All | 8, false, ""},
		{authz.Resource{Kind: "video", ID: seedtest.CustomFolder}, "folders", authz.Read, false, ""},
		{authz.Resource{}, "", authz.Read, false, ""},
		{authz.Organization(), "folders", authz.Read, false, ""},
		{authz.Folder("not-there"), "folders", authz.Read, false, ""},
	})
	// Several bits: every bit is needed; by names the grant of the lowest.
	s2 := authz.Compile(vOrg, []authz.Source{
		{Label: "a", Grants: grantsJSON(t, r(`[{"entity_type":"organizations","entity_id":"$O","name":"api","action":"write"}]`))},
		{Label: "b", Grants: grantsJSON(t, r(`[{"entity_type":"organizations","entity_id":"$O","name":"api","action":"read"}]`))},
	}, nil)
	runChecks(t, s2, []check{
		{authz.Organization(), "api", authz.Read | authz.Write, true, "b.permissions[0]"},
		{authz.Organization(), "api", authz.Write, true, "a.permissions[0]"},
		{authz.Organization(), "api", authz.Write | authz.Delete, false, ""},
	})
}

func TestCheckOwner(t *testing.T) {
	owner, _ := gatehouse.BuiltinRole(gatehouse.RoleOwner)
	s := authz.Compile(vOrg, []authz.Source{{Label: "owner", Grants: owner.GrantsFor(vOrg)}}, seedCustomTree())
	if ok, by := s.Owner(); !ok || by.String() != "owner.permissions[0]" {
		t.Errorf("Owner() = %v, %v", ok, by)
	}
	var checks []check
	for _, area := range []string{"owner", "billing", "api", "members", "settings", "audit"} {
		checks = append(checks, check{authz.Organization(), area, authz.All, true, "owner.permissions[0]"})
	}
	for _, area := range []string{"folders", "livestreams", "analytics", "advertisements", "settings"} {
		checks = append(checks, check{authz.Project(freshProj), area, authz.All, true, "owner.permissions[0]"})
	}
	checks = append(checks,
		check{authz.Folder(fGrandchild), "", authz.All, true, "owner.permissions[0]"},
		check{authz.Folder(fOther), "folders", authz.All, true, "owner.permissions[0]"},
		check{authz.Folder(freshProj), "folders", authz.Read, false, ""}, // not in the tree
		check{authz.Organization(), "nonsense", authz.Read, false, ""},
		check{authz.Project(freshProj), "billing", authz.Read, false, ""},
	)
	runChecks(t, s, checks)

	t.Run("ErrOtherOrganization", func(t *testing.T) {
		g := grantsJSON(t, r(`[{"entity_type":"organizations","entity_id":"$P1","name":"owner","action":""}]`))
		s := authz.Compile(vOrg, []authz.Source{{Label: "direct", Grants: g}}, nil)
		runChecks(t, s, []check{{authz.Organization(), "billing", authz.Read, false, ""}})
	})
}

func TestBuiltinRoles(t *testing.T) {
	roles := gatehouse.BuiltinRoles()
	if len(roles) != 6 {
		t.Fatalf("%d built-in roles", len(roles))
	}
	seen := map[string]bool{}
	for _, role := range roles {
		if !authz.IsUUID(role.ID) || role.ID[14] != '4' || seen[role.ID] || seen[role.Name] || !role.BuiltIn {
			t.Errorf("role %+v: id must be a unique v4-looking UUID, name unique, BuiltIn set", role)
		}
		seen[role.ID], seen[role.Name] = true, true
		for _, key := range []string{role.ID, role.Name} {
			if got, ok := gatehouse.BuiltinRole(key); !ok || got.ID != role.ID {
				t.Errorf("BuiltinRole(%q) = %v, %v", key, got.ID, ok)
			}
		}
		if _, err := authz.Validate(vOrg, role.GrantsFor(vOrg), "permissions"); err != nil {
			t.Errorf("role %s does not validate: %v", role.Name, err)
		}
	}
	if _, ok := gatehouse.BuiltinRole("Admin"); ok {
		t.Error("role names are lowercase: Admin must not match")
	}

	// GrantsFor copies: changing its result leaves the role alone.
	viewer, _ := gatehouse.BuiltinRole(gatehouse.RoleViewer)
	g := viewer.GrantsFor(vOrg)
	g[0].Permission[0].Action = "write"
	if again, _ := gatehouse.BuiltinRole(gatehouse.RoleViewer); again.Grants[0].Permission[0].Action != "read" {
		t.Error("GrantsFor aliases the role's grants")
	}

	tree := seedCustomTree()
	org, p, f := authz.Organization(), authz.Project(freshProj), authz.Folder(fGrandchild)
	const R, W, D, A = authz.Read, authz.Write, authz.Delete, authz.All
	cases := map[string][]check{
		gatehouse.RoleAdmin: {
			{org, "members", A, true, "admin.permissions[0]"},
			{org, "settings", A, true, "admin.permissions[1]"},
			{org, "api", A, true, "admin.permissions[2]"},
			{org, "audit", A, true, "admin.permissions[3]"},
			{org, "billing", R, false, ""},
			{org, "owner", R, false, ""},
			{p, "folders", A, true, "admin.permissions[4]"},
			{p, "settings", D, true, "admin.permissions[4]"},
			{f, "", A, true, "admin.permissions[4]"},
		},
		gatehouse.RoleUploader: {
			{p, "folders", R | W, true, "uploader.permissions[0]"},
			{p, "livestreams", W, true, "uploader.permissions[0]"},
			{p, "folders", D, false, ""},
			{p, "analytics", R, false, ""},
			{f, "folders", W, true, "uploader.permissions[0]"},
			{f, "folders", D, false, ""},
			{org, "api", R, false, ""},
		},
		gatehouse.RoleViewer: {
			{p, "folders", R, true, "viewer.permissions[0]"},
			{p, "livestreams", R, true, ""},
			{p, "analytics", R, true, ""},
			{p, "advertisements", R, true, ""},
			{p, "settings", R, true, ""},
			{p, "settings", W, false, ""},
			{f, "", R, true, "viewer.permissions[0]"},
			{f, "", W, false, ""},
			{org, "settings", R, false, ""},
		},
		gatehouse.RoleBilling: {
			{org, "billing", A, true, "billing.permissions[0]"},
			{org, "api", R, false, ""},
			{p, "folders", R, false, ""},
		},
		gatehouse.RoleDeveloper: {
			{org, "api", A, true, "developer.permissions[0]"},
			{org, "billing", R, false, ""},
			{p, "analytics", R, true, "developer.permissions[1]"},
			{p, "analytics", W, false, ""},
			{f, "folders", R, true, "developer.permissions[1]"},
		},
	}
	for name, checks := range cases {
		t.Run(name, func(t *testing.T) {
			role, _ := gatehouse.BuiltinRole(name)
			// Both bound (GrantsFor) and unbound ("" = this organization) grants work.
			for _, grants := range [][]gatehouse.Grant{role.GrantsFor(vOrg), role.Grants} {
				runChecks(t, authz.Compile(vOrg, []authz.Source{{Label: role.Name, Grants: grants}}, tree), checks)
			}
		})
	}
}

func TestStarCoversFutureProjects(t *testing.T) {
	viewer, _ := gatehouse.BuiltinRole(gatehouse.RoleViewer)
	tree := seedCustomTree()
	s := authz.Compile(vOrg, []authz.Source{{Label: "viewer", Grants: viewer.GrantsFor(vOrg)}}, tree)
	// A project created after Compile, with any id, and its first folder
	// (known only to a newer tree).
	runChecks(t, s, []check{{authz.Project(freshProj), "analytics", authz.Read, true, "viewer.permissions[0]"}})
	newer := authz.NewTree([]authz.FolderNode{{ID: fChild, ProjectID: freshProj}})
	s = authz.Compile(vOrg, []authz.Source{{Label: "viewer", Grants: viewer.GrantsFor(vOrg)}}, newer)
	runChecks(t, s, []check{{authz.Folder(fChild), "folders", authz.Read, true, "viewer.permissions[0]"}})
}

func TestFolderGrantFollowsMove(t *testing.T) {
	// Grant on fSibling; fChild starts under the seed folder, then moves
	// under fSibling.
	grants := grantsJSON(t, `[{"entity_type":"projects","entity_id":"`+seedtest.CustomProject+`","name":"custom","action":"","permission":[
		{"name":"folders","action":"custom","folders":[{"folder_id":"`+fSibling+`","action":"read"}]}]}]`)
	src := []authz.Source{{Label: "direct", Grants: grants}}
	before := authz.Compile(vOrg, src, seedCustomTree())
	runChecks(t, before, []check{
		{authz.Folder(fChild), "folders", authz.Read, false, ""},
		{authz.Folder(fGrandchild), "folders", authz.Read, false, ""},
	})
	moved := authz.NewTree([]authz.FolderNode{
		{ID: seedtest.CustomFolder, ProjectID: seedtest.CustomProject},
		{ID: fChild, ParentID: fSibling, ProjectID: seedtest.CustomProject},
		{ID: fGrandchild, ParentID: fChild, ProjectID: seedtest.CustomProject},
		{ID: fSibling, ProjectID: seedtest.CustomProject},
	})
	after := authz.Compile(vOrg, src, moved)
	runChecks(t, after, []check{
		{authz.Folder(fChild), "folders", authz.Read, true, "direct.permissions[0]"},
		{authz.Folder(fGrandchild), "folders", authz.Read, true, "direct.permissions[0]"},
		{authz.Folder(fGrandchild), "folders", authz.Write, false, ""},
		{authz.Folder(seedtest.CustomFolder), "folders", authz.Read, false, ""},
	})
}

func TestCompileIgnoresForeignFolder(t *testing.T) {
	// A folder grant under project P counts only for a folder of P.
	grants := grantsJSON(t, `[{"entity_type":"projects","entity_id":"`+seedtest.CustomProject+`","name":"custom","action":"","permission":[
		{"name":"folders","action":"custom","folders":[{"folder_id":"`+fOther+`","action":""}]}]}]`)
	s := authz.Compile(vOrg, []authz.Source{{Label: "direct", Grants: grants}}, seedCustomTree())
	runChecks(t, s, []check{{authz.Folder(fOther), "folders", authz.Read, false, ""}})
}

func TestCustomActionCaps(t *testing.T) {
	grants := grantsJSON(t, `[{"entity_type":"projects","entity_id":"*","name":"custom","action":"read","permission":[
		{"name":"analytics","action":""},
		{"name":"folders","action":"custom","folders":[{"folder_id":"`+fChild+`","action":"read+write"}]}]}]`)
	s := authz.Compile(vOrg, []authz.Source{{Label: "direct", Grants: grants}}, seedCustomTree())
	runChecks(t, s, []check{
		{authz.Project(freshProj), "analytics", authz.Read, true, ""},
		{authz.Project(freshProj), "analytics", authz.Write, false, ""},
		{authz.Folder(fGrandchild), "folders", authz.Read, true, ""},
		{authz.Folder(fGrandchild), "folders", authz.Write, false, ""},
	})
}

func TestTree(t *testing.T) {
	const a, b, c, d = "a", "b", "c", "d"
	tree := authz.NewTree([]authz.FolderNode{
		{ID: a, ParentID: c, ProjectID: "p"},
		{ID: b, ParentID: a, ProjectID: "p"},
		{ID: c, ParentID: b, ProjectID: "p"}, // closes a cycle: cut here
		{ID: d, ParentID: "missing", ProjectID: "p"},
		{ID: "e", ParentID: d, ProjectID: "q"}, // parent in another project
		{ID: a, ParentID: "", ProjectID: "q"},  // duplicate: ignored
	})
	if tree.Len() != 5 {
		t.Errorf("Len = %d, want 5", tree.Len())
	}
	for _, tc := range []struct{ id, parent, project string }{
		{a, c, "p"}, {b, a, "p"}, {c, "", "p"}, {d, "", "p"}, {"e", "", "q"},
	} {
		if got, ok := tree.Parent(tc.id); !ok || got != tc.parent {
			t.Errorf("Parent(%s) = %q, %v; want %q", tc.id, got, ok, tc.parent)
		}
		if got, ok := tree.Project(tc.id); !ok || got != tc.project {
			t.Errorf("Project(%s) = %q, %v; want %q", tc.id, got, ok, tc.project)
		}
	}
	if _, ok := tree.Parent("zz"); ok {
		t.Error("Parent of an unknown folder")
	}
	var nilTree *authz.Tree
	if nilTree.Len() != 0 {
		t.Error("nil tree")
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	s, queries := benchWorld(t)
	for _, q := range queries {
		if n := testing.AllocsPerRun(100, func() { s.Check(q.res, q.area, q.action) }); n != 0 {
			t.Errorf("Check(%v, %q) allocates %v times", q.res, q.area, n)
		}
	}
}
