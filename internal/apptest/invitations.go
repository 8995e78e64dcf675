package apptest

// Helpers for the invitation, member and role tests: organizations,
// projects and folders through the API, invitation links read from the dev
// outbox, invite-and-accept in one call, and the few states the API cannot
// reach on purpose (a membership made behind its back, an organization
// setting without an endpoint), written through the store.

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// OrgHeader selects the organization a request acts in.
func OrgHeader(orgID string) map[string]string {
	return map[string]string{"X-Organization-Id": orgID}
}

// CreateOrg creates an organization as token's user (its first owner) and
// returns its id.
func (s *Server) CreateOrg(token, name string) string {
	s.TB.Helper()
	out := s.Must(201, Req{Method: "POST", Path: "/v1/organizations", Token: token, Body: map[string]string{"name": name}})
	return out["id"].(string)
}

// CreateProject creates a project in orgID and returns its id.
func (s *Server) CreateProject(token, orgID, name string) string {
	s.TB.Helper()
	out := s.Must(201, Req{Method: "POST", Path: "/v1/projects", Token: token, Header: OrgHeader(orgID),
		Body: map[string]string{"name": name}})
	return out["id"].(string)
}

// CreateFolder creates a folder in a project (at its root when parentID is
// "") and returns its id.
func (s *Server) CreateFolder(token, orgID, projectID, name, parentID string) string {
	s.TB.Helper()
	body := map[string]any{"name": name}
	if parentID != "" {
		body["parent_id"] = parentID
	}
	out := s.Must(201, Req{Method: "POST", Path: "/v1/projects/" + projectID + "/folders", Token: token, Header: OrgHeader(orgID), Body: body})
	return out["id"].(string)
}

// InvitationLinkRe finds an invitation link's token in a mail.
var InvitationLinkRe = regexp.MustCompile(`/invitations/([A-Za-z0-9_-]{20,100})`)

// InvitationTokens returns the tokens of every invitation mail to addr,
// newest first.
func (s *Server) InvitationTokens(addr string) []string {
	s.TB.Helper()
	var out []string
	for _, m := range s.MailTo(addr) {
		if m.Kind != "invitation" {
			continue
		}
		if c := InvitationLinkRe.FindStringSubmatch(m.Text); c != nil {
			out = append(out, c[1])
		}
	}
	return out
}

// LastInvitationToken returns the token of the newest invitation mail to
// addr, failing the test when there is none.
func (s *Server) LastInvitationToken(addr string) string {
	s.TB.Helper()
	ts := s.InvitationTokens(addr)
	if len(ts) == 0 {
		s.TB.Fatalf("no invitation mail to %s", addr)
	}
	return ts[0]
}

// Invite sends an invitation into orgID as token's user and fails the test
// unless it is created; body is the request body as-is.
func (s *Server) Invite(token, orgID string, body map[string]any) map[string]any {
	s.TB.Helper()
	return s.Must(201, Req{Method: "POST", Path: "/v1/members/invitations", Token: token, Header: OrgHeader(orgID), Body: body})
}

// InviteAndAccept signs up name <email>, invites them into orgID with access
// (a body holding role and/or permissions; email is added) and accepts as
// them. It returns the new member's access token and user.
func (s *Server) InviteAndAccept(inviterToken, orgID, name, email string, access map[string]any) (token string, user map[string]any) {
	s.TB.Helper()
	token, user = s.Signup(name, email)
	body := map[string]any{"email": email}
	for k, v := range access {
		body[k] = v
	}
	s.Invite(inviterToken, orgID, body)
	s.Must(200, Req{Method: "POST", Path: "/v1/invitations/" + s.LastInvitationToken(email) + "/accept", Token: token})
	return token, user
}

// StoreMembership makes userID a member of orgID directly in the store, for
// states no API call reaches (say, a member with a pending invitation).
func (s *Server) StoreMembership(orgID, userID, roleID string, grants []gatehouse.Grant) {
	s.TB.Helper()
	ctx := context.Background()
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	m := &gatehouse.Membership{ID: uuid.Must(uuid.NewV7()).String(), OrgID: orgID, UserID: userID, RoleID: roleID, Grants: grants, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateMembership(ctx, m); err != nil {
			return err
		}
		return tx.Notify(ctx, store.FlushAll)
	})
	if err != nil {
		s.TB.Fatalf("store membership: %v", err)
	}
}

// SetOrgSetting sets one key of an organization's settings in the store
// (settings such as invitations_per_day have no endpoint).
func (s *Server) SetOrgSetting(orgID, key string, value any) {
	s.TB.Helper()
	ctx := context.Background()
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		o, err := tx.OrgByID(ctx, orgID)
		if err != nil {
			return err
		}
		settings := map[string]any{}
		if len(o.Settings) > 0 {
			if err := json.Unmarshal(o.Settings, &settings); err != nil {
				return err
			}
		}
		settings[key] = value
		if o.Settings, err = json.Marshal(settings); err != nil {
			return err
		}
		o.UpdatedAt = s.Clock.Now().UTC().Truncate(time.Microsecond)
		return tx.UpdateOrg(ctx, o)
	})
	if err != nil {
		s.TB.Fatalf("set organization setting: %v", err)
	}
}

// AuditEvents returns orgID's audit events (newest first) whose action is
// action, or starts with it when it ends with ".".
func (s *Server) AuditEvents(orgID, action string) []*gatehouse.AuditEvent {
	s.TB.Helper()
	s.catchUpAudit() // seq and hashes as linked
	es, err := s.Store.R().ListAudit(context.Background(), gatehouse.AuditFilter{OrgID: orgID, Action: action, Page: gatehouse.PageRequest{Limit: 1000}})
	if err != nil {
		s.TB.Fatal(err)
	}
	return es
}

// AuditFor returns the newest event of orgID with action on target, or nil.
func (s *Server) AuditFor(orgID, action, targetID string) *gatehouse.AuditEvent {
	s.TB.Helper()
	for _, e := range s.AuditEvents(orgID, action) {
		if e.TargetID == targetID {
			return e
		}
	}
	return nil
}

// catchUpAudit links the audit events a background step has not linked yet
// (PostgreSQL), so that tests read every event with its place in the chain.
func (s *Server) catchUpAudit() {
	s.TB.Helper()
	if err := s.Store.CatchUpAudit(context.Background()); err != nil {
		s.TB.Fatalf("link audit events: %v", err)
	}
}
