package service

// SCIM Users: creating one makes it a member of the token's organization
// (linking the account that holds the verified email, or creating one
// without a password); deactivating or deleting one removes the membership,
// ends the person's sessions in the organization and revokes the API keys
// they made there; reactivating brings the membership back with its role.

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SCIMWelcomeTTL is how long the set-password link mailed to a provisioned
// account without a password works.
const SCIMWelcomeTTL = 7 * 24 * time.Hour

// MaxSCIMPage caps SCIM's count.
const MaxSCIMPage = 200

// SCIMUserInput is what a provider says about a user (create, replace).
// Active nil leaves it as it is (active on create).
type SCIMUserInput struct {
	UserName   string
	ExternalID string
	GivenName  string
	FamilyName string
	// DisplayName names a new account (else the given and family names, else the email).
	DisplayName string
	// Email is the primary email (else userName).
	Email  string
	Active *bool
}

var errSCIMUserNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "User not found.")

func scimUniqueness(msg string) error {
	return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "uniqueness", Message: msg}
}

// GetUser returns a user of the caller's organization.
func (s *SCIM) GetUser(ctx context.Context, sc *SCIMCaller, id string) (*gatehouse.SCIMUser, error) {
	if !authz.IsUUID(id) {
		return nil, errSCIMUserNotFound
	}
	u, err := s.store.R().SCIMUser(ctx, sc.OrgID, strings.ToLower(id))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errSCIMUserNotFound
	}
	return u, err
}

// ListUsers answers the users matching f, from startIndex (1-based), at
// most count.
func (s *SCIM) ListUsers(ctx context.Context, sc *SCIMCaller, f *gatehouse.SCIMFilter, startIndex, count int) ([]*gatehouse.SCIMUser, int, error) {
	if startIndex < 1 {
		startIndex = 1
	}
	count = min(max(count, 0), MaxSCIMPage)
	return s.store.R().ListSCIMUsers(ctx, sc.OrgID, f, startIndex-1, count)
}

func (in *SCIMUserInput) clean() (email string, err error) {
	in.UserName = strings.TrimSpace(in.UserName)
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	in.GivenName, in.FamilyName = strings.TrimSpace(in.GivenName), strings.TrimSpace(in.FamilyName)
	var ferrs []*gatehouse.FieldError
	if in.UserName == "" {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "userName", Message: "is required"})
	} else if len(in.UserName) > 320 {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "userName", Message: "must be at most 320 characters"})
	}
	for f, v := range map[string]string{"externalId": in.ExternalID, "name.givenName": in.GivenName, "name.familyName": in.FamilyName} {
		if len(v) > 200 {
			ferrs = append(ferrs, &gatehouse.FieldError{Field: f, Message: "must be at most 200 characters"})
		}
	}
	email = in.Email
	field := "emails"
	if strings.TrimSpace(email) == "" {
		email, field = in.UserName, "userName"
	}
	if in.UserName != "" || field == "emails" {
		var eerr *gatehouse.FieldError
		email, eerr = ValidateEmail(field, email)
		ferrs = append(ferrs, eerr)
	}
	return email, fields(ferrs...)
}

func (in *SCIMUserInput) displayName(email string) string {
	name := strings.TrimSpace(in.DisplayName)
	if name == "" {
		name = strings.TrimSpace(in.GivenName + " " + in.FamilyName)
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	if n, ferr := validateName("name", name, true); ferr == nil {
		return n
	}
	return email
}

// CreateUser provisions a user into the caller's organization.
func (s *SCIM) CreateUser(ctx context.Context, sc *SCIMCaller, in SCIMUserInput) (*gatehouse.SCIMUser, error) {
	email, err := in.clean()
	if err != nil {
		return nil, err
	}
	active := in.Active == nil || *in.Active
	var userID string
	var welcome, takenOver bool
	var sessions, keys []string
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, sc.OrgID); err != nil {
			return err
		}
		if err := s.uniqueUserName(ctx, tx, sc.OrgID, in.UserName, ""); err != nil {
			return err
		}
		now := s.now()
		u, err := tx.UserByEmail(ctx, email)
		switch gatehouse.ErrorCode(err) {
		case "":
			if _, err := tx.SCIMUser(ctx, sc.OrgID, u.ID); err == nil {
				return scimUniqueness("This account is already a user of the organization.")
			}
			if !u.EmailVerified {
				// Nobody proved this mailbox: whoever registered it loses its
				// password and sessions (as with a provider's verified
				// sign-in), and the mailbox's owner gets the set-password link.
				if err := tx.SetUserPassword(ctx, u.ID, "", now); err != nil {
					return err
				}
				if sessions, err = tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
					return err
				}
				for _, msg := range notices(sessions, nil) {
					if err := tx.Notify(ctx, msg); err != nil {
						return err
					}
				}
				welcome, takenOver = true, true
			}
		case gatehouse.ENOTFOUND:
			// An account without a password: it signs in through the
			// organization's SSO, or sets a password from the mailed link.
			u = &gatehouse.User{ID: newID(), Email: email, Name: in.displayName(email), CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			welcome = true
		default:
			return err
		}
		userID = u.ID
		su := &gatehouse.SCIMUser{OrgID: sc.OrgID, UserID: u.ID, UserName: in.UserName, ExternalID: in.ExternalID,
			GivenName: in.GivenName, FamilyName: in.FamilyName, Grants: []gatehouse.Grant{}}
		if err := tx.PutSCIMUser(ctx, su, now); err != nil {
			return scimConflict(err)
		}
		if err := s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, "user.provisioned", "user", u.ID, map[string]any{
			"email": u.Email, "user_name": in.UserName, "external_id": in.ExternalID, "new_account": welcome && !takenOver,
			"unverified_account_taken_over": takenOver}); err != nil {
			return err
		}
		if active {
			if err := s.activate(ctx, tx, sc, su, false); err != nil {
				return err
			}
		}
		if welcome {
			return s.mailWelcome(ctx, tx, sc.OrgID, u, now)
		}
		return nil
	})
	s.ended(ctx, sessions, keys)
	if err != nil {
		return nil, err
	}
	return s.store.R().SCIMUser(ctx, sc.OrgID, userID)
}

func scimConflict(err error) error {
	if e := gatehouse.AsError(err); e.Code == gatehouse.ECONFLICT {
		return scimUniqueness(e.Message)
	}
	return err
}

// uniqueUserName refuses a userName (compared case-insensitively) another
// user of the organization than self holds, as its userName or email.
func (s *SCIM) uniqueUserName(ctx context.Context, tx *store.Conn, orgID, userName, self string) error {
	f := &gatehouse.SCIMFilter{Op: "or", Left: &gatehouse.SCIMFilter{Op: "eq", Attr: "userName", Value: userName},
		Right: &gatehouse.SCIMFilter{Op: "eq", Attr: "emails.value", Value: userName}}
	us, _, err := tx.ListSCIMUsers(ctx, orgID, f, 0, 2)
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.UserID != self {
			return scimUniqueness("Another user of this organization has this userName.")
		}
	}
	return nil
}

// mailWelcome mails a new account without a password the link that sets one.
func (s *SCIM) mailWelcome(ctx context.Context, tx *store.Conn, orgID string, u *gatehouse.User, now time.Time) error {
	org, err := tx.OrgByID(ctx, orgID)
	if err != nil {
		return err
	}
	token := secret.Token(ResetTokenPrefix, 32)
	if err := tx.CreateResetToken(ctx, secret.HashToken(token), u.ID, now.Add(SCIMWelcomeTTL), now); err != nil {
		return err
	}
	link := strings.TrimRight(s.cfg.BaseURL, "/") + "/set-password?token=" + token
	m, err := mailer.Compose("scim_welcome", u.Email, map[string]any{"Name": u.Name, "Org": org.Name, "Email": u.Email,
		"Link": link, "ValidDays": int(SCIMWelcomeTTL.Hours() / 24)})
	if err != nil {
		return gatehouse.Internal(err)
	}
	m.Kind, m.RefID = "scim_welcome", u.ID
	return s.mail(ctx, tx, m)
}

// UpdateUser replaces what the provider says about a user (PUT, and PATCH
// once applied), then applies in.Active.
func (s *SCIM) UpdateUser(ctx context.Context, sc *SCIMCaller, id string, in SCIMUserInput) (*gatehouse.SCIMUser, error) {
	if !authz.IsUUID(id) {
		return nil, errSCIMUserNotFound
	}
	id = strings.ToLower(id)
	if _, err := in.clean(); err != nil {
		return nil, err
	}
	var sessions, keys []string
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, sc.OrgID); err != nil {
			return err
		}
		su, err := tx.SCIMUser(ctx, sc.OrgID, id)
		if err != nil {
			return errSCIMUserNotFound
		}
		if err := s.uniqueUserName(ctx, tx, sc.OrgID, in.UserName, id); err != nil {
			return err
		}
		before := map[string]any{"user_name": su.UserName, "external_id": su.ExternalID, "given_name": su.GivenName, "family_name": su.FamilyName}
		after := map[string]any{"user_name": in.UserName, "external_id": in.ExternalID, "given_name": in.GivenName, "family_name": in.FamilyName}
		changed := false
		for k, v := range before {
			changed = changed || after[k] != v
		}
		su.UserName, su.ExternalID, su.GivenName, su.FamilyName = in.UserName, in.ExternalID, in.GivenName, in.FamilyName
		if changed || !su.Provisioned {
			if err := tx.PutSCIMUser(ctx, su, s.now()); err != nil {
				return scimConflict(err)
			}
			if err := s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, "user.provisioning_updated", "user", id, map[string]any{"before": before, "after": after}); err != nil {
				return err
			}
		}
		switch {
		case in.Active == nil || *in.Active == su.Active:
			return nil
		case *in.Active:
			return s.activate(ctx, tx, sc, su, true)
		default:
			sessions, keys, err = s.deactivate(ctx, tx, sc, su, "deactivated")
			return err
		}
	})
	s.ended(ctx, sessions, keys)
	if err != nil {
		return nil, err
	}
	return s.store.R().SCIMUser(ctx, sc.OrgID, id)
}

// DeleteUser deprovisions a user: the membership goes, as on deactivation,
// and the organization forgets what its provider said (the account stays).
func (s *SCIM) DeleteUser(ctx context.Context, sc *SCIMCaller, id string) error {
	if !authz.IsUUID(id) {
		return errSCIMUserNotFound
	}
	id = strings.ToLower(id)
	var sessions, keys []string
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, sc.OrgID); err != nil {
			return err
		}
		su, err := tx.SCIMUser(ctx, sc.OrgID, id)
		if err != nil {
			return errSCIMUserNotFound
		}
		if su.Active {
			if sessions, keys, err = s.deactivate(ctx, tx, sc, su, "deleted"); err != nil {
				return err
			}
		}
		if err := tx.DeleteSCIMUser(ctx, sc.OrgID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, "user.deprovisioned", "user", id, map[string]any{"email": su.Email, "user_name": su.UserName})
	})
	s.ended(ctx, sessions, keys)
	return err
}

// activate makes su a member again, with the role and grants it had (a
// custom role deleted meanwhile is dropped).
func (s *SCIM) activate(ctx context.Context, tx *store.Conn, sc *SCIMCaller, su *gatehouse.SCIMUser, again bool) error {
	roleID, grants := su.RoleID, su.Grants
	if roleID != "" {
		if r, err := s.access.role(ctx, sc.OrgID, roleID); err != nil || r == nil {
			roleID = ""
		}
	}
	if grants == nil {
		grants = []gatehouse.Grant{}
	}
	if _, err := sc.caller.MayGrant(ctx, tx, roleID, grants, "give this user back their access"); err != nil {
		return err
	}
	m := &gatehouse.Membership{ID: newID(), OrgID: sc.OrgID, UserID: su.UserID, RoleID: roleID, Grants: grants, CreatedAt: s.now()}
	if err := tx.CreateMembership(ctx, m); err != nil {
		return err
	}
	verb := "member.added"
	if again {
		verb = "member.reactivated"
	}
	if err := s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, verb, "member", su.UserID, map[string]any{
		"email": su.Email, "role_id": roleID, "permissions": grants, "source": "scim"}); err != nil {
		return err
	}
	su.Active = true
	return tx.Notify(ctx, memberChanged(sc.OrgID, su.UserID))
}

// deactivate removes su's membership (remembering its role and grants),
// ends their sessions acting in the organization and revokes the API keys
// they made in it. The last owner stays. It returns the ended sessions and
// keys, for s.ended after commit.
func (s *SCIM) deactivate(ctx context.Context, tx *store.Conn, sc *SCIMCaller, su *gatehouse.SCIMUser, why string) (sessions, keys []string, err error) {
	m, err := tx.Membership(ctx, sc.OrgID, su.UserID)
	if err != nil {
		return nil, nil, err
	}
	current, err := s.access.Compile(ctx, CompileRequest{OrgID: sc.OrgID, RoleID: m.RoleID, Grants: m.Grants})
	if err != nil {
		return nil, nil, err
	}
	if err := sc.caller.RequireCovers(current, "remove this member"); err != nil {
		return nil, nil, err
	}
	if owner, _ := current.Owner(); owner {
		n, err := s.ownerCount(ctx, tx, sc.OrgID)
		if err != nil {
			return nil, nil, err
		}
		if n <= 1 {
			return nil, nil, lastOwner()
		}
	}
	su.RoleID, su.Grants = m.RoleID, m.Grants
	if err := tx.PutSCIMUser(ctx, su, s.now()); err != nil {
		return nil, nil, err
	}
	if err := tx.DeleteMembership(ctx, sc.OrgID, su.UserID); err != nil {
		return nil, nil, err
	}
	if sessions, err = tx.DeleteUserOrgSessions(ctx, su.UserID, sc.OrgID); err != nil {
		return nil, nil, err
	}
	if keys, err = tx.DeleteUserOrgAPIKeys(ctx, su.UserID, sc.OrgID); err != nil {
		return nil, nil, err
	}
	if err := s.audit(ctx, tx, sc.caller.Actor, sc.OrgID, "member.removed", "member", su.UserID, map[string]any{
		"email": su.Email, "role_id": m.RoleID, "permissions": m.Grants, "source": "scim", "reason": why,
		"sessions_ended": len(sessions), "api_keys_revoked": keys}); err != nil {
		return nil, nil, err
	}
	for _, msg := range append([]string{memberChanged(sc.OrgID, su.UserID)}, notices(sessions, keys)...) {
		if err := tx.Notify(ctx, msg); err != nil {
			return nil, nil, err
		}
	}
	su.Active = false
	return sessions, keys, s.invitations.RevokeOrphaned(ctx, tx, sc.OrgID, su.UserID)
}

func notices(sessions, keys []string) []string {
	var out []string
	for _, id := range sessions {
		out = append(out, sessionEnded(id))
	}
	for _, id := range keys {
		out = append(out, apiKeyEnded(id))
	}
	return out
}

// ended forgets ended sessions in this process's cache at once (the other
// processes hear of them through the notices sent at commit).
func (s *SCIM) ended(_ context.Context, sessions, _ []string) {
	if len(sessions) > 0 {
		s.auth.EvictSessions(sessions...)
	}
}

// ownerCount counts the members holding organization owner.
func (s *SCIM) ownerCount(ctx context.Context, tx *store.Conn, orgID string) (int, error) {
	return (&Members{base: s.base, access: s.access}).ownerCount(ctx, tx, orgID)
}
