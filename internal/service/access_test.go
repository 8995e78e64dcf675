package service

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// twoProcesses returns two services over one database: on PostgreSQL two
// stores (notifications cross by LISTEN/NOTIFY), on SQLite one store.
func twoProcesses(t *testing.T, e storetest.Engine) (a, b *Services, st *store.Store) {
	dsn := e.NewDSN(t)
	stA := e.OpenAt(t, dsn)
	stB := stA
	if e.Name == "postgres" {
		stB = e.OpenAt(t, dsn)
	}
	return New(stA, Config{}), New(stB, Config{}), stA
}

// waitChanged waits until an invalidation reached this process.
func waitChanged(t *testing.T, changed func() bool) {
	deadline := time.Now().Add(5 * time.Second)
	for !changed() {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation never arrived")
		}
		time.Sleep(time.Millisecond)
	}
}

// A reload that began before an invalidation never wins over it: the entry
// is evicted, reloaded from the old rows, and the change (on another process)
// commits and is heard before the reload stores its result. The next check
// must see the change.
func TestReloadBeforeInvalidationNeverWins(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			svcA, svcB, st := twoProcesses(t, e)
			org, user, folder, _ := seedMember(t, st, "", viewerOf)
			res := authz.Folder(folder)
			allowed := func() bool {
				set, err := svcA.Access.MemberRights(ctx, org, user)
				if err != nil {
					t.Fatal(err)
				}
				ok, _ := set.Check(res, "folders", authz.Write)
				return ok
			}
			if !allowed() {
				t.Fatal("member cannot write the granted folder")
			}

			t.Run("members", func(t *testing.T) {
				a := svcA.Access
				a.members.Invalidate(org, user) // evicted
				a.loaded = func(view string) {
					if view != "members" {
						return
					}
					a.loaded = nil
					before := a.members.Begin(org, user)
					// Another process takes the grant away and tells everyone.
					err := svcB.Access.store.Tx(ctx, func(tx *store.Conn) error {
						if err := tx.UpdateMembership(ctx, &gatehouse.Membership{OrgID: org, UserID: user}, time.Now()); err != nil {
							return err
						}
						return tx.Notify(ctx, memberChanged(org, user))
					})
					if err != nil {
						t.Fatal(err)
					}
					waitChanged(t, func() bool { return a.members.Begin(org, user) != before })
				}
				allowed() // began before the change: may answer from the old rows
				if allowed() {
					t.Fatal("the reload begun before the invalidation was cached over it")
				}
			})

			t.Run("trees", func(t *testing.T) {
				// Give the grant back, on a folder that moves to the other
				// project's tree while the tree reloads.
				a := svcA.Access
				err := st.Tx(ctx, func(tx *store.Conn) error {
					m := &gatehouse.Membership{OrgID: org, UserID: user, Grants: viewerOf(org, "", folder)}
					m.Grants[0].EntityID = "*"
					if err := tx.UpdateMembership(ctx, m, time.Now()); err != nil {
						return err
					}
					return tx.Notify(ctx, memberChanged(org, user))
				})
				if err != nil {
					t.Fatal(err)
				}
				waitChanged(t, allowed)
				sub := newID()
				now := time.Now()
				if err := st.Tx(ctx, func(tx *store.Conn) error {
					f, err := tx.FolderAnyProject(ctx, org, folder)
					if err != nil {
						return err
					}
					return tx.CreateFolder(ctx, &gatehouse.Folder{ID: sub, OrgID: org, ProjectID: f.ProjectID, ParentID: folder, Name: "late", CreatedAt: now, UpdatedAt: now})
				}); err != nil {
					t.Fatal(err)
				}
				// sub exists in the database but not yet in A's cached tree.
				a.orgs.Invalidate(org, "") // evicted
				a.loaded = func(view string) {
					if view != "trees" {
						return
					}
					a.loaded = nil
					before := a.orgs.Begin(org, "")
					err := svcB.Access.store.Tx(ctx, func(tx *store.Conn) error {
						if err := tx.DeleteFolder(ctx, sub); err != nil {
							return err
						}
						return tx.Notify(ctx, treeChanged(org))
					})
					if err != nil {
						t.Fatal(err)
					}
					waitChanged(t, func() bool { return a.orgs.Begin(org, "") != before })
				}
				tree, err := a.Tree(ctx, org) // began before the delete
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := tree.Project(sub); !ok {
					t.Fatal("the reload did not read the folder")
				}
				tree, err = a.Tree(ctx, org)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := tree.Project(sub); ok {
					t.Fatal("the tree reloaded before the delete was cached over its invalidation")
				}
			})
		})
	}
}

// A miss costs one query for the organization and one for the member.
func TestMissQueries(t *testing.T) {
	st := storetest.SQLite().Open(t)
	svc := New(st, Config{})
	org, user, _, _ := seedMember(t, st, "", viewerOf)
	ctx := context.Background()
	if _, err := svc.Access.MemberRights(ctx, org, user); err != nil {
		t.Fatal(err)
	}
	st2 := svc.Cache.Stats()
	var misses int64
	for _, s := range st2 {
		misses += s.Misses
	}
	if misses != 2 {
		t.Fatalf("misses = %d, want 2 (trees, members)", misses)
	}
}
