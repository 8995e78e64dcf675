package service

// SCIM 2.0 provisioning (RFC 7643, RFC 7644): an organization's identity
// provider creates, updates and deactivates its members through a bearer
// token. This file holds the tokens and what a request holding one may do;
// scim_users.go and scim_groups.go hold the resources.

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SCIMTokenPrefix starts every SCIM token secret, so secret scanners can
// find leaks.
const SCIMTokenPrefix = "gh_scim_"

// SCIM manages provisioning tokens and the users and groups a token's
// identity provider provisions.
type SCIM struct {
	*base
	access      *Access
	auth        *Auth
	invitations *Invitations
}

func newSCIM(b *base, access *Access, auth *Auth, invitations *Invitations) *SCIM {
	return &SCIM{base: b, access: access, auth: auth, invitations: invitations}
}

var errSCIMTokenNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "SCIM token not found.")

// CreateToken makes a token: members write. The secret is returned this once.
func (s *SCIM) CreateToken(ctx context.Context, c *Caller, name string) (*gatehouse.SCIMToken, string, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, "", err
	}
	if c.Principal.Kind != gatehouse.PrincipalUser {
		// The token acts with its creator's rights: a person's.
		return nil, "", &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "user_only", Message: "Only a signed-in member may create SCIM tokens, not an API key."}
	}
	if strings.TrimSpace(name) == "" {
		name = "SCIM"
	}
	name, nerr := validateName("name", name, true)
	if err := fields(nerr); err != nil {
		return nil, "", err
	}
	secretText := secret.Token(SCIMTokenPrefix, 32)
	t := &gatehouse.SCIMToken{ID: newID(), OrgID: c.OrgID, Name: name, Prefix: secretText[:len(SCIMTokenPrefix)+6],
		SecretHash: secret.HashToken(secretText), CreatedBy: c.Principal.UserID, CreatedAt: s.now()}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateSCIMToken(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "scim_token.created", "scim_token", t.ID, map[string]any{"name": t.Name, "prefix": t.Prefix})
	})
	if err != nil {
		return nil, "", err
	}
	return t, secretText, nil
}

// ListTokens lists the organization's tokens: members read.
func (s *SCIM) ListTokens(ctx context.Context, c *Caller, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.SCIMToken], error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return gatehouse.Page[*gatehouse.SCIMToken]{}, err
	}
	ts, err := s.store.R().ListSCIMTokens(ctx, c.OrgID, page)
	if err != nil {
		return gatehouse.Page[*gatehouse.SCIMToken]{}, err
	}
	return gatehouse.MakePage(ts, page, func(t *gatehouse.SCIMToken) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: t.CreatedAt, ID: t.ID}
	}), nil
}

// RevokeToken deletes a token: members write. It fails on its very next
// request (tokens are looked up on every request, never cached).
func (s *SCIM) RevokeToken(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errSCIMTokenNotFound
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		t, err := tx.SCIMToken(ctx, c.OrgID, id)
		if err != nil {
			return errSCIMTokenNotFound
		}
		if _, err := tx.DeleteSCIMToken(ctx, c.OrgID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "scim_token.revoked", "scim_token", id, map[string]any{"name": t.Name, "prefix": t.Prefix})
	})
}

// SCIMCaller is a request holding a SCIM token: it acts in the token's
// organization only, with the rights of the member who made the token as
// they are now (a token never does more than its creator can), and needs
// members write there.
type SCIMCaller struct {
	Token  *gatehouse.SCIMToken
	OrgID  string
	caller *Caller
}

var errSCIMCreatorGone = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden",
	Message: "The member who created this SCIM token may no longer manage members; create a new token."}

var errBadSCIMToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_token", Message: "The SCIM bearer token is missing, invalid or revoked."}

// Authenticate resolves a SCIM bearer token. actor carries the request's
// address and id; its kind and id become the token's.
func (s *SCIM) Authenticate(ctx context.Context, actor gatehouse.Actor, secretText string) (*SCIMCaller, error) {
	if !strings.HasPrefix(secretText, SCIMTokenPrefix) || len(secretText) > 200 {
		return nil, errBadSCIMToken
	}
	t, err := s.store.R().SCIMTokenBySecretHash(ctx, secret.HashToken(secretText))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errBadSCIMToken
	}
	if err != nil {
		return nil, err
	}
	if !secret.Equal(t.SecretHash, secret.HashToken(secretText)) {
		return nil, errBadSCIMToken
	}
	set, err := s.access.MemberRights(ctx, t.OrgID, t.CreatedBy)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errSCIMCreatorGone
	}
	if err != nil {
		return nil, err
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.ActorSCIM, t.ID, t.Name
	c := &Caller{Actor: actor, OrgID: t.OrgID, Rights: set, access: s.access,
		Principal: &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: t.CreatedBy, OrgID: t.OrgID, Name: t.Name}}
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, errSCIMCreatorGone
	}
	if now := s.now(); now.Sub(t.LastUsedAt) > 60e9 {
		_ = s.store.Tx(ctx, func(tx *store.Conn) error { return tx.TouchSCIMToken(ctx, t.ID, now) })
	}
	return &SCIMCaller{Token: t, OrgID: t.OrgID, caller: c}, nil
}
