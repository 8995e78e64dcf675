package authz_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// benchShape is the performance target: a member with 100 direct grants
// across 50 projects plus a role, in an organization with 1,000 folders
// (20 per project, in chains of depth 8).
type benchShape struct {
	org     string
	sources []authz.Source
	tree    *authz.Tree
	queries []check
}

func benchID(kind, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n) }

func newBenchShape() benchShape {
	const projects, perProject, depth = 50, 20, 8
	org := benchID(1, 0)
	var nodes []authz.FolderNode
	folder := func(p, i int) string { return benchID(3, p*perProject+i) }
	for p := range projects {
		for i := range perProject {
			parent := ""
			if i%depth != 0 {
				parent = folder(p, i-1)
			}
			nodes = append(nodes, authz.FolderNode{ID: folder(p, i), ParentID: parent, ProjectID: benchID(2, p)})
		}
	}
	var grants []gatehouse.Grant
	for p := range projects - 1 {
		grants = append(grants,
			gatehouse.Grant{EntityType: "projects", EntityID: benchID(2, p), Name: "custom", Permission: []gatehouse.AreaGrant{
				{Name: "livestreams", Action: "read"},
				{Name: "analytics", Action: "read+write"},
				{Name: "settings", Action: "read"},
			}},
			gatehouse.Grant{EntityType: "projects", EntityID: benchID(2, p), Name: "custom", Permission: []gatehouse.AreaGrant{
				{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{
					{FolderID: folder(p, 2), Action: ""},
					{FolderID: folder(p, 10), Action: "read"},
				}},
			}})
	}
	grants = append(grants,
		gatehouse.Grant{EntityType: "organizations", EntityID: org, Name: "billing", Action: "read"},
		gatehouse.Grant{EntityType: "organizations", EntityID: org, Name: "api", Action: "read+write"})
	uploader, _ := gatehouse.BuiltinRole(gatehouse.RoleUploader)
	last := projects - 1
	return benchShape{
		org: org,
		sources: []authz.Source{
			{Label: "direct", Grants: grants},
			{Label: uploader.Name, Grants: uploader.GrantsFor(org)},
		},
		tree: authz.NewTree(nodes),
		queries: []check{
			{authz.Folder(folder(10, 7)), "folders", authz.Delete, true, "direct.permissions[21]"},
			{authz.Folder(folder(last, 7)), "folders", authz.Delete, false, ""},
			{authz.Folder(folder(last, 7)), "", authz.Write, true, "uploader.permissions[0]"},
			{authz.Project(benchID(2, 5)), "analytics", authz.Write, true, "direct.permissions[10]"},
			{authz.Project(benchID(9, 9)), "livestreams", authz.Read, true, "uploader.permissions[0]"},
			{authz.Project(benchID(2, 5)), "advertisements", authz.Read, false, ""},
			{authz.Organization(), "billing", authz.Read, true, "direct.permissions[98]"},
			{authz.Organization(), "members", authz.Write, false, ""},
		},
	}
}

func benchWorld(t testing.TB) (*authz.Set, []check) {
	sh := newBenchShape()
	s := authz.Compile(sh.org, sh.sources, sh.tree)
	if tt, ok := t.(*testing.T); ok {
		runChecks(tt, s, sh.queries)
	}
	return s, sh.queries
}

func BenchmarkCheck(b *testing.B) {
	s, queries := benchWorld(b)
	names := []string{"FolderDepth8Allowed", "FolderDepth8Denied", "FolderViaRole", "Project", "ProjectStar", "ProjectDenied", "Organization", "OrganizationDenied"}
	for i, q := range queries {
		b.Run(names[i], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := s.Check(q.res, q.area, q.action); ok != q.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	sh := newBenchShape()
	b.ReportAllocs()
	for b.Loop() {
		authz.Compile(sh.org, sh.sources, sh.tree)
	}
}

func BenchmarkNewTree(b *testing.B) {
	var nodes []authz.FolderNode
	sh := newBenchShape()
	for i := range 1000 {
		id := benchID(3, i)
		parent, _ := sh.tree.Parent(id)
		project, _ := sh.tree.Project(id)
		nodes = append(nodes, authz.FolderNode{ID: id, ParentID: parent, ProjectID: project})
	}
	b.ReportAllocs()
	for b.Loop() {
		authz.NewTree(nodes)
	}
}

func BenchmarkCovers(b *testing.B) {
	sh := newBenchShape()
	holder := authz.Compile(sh.org, sh.sources, sh.tree)
	requested := authz.Compile(sh.org, sh.sources[:1], sh.tree)
	b.ReportAllocs()
	for b.Loop() {
		if !authz.Covers(holder, requested) {
			b.Fatal("not covered")
		}
	}
}
