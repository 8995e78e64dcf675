package service

import (
	"context"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Rules that make `authentication: sso` invitations and enforced
// connections hold (invitations.go and auth.go call them).

// requireSSOCover decides whether an organization may invite email with
// `authentication: sso`: one of its own SSO connections must cover the
// address's domain, else 422 sso_connection_required.
func requireSSOCover(ctx context.Context, conn *store.Conn, orgID, email string) error {
	c, err := conn.SSOConnectionForDomain(ctx, EmailDomain(email))
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	if c == nil || c.OrgID != orgID {
		return &gatehouse.Error{Code: gatehouse.EUNPROCESSABLE, Reason: "sso_connection_required",
			Message: "An sso invitation needs one of the organization's SSO connections to cover the invitee's email domain; add the domain to a connection, or invite with password authentication.",
			Fields:  []gatehouse.FieldError{{Field: "authentication", Message: "needs an SSO connection covering " + EmailDomain(email)}}}
	}
	return nil
}

// ssoRequired is the refusal that sends someone to their organization's
// connection, with where to start.
func (b *base) ssoRequired(c *gatehouse.SSOConnection, email, message string) error {
	extra := map[string]any{}
	if c != nil {
		q := url.Values{"connection_id": {c.ID}}
		if email != "" {
			q.Set("email", email)
		}
		extra["connection_id"] = c.ID
		extra["connection_name"] = c.Name
		extra["sso_url"] = b.cfg.BaseURL + "/v1/auth/sso?" + q.Encode()
	}
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "sso_required", Message: message, Extra: extra}
}

// checkSSOAccept decides whether an `authentication: sso` invitation may be
// accepted: only by the invited address, signed in through this
// organization's SSO (the session says so). Creating an account with a
// password, or a password or social session, is 403 sso_required.
func (s *Invitations) checkSSOAccept(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation, p *gatehouse.Principal) (refusal, err error) {
	if inv.Authentication != gatehouse.AuthSSO {
		return nil, nil
	}
	c, err := tx.SSOConnectionForDomain(ctx, EmailDomain(inv.Email))
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	if c != nil && c.OrgID != inv.OrgID {
		c = nil
	}
	refuse := s.ssoRequired(c, inv.Email, "This invitation is accepted by signing in through the organization's single sign-on with "+inv.Email+".")
	if p == nil || p.Kind != gatehouse.PrincipalUser || p.SessionID == "" {
		return refuse, nil
	}
	orgID, _, err := tx.SessionSSO(ctx, p.SessionID)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	if orgID != inv.OrgID {
		return refuse, nil
	}
	return nil, nil
}

// SSOConnectionFor tells how an sso invitation is accepted: the connection
// covering its address in its organization, or nil.
func (s *Invitations) SSOConnectionFor(ctx context.Context, inv *gatehouse.Invitation) (*gatehouse.SSOConnection, error) {
	if inv.Authentication != gatehouse.AuthSSO {
		return nil, nil
	}
	c, err := s.store.R().SSOConnectionForDomain(ctx, EmailDomain(inv.Email))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && c.OrgID != inv.OrgID) {
		return nil, nil
	}
	return c, err
}

// enforcedSSO decides whether u must sign in through SSO instead: a
// connection covering u's domain is enforced and belongs to an organization
// u is a member of. It answers 403 sso_required with where to go.
func (a *Auth) enforcedSSO(ctx context.Context, u *gatehouse.User) error {
	return a.enforcedSSOIn(ctx, a.store.R(), u)
}

// enforcedSSOIn is enforcedSSO reading through conn (a transaction).
func (a *Auth) enforcedSSOIn(ctx context.Context, conn *store.Conn, u *gatehouse.User) error {
	c, err := conn.SSOConnectionForDomain(ctx, EmailDomain(u.Email))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if !c.Enforced {
		return nil
	}
	if _, err := conn.Membership(ctx, c.OrgID, u.ID); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil
		}
		return err
	}
	return a.ssoRequired(c, u.Email, "Your organization requires signing in through its single sign-on ("+c.Name+").")
}
