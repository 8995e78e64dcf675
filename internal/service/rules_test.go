package service

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Unit tests of the rules that matter most, below HTTP: may-grant, the last
// owner, and "does the inviter still cover it" behind orphan revocation.

// ruleWorld is an organization (from seedMember) with its first member as
// the given role, on one engine.
type ruleWorld struct {
	svc                   *Services
	st                    *store.Store
	org, user, folder, pj string
}

func newRuleWorld(t *testing.T, e storetest.Engine, role string) *ruleWorld {
	t.Helper()
	st := e.Open(t)
	w := &ruleWorld{svc: New(st, Config{}), st: st}
	w.org, w.user, w.folder, w.pj = seedMember(t, st, role, viewerOf)
	return w
}

// addMember adds a member with role and grants; it returns the user id.
func (w *ruleWorld) addMember(t *testing.T, role string, grants []gatehouse.Grant) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := newID()
	err := w.st.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateUser(ctx, &gatehouse.User{ID: id, Email: id + "@example.com", Name: "Other", CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: w.org, UserID: id, RoleID: role, Grants: grants, CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *ruleWorld) caller(t *testing.T, user string) *Caller {
	t.Helper()
	c, err := w.svc.Access.Caller(context.Background(), gatehouse.Actor{ID: user}, &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: user}, w.org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, code, reason string) {
	t.Helper()
	if gatehouse.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	var e *gatehouse.Error
	if reason != "" && (!asError(err, &e) || e.Reason != reason) {
		t.Fatalf("err = %v, want reason %q", err, reason)
	}
}

func asError(err error, e **gatehouse.Error) bool {
	*e = gatehouse.AsError(err)
	return *e != nil
}

func TestMayGrant(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			limited := w.addMember(t, "", viewerOf(w.org, w.pj, w.folder))
			billing := []gatehouse.Grant{{EntityType: "organizations", EntityID: w.org, Name: "billing", Action: "read"}}
			foreign := viewerOf(w.org, newID(), w.folder)
			cases := []struct {
				name         string
				user         string
				role         string
				grants       []gatehouse.Grant
				code, reason string
			}{
				{"ErrUnknownRole", w.user, "no-such-role", nil, gatehouse.EINVALID, ""},
				{"ErrForeignProject", w.user, "", foreign, gatehouse.EINVALID, ""},
				{"ErrMoreThanHeld", limited, "", billing, gatehouse.EFORBIDDEN, "escalation"},
				{"ErrRoleMoreThanHeld", limited, "viewer", nil, gatehouse.EFORBIDDEN, "escalation"},
				{"ErrOwnerByAdmin", w.user, "owner", nil, gatehouse.EFORBIDDEN, "escalation"},
				{"WhatIsHeld", limited, "", viewerOf(w.org, w.pj, w.folder), "", ""},
				{"RoleByName", w.user, " Viewer ", nil, "", ""},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := w.caller(t, tc.user)
					var role *gatehouse.Role
					err := w.st.Tx(ctx, func(tx *store.Conn) error {
						var err error
						role, err = c.MayGrant(ctx, tx, tc.role, tc.grants, "grant this access")
						return err
					})
					if tc.code != "" {
						wantCode(t, err, tc.code, tc.reason)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if tc.role != "" && (role == nil || role.ID != gatehouse.RoleViewerID) {
						t.Fatalf("role = %+v, want the viewer role", role)
					}
				})
			}
		})
	}
}

// The last owner cannot leave; with a second owner they can.
func TestLastOwner(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleOwnerID)
			err := w.svc.Members.Remove(ctx, w.caller(t, w.user), w.user)
			wantCode(t, err, gatehouse.ECONFLICT, "last_owner")
			w.addMember(t, gatehouse.RoleOwnerID, nil)
			if err := w.svc.Members.Remove(ctx, w.caller(t, w.user), w.user); err != nil {
				t.Fatalf("an owner of two cannot leave: %v", err)
			}
		})
	}
}

// stillCovers: the inviter must still be a member with members write and
// every right the invitation grants; a changed role stands in for the
// stored one.
func TestStillCovers(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newRuleWorld(t, e, gatehouse.RoleAdminID)
			limited := w.addMember(t, "", viewerOf(w.org, w.pj, w.folder))
			now := time.Now().UTC().Truncate(time.Microsecond)
			invite := func(by, role string, grants []gatehouse.Grant) *gatehouse.Invitation {
				inv := &gatehouse.Invitation{ID: newID(), OrgID: w.org, Email: newID() + "@example.com", RoleID: role, Grants: grants,
					Status: gatehouse.InvitationPending, TokenHash: secret.HashToken(newID()), ValidDays: 7, CreatedBy: by,
					CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}
				if err := w.st.Tx(ctx, func(tx *store.Conn) error { return tx.CreateInvitation(ctx, inv) }); err != nil {
					t.Fatal(err)
				}
				return inv
			}
			covers := func(inv *gatehouse.Invitation, changed *gatehouse.Role) bool {
				var ok bool
				err := w.st.Tx(ctx, func(tx *store.Conn) error {
					var err error
					ok, err = w.svc.Invitations.stillCovers(ctx, tx, inv, changed, nil)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			byAdmin := invite(w.user, gatehouse.RoleViewerID, nil)
			if !covers(byAdmin, nil) {
				t.Fatal("an admin does not cover a viewer invitation")
			}
			if covers(invite(w.user, gatehouse.RoleOwnerID, nil), nil) {
				t.Fatal("an admin covers an owner invitation")
			}
			// Without members write, not even what they hold.
			if covers(invite(limited, "", viewerOf(w.org, w.pj, w.folder)), nil) {
				t.Fatal("a member without members write covers an invitation")
			}
			// A changed role: the invitation's role now grants billing write.
			custom := &gatehouse.Role{ID: newID(), Name: "custom", Grants: viewerOf(w.org, w.pj, w.folder), CreatedAt: now, UpdatedAt: now}
			if err := w.st.Tx(ctx, func(tx *store.Conn) error { return tx.CreateRole(ctx, w.org, w.user, custom) }); err != nil {
				t.Fatal(err)
			}
			byRole := invite(w.user, custom.ID, nil)
			if !covers(byRole, nil) {
				t.Fatal("an admin does not cover a custom-role invitation")
			}
			grown := *custom
			grown.Grants = []gatehouse.Grant{{EntityType: "organizations", EntityID: w.org, Name: "owner", Action: "read+write+delete"}}
			if covers(byRole, &grown) {
				t.Fatal("the changed role did not stand in for the stored one")
			}
			// A removed inviter covers nothing.
			if err := w.st.Tx(ctx, func(tx *store.Conn) error { return tx.DeleteMembership(ctx, w.org, w.user) }); err != nil {
				t.Fatal(err)
			}
			if covers(byAdmin, nil) {
				t.Fatal("a removed inviter still covers")
			}
		})
	}
}
