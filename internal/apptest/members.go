package apptest

// Helpers that make organization members directly through the store (the
// only way besides creating the organization is accepting an invitation),
// and that build permission lists for them.

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Member is a signed-in user who belongs to an organization.
type Member struct {
	UserID string
	Email  string
	Token  string
}

// AddStoreMember signs up a new user and makes them a member of orgID with
// roleID ("" for none) and grants.
func (s *Server) AddStoreMember(orgID, name, email, roleID string, grants []gatehouse.Grant) *Member {
	s.TB.Helper()
	token, user := s.Signup(name, email)
	id, _ := user["id"].(string)
	if id == "" {
		s.TB.Fatalf("signup of %s answered no user id: %v", email, user)
	}
	s.JoinStore(orgID, id, roleID, grants)
	return &Member{UserID: id, Email: email, Token: token}
}

// JoinStore makes an existing user a member of orgID with roleID ("" for none)
// and grants, which must be a valid permission list naming ids of orgID.
// It announces the change as the services do (member:<org>:<user>).
func (s *Server) JoinStore(orgID, userID, roleID string, grants []gatehouse.Grant) {
	s.TB.Helper()
	ctx := context.Background()
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		if err := checkStoreGrants(ctx, tx, orgID, grants); err != nil {
			return err
		}
		m := &gatehouse.Membership{ID: uuid.Must(uuid.NewV7()).String(), OrgID: orgID, UserID: userID,
			RoleID: roleID, Grants: grants, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return err
		}
		return tx.Notify(ctx, MemberNotice(orgID, userID))
	})
	if err != nil {
		s.TB.Fatalf("add member %s to %s: %v", userID, orgID, err)
	}
}

// SetStoreRights replaces a member's role and grants and announces the
// change, through this server's store (so other processes hear of it only
// through PostgreSQL NOTIFY).
func (s *Server) SetStoreRights(orgID, userID, roleID string, grants []gatehouse.Grant) {
	s.TB.Helper()
	ctx := context.Background()
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		if err := checkStoreGrants(ctx, tx, orgID, grants); err != nil {
			return err
		}
		m := &gatehouse.Membership{OrgID: orgID, UserID: userID, RoleID: roleID, Grants: grants}
		if err := tx.UpdateMembership(ctx, m, s.Clock.Now().UTC()); err != nil {
			return err
		}
		return tx.Notify(ctx, MemberNotice(orgID, userID))
	})
	if err != nil {
		s.TB.Fatalf("set rights of %s in %s: %v", userID, orgID, err)
	}
}

// MemberNotice is the notification that drops a member's cached rights.
func MemberNotice(orgID, userID string) string { return "member:" + orgID + ":" + userID }

// checkStoreGrants validates a permission list as the services do: the grammar,
// then that every project and folder it names is in the organization.
func checkStoreGrants(ctx context.Context, tx *store.Conn, orgID string, grants []gatehouse.Grant) error {
	for i := range grants {
		if grants[i].Permission == nil {
			grants[i].Permission = []gatehouse.AreaGrant{}
		}
	}
	refs, err := authz.Validate(orgID, grants, "permissions")
	if err != nil {
		return err
	}
	found, err := tx.ExistingProjects(ctx, orgID, refs.ProjectIDs())
	if err != nil {
		return err
	}
	folders, err := tx.FoldersByID(ctx, orgID, refs.FolderIDs())
	if err != nil {
		return err
	}
	folderProject := map[string]string{}
	for _, f := range folders {
		folderProject[f.ID] = f.ProjectID
	}
	return refs.Verify(found, folderProject)
}

// ParsePermissions reads a permission list from JSON, strictly (unknown
// fields fail the test): either an array of grants or an invitation body
// ({"email", "permissions"}) as the seed's "Send invitation" examples are
// (seedtest.WithIDs puts real ids in place of the seed's).
func ParsePermissions(tb testing.TB, body string) []gatehouse.Grant {
	tb.Helper()
	strict := func(v any) {
		tb.Helper()
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			tb.Fatalf("parse permissions: %v", err)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(body), "[") {
		var grants []gatehouse.Grant
		strict(&grants)
		return grants
	}
	var in struct {
		Email       string            `json:"email"`
		Permissions []gatehouse.Grant `json:"permissions"`
	}
	strict(&in)
	return in.Permissions
}

// OneFolderGrant is the seed's custom shape reduced to one folder: projects
// custom on projectID whose folders area is custom, with action on folderID
// and its descendants.
func OneFolderGrant(projectID, folderID, action string) gatehouse.Grant {
	return gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: projectID, Name: gatehouse.ProjectCustom,
		Permission: []gatehouse.AreaGrant{{Name: gatehouse.AreaFolders, Action: gatehouse.ActionCustom,
			Folders: []gatehouse.FolderGrant{{FolderID: folderID, Action: action}}}}}
}

// FullAccessGrant is projects full-access on projectID (or "*").
func FullAccessGrant(projectID string) gatehouse.Grant {
	return gatehouse.Grant{EntityType: gatehouse.EntityProjects, EntityID: projectID, Name: gatehouse.ProjectFullAccess,
		Permission: []gatehouse.AreaGrant{}}
}

// TargetAudit lists the organization's audit events about target, newest first.
func (s *Server) TargetAudit(orgID, targetID string) []*gatehouse.AuditEvent {
	s.TB.Helper()
	s.catchUpAudit() // seq and hashes as linked
	evs, err := s.Store.R().ListAudit(context.Background(), gatehouse.AuditFilter{OrgID: orgID, TargetID: targetID,
		Page: gatehouse.PageRequest{Limit: 100}})
	if err != nil {
		s.TB.Fatalf("list audit: %v", err)
	}
	return evs
}

// TargetAuditActions lists the actions of the audit events about target in the
// order they were written (their place in the organization's chain).
func (s *Server) TargetAuditActions(orgID, targetID string) []string {
	s.TB.Helper()
	evs := s.TargetAudit(orgID, targetID)
	sort.Slice(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq })
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Action
	}
	return out
}
