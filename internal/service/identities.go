package service

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

var errUnverifiedEmail = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "provider_email_unverified",
	Message: "The identity provider has not verified this account's email address, so it cannot sign in here. Verify it there, or sign up with a password."}

// userForIdentity finds or makes the account an outside identity signs in
// to, inside tx:
//   - an identity already linked signs in to its account;
//   - otherwise only a verified address counts: it links to the account
//     with that email (mayLink, when set, may refuse), or creates a verified
//     account without a password;
//   - linking to an account whose own address was never verified drops the
//     password whoever registered it chose and ends its sessions: the
//     provider, not they, proved the mailbox.
func (a *Auth) userForIdentity(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, provider string, id *sso.Identity, mayLink func(*gatehouse.User) error) (*gatehouse.User, bool, error) {
	now := a.now()
	if id.Subject == "" || !storableText(id.Subject) || len(id.Subject) > 255 {
		return nil, false, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_id_token", Message: "The identity provider sent no subject."}
	}
	link, err := tx.IdentityBySubject(ctx, provider, id.Subject)
	if err == nil {
		u, err := tx.UserByID(ctx, link.UserID)
		if err != nil {
			return nil, false, err
		}
		email := link.Email
		if id.EmailVerified && id.Email != "" && storableText(id.Email) {
			email = truncate(id.Email, 254)
		}
		return u, false, tx.TouchIdentity(ctx, link.ID, email, now)
	}
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, false, err
	}
	if !id.EmailVerified {
		return nil, false, errUnverifiedEmail
	}
	email, ferr := ValidateEmail("email", id.Email)
	if ferr != nil {
		return nil, false, errUnverifiedEmail
	}
	created := false
	u, err := tx.UserByEmail(ctx, email)
	switch {
	case err == nil:
		if mayLink != nil {
			if err := mayLink(u); err != nil {
				return nil, false, err
			}
		}
		if !u.EmailVerified {
			if err := a.takeOverUnverified(ctx, tx, actor, u); err != nil {
				return nil, false, err
			}
		}
	case gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND:
		name, nerr := validateName("name", id.Name, false)
		if nerr != nil || name == "" {
			name = truncate(strings.SplitN(email, "@", 2)[0], 100)
		}
		u = &gatehouse.User{ID: newID(), Email: email, Name: name, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return nil, false, err
		}
		created = true
		actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
		if err := a.audit(ctx, tx, actor, "", "user.registered", "user", u.ID, map[string]any{"email": u.Email, "name": u.Name, "provider": provider}); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, err
	}
	link = &gatehouse.Identity{ID: newID(), UserID: u.ID, Provider: provider, Subject: id.Subject, Email: email, CreatedAt: now, LastUsedAt: now}
	if err := tx.CreateIdentity(ctx, link); err != nil {
		return nil, false, err
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
	return u, created, a.audit(ctx, tx, actor, "", "user.identity_linked", "identity", link.ID, map[string]any{"provider": provider, "email": email})
}

// takeOverUnverified gives an account nobody verified to the person whose
// provider just proved the address.
func (a *Auth) takeOverUnverified(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) error {
	now := a.now()
	if err := tx.SetUserPassword(ctx, u.ID, "", now); err != nil {
		return err
	}
	if err := tx.MarkEmailVerified(ctx, u.ID, now); err != nil {
		return err
	}
	ended, err := tx.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return err
	}
	tx.AfterCommit(func() { a.ended(ctx, ended...) })
	u.PasswordHash, u.EmailVerified = "", true
	return nil
}

// Identities lists the caller's linked identities.
func (a *Auth) Identities(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.Identity, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	ids, err := a.store.R().UserIdentities(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return ids, a.nameConnections(ctx, ids)
}

// Unlink removes one of the caller's identities, unless it is their last way
// to sign in (no password and no other identity): 409 last_sign_in_method.
func (a *Auth) Unlink(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	notFound := gatehouse.Errorf(gatehouse.ENOTFOUND, "Identity not found.")
	if !storableText(id) {
		return notFound
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		ids, err := tx.UserIdentities(ctx, p.UserID)
		if err != nil {
			return err
		}
		var found *gatehouse.Identity
		for _, i := range ids {
			if i.ID == id {
				found = i
			}
		}
		if found == nil {
			return notFound
		}
		if !u.HasPassword() && len(ids) == 1 {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "last_sign_in_method",
				Message: "This is your only way to sign in: set a password (POST /v1/auth/set-password) or link another account first."}
		}
		if _, err := tx.DeleteIdentity(ctx, p.UserID, id); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.identity_unlinked", "identity", id, map[string]any{"provider": found.Provider})
	})
}

// nameConnections fills in the SSO connection names of "sso:" identities.
func (a *Auth) nameConnections(ctx context.Context, ids []*gatehouse.Identity) error {
	for _, i := range ids {
		if cid, ok := strings.CutPrefix(i.Provider, "sso:"); ok {
			name, err := a.store.R().SSOConnectionName(ctx, cid)
			if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				return err
			}
			i.ConnectionName = name
		}
	}
	return nil
}
