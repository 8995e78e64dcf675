package service

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// seedMember stores an organization with projects and folders and one member
// holding role and grants; it returns the organization, the user, a folder
// and a project.
func seedMember(tb testing.TB, st *store.Store, role string, grants func(org, project, folder string) []gatehouse.Grant) (org, user, folder, project string) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	org, user, project = newID(), newID(), newID()
	err := st.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateUser(ctx, &gatehouse.User{ID: user, Email: user + "@example.com", Name: "Member", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateOrg(ctx, &gatehouse.Organization{ID: org, Name: "Org", CreatedBy: user, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for p := range 5 {
			pid := project
			if p > 0 {
				pid = newID()
			}
			if err := tx.CreateProject(ctx, &gatehouse.Project{ID: pid, OrgID: org, Name: "p" + itoa(p), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			parent := ""
			for f := range 4 {
				id := newID()
				if err := tx.CreateFolder(ctx, &gatehouse.Folder{ID: id, OrgID: org, ProjectID: pid, ParentID: parent, Name: "f" + itoa(f), CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				if p == 0 {
					folder = id
				}
				parent = id
			}
		}
		return tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: org, UserID: user, RoleID: role,
			Grants: grants(org, project, folder), CreatedAt: now})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return org, user, folder, project
}

func viewerOf(org, project, folder string) []gatehouse.Grant {
	return []gatehouse.Grant{{EntityType: "projects", EntityID: project, Name: "custom", Permission: []gatehouse.AreaGrant{
		{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{{FolderID: folder, Action: "read+write"}}}}}}
}

// BenchmarkCachedCheck is the in-process permission check on a warm cache:
// the member's compiled rights looked up, then one folder check.
func BenchmarkCachedCheck(b *testing.B) {
	st := storetest.SQLite().Open(b)
	svc := New(st, Config{})
	org, user, folder, _ := seedMember(b, st, gatehouse.RoleViewer, viewerOf)
	ctx := context.Background()
	if _, err := svc.Access.MemberRights(ctx, org, user); err != nil {
		b.Fatal(err)
	}
	res := authz.Folder(folder)
	b.ReportAllocs()
	// CPU time per check as well as wall time: on a shared machine the
	// wall clock also counts other processes' time slices.
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		set, err := svc.Access.MemberRights(ctx, org, user)
		if err != nil {
			b.Fatal(err)
		}
		if ok, _ := set.Check(res, "folders", authz.Write); !ok {
			b.Fatal("denied")
		}
	}
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
