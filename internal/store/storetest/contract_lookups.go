package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runLookups covers the whole-organization listings behind look-ups and
// the access review: every member (with name and email) and every API key
// of one organization, oldest first, none of another organization's.
func runLookups(t *testing.T, e Engine) {
	s := e.Open(t)
	ctx := context.Background()
	orgs := []*gatehouse.Organization{{ID: newID(), Name: "A", CreatedAt: baseTime}, {ID: newID(), Name: "B", CreatedAt: baseTime}}
	var users []*gatehouse.User
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		users = append(users, mustCreateUser(t, s, email))
	}
	mustTx(t, s, func(tx *store.Conn) error {
		for _, o := range orgs {
			if err := tx.CreateOrg(ctx, o); err != nil {
				return err
			}
		}
		// Inserted out of time order: the listing sorts.
		for i, u := range []*gatehouse.User{users[2], users[0]} {
			m := &gatehouse.Membership{ID: newID(), OrgID: orgs[0].ID, UserID: u.ID, RoleID: gatehouse.RoleViewerID,
				Grants:    []gatehouse.Grant{{EntityType: "organizations", EntityID: orgs[0].ID, Name: "billing", Action: "read"}},
				CreatedAt: baseTime.Add(-1e9 * time.Duration(i))}
			if err := tx.CreateMembership(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.CreateMembership(ctx, &gatehouse.Membership{ID: newID(), OrgID: orgs[1].ID, UserID: users[1].ID, CreatedAt: baseTime}); err != nil {
			return err
		}
		for i, o := range []*gatehouse.Organization{orgs[0], orgs[0], orgs[1]} {
			k := &gatehouse.APIKey{ID: newID(), OrgID: o.ID, Name: "key", Prefix: "gh_key_" + string(rune('a'+i)), SecretHash: newID(),
				Grants: []gatehouse.Grant{}, CreatedBy: users[0].ID, CreatedAt: baseTime.Add(-1e9 * time.Duration(i))}
			if err := tx.CreateAPIKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	ms, err := s.R().OrgMemberships(ctx, orgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].UserID != users[0].ID || ms[1].UserID != users[2].ID {
		t.Fatalf("OrgMemberships = %+v, want a then c", ms)
	}
	if ms[0].UserEmail != "a@example.com" || ms[0].UserName == "" || ms[0].RoleID != gatehouse.RoleViewerID || len(ms[0].Grants) != 1 {
		t.Errorf("member a = %+v", ms[0])
	}
	keys, err := s.R().OrgAPIKeys(ctx, orgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].CreatedAt.Before(keys[1].CreatedAt) {
		t.Fatalf("OrgAPIKeys = %+v, want two, oldest first", keys)
	}
	if ms, err := s.R().OrgMemberships(ctx, newID()); err != nil || len(ms) != 0 {
		t.Errorf("unknown org: %v %v", ms, err)
	}
}
