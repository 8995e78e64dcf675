package service

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SSO manages organizations' single sign-on connections and signs people in
// through them.
type SSO struct {
	*base
	auth *Auth

	mu    sync.Mutex
	oidcs map[string]*cachedOIDC // connection id → discovered provider
	samls map[string]*cachedSAML // connection id → service provider
}

type cachedOIDC struct {
	updatedAt time.Time
	p         *sso.OIDC
}

func newSSO(b *base, auth *Auth) *SSO {
	return &SSO{base: b, auth: auth, oidcs: map[string]*cachedOIDC{}, samls: map[string]*cachedSAML{}}
}

// forget drops what is cached of a connection (changed or deleted).
func (s *SSO) forget(id string) {
	s.mu.Lock()
	delete(s.oidcs, id)
	delete(s.samls, id)
	s.mu.Unlock()
}

// oidc returns the connection's OpenID Connect client, discovered once per
// version of the connection.
func (s *SSO) oidc(c *gatehouse.SSOConnection) *sso.OIDC {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.oidcs[c.ID]; ok && e.updatedAt.Equal(c.UpdatedAt) {
		return e.p
	}
	p := sso.NewOIDC(c.Issuer, c.ClientID, c.ClientSecret, s.cfg.Now)
	if len(s.oidcs) > 10_000 {
		s.oidcs = map[string]*cachedOIDC{}
	}
	s.oidcs[c.ID] = &cachedOIDC{updatedAt: c.UpdatedAt, p: p}
	return p
}

// OIDCCallbackURL and SAMLACSURL are where identity providers send people back.
func (s *SSO) OIDCCallbackURL() string { return s.cfg.BaseURL + "/v1/auth/sso/oidc/callback" }
func (s *SSO) SAMLACSURL() string      { return s.cfg.BaseURL + "/v1/auth/sso/saml/acs" }

// SAMLMetadataURL is the service provider metadata (and entity id) of a SAML connection.
func (s *SSO) SAMLMetadataURL(connectionID string) string {
	return s.cfg.BaseURL + "/v1/auth/sso/saml/metadata/" + connectionID
}

var errNoSSO = &gatehouse.Error{Code: gatehouse.ENOTFOUND, Reason: "sso_not_configured",
	Message: "No single sign-on connection signs in this address."}

// ResolveConnection finds the connection for an address (by its domain) or by id.
func (s *SSO) ResolveConnection(ctx context.Context, email, connectionID string) (*gatehouse.SSOConnection, error) {
	switch {
	case connectionID != "":
		if !authz.IsUUID(connectionID) {
			return nil, errNoSSO
		}
		c, err := s.store.R().SSOConnection(ctx, "", connectionID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, errNoSSO
		}
		return c, err
	case email != "":
		e, ferr := ValidateEmail("email", email)
		if ferr != nil {
			return nil, fields(ferr)
		}
		c, err := s.store.R().SSOConnectionForDomain(ctx, EmailDomain(e))
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, errNoSSO
		}
		return c, err
	}
	return nil, gatehouse.Invalid("Give the email address to sign in, or the connection.",
		gatehouse.FieldError{Field: "email", Message: "is required (or connection_id)"})
}

// Start begins a sign-in through an organization's connection: the flow is
// stored like a social one and the browser goes to the connection's IdP.
func (s *SSO) Start(ctx context.Context, email, connectionID, redirectTo, mode string) (authURL, state string, err error) {
	conn, err := s.ResolveConnection(ctx, email, connectionID)
	if err != nil {
		return "", "", err
	}
	if redirectTo, err = SafeRedirect(s.cfg.BaseURL, redirectTo); err != nil {
		return "", "", err
	}
	if mode, err = validMode(mode); err != nil {
		return "", "", err
	}
	now := s.now()
	state = secret.Token("", 32)
	f := &store.AuthFlow{StateHash: stateHash(state), Provider: "sso", ConnectionID: conn.ID, RedirectTo: redirectTo, Mode: mode,
		ExpiresAt: now.Add(FlowTTL), CreatedAt: now}
	switch conn.Type {
	case gatehouse.SSOTypeOIDC:
		f.Nonce, f.Verifier = secret.Token("", 24), secret.Token("", 48)
		if authURL, err = s.oidc(conn).AuthURL(ctx, state, f.Nonce, f.Verifier, s.OIDCCallbackURL()); err != nil {
			return "", "", err
		}
	case gatehouse.SSOTypeSAML:
		if authURL, f.RequestID, err = s.samlAuthURL(conn, state); err != nil {
			return "", "", err
		}
	}
	if err := s.store.Tx(ctx, func(tx *store.Conn) error { return tx.CreateAuthFlow(ctx, f) }); err != nil {
		return "", "", err
	}
	return authURL, state, nil
}

// FinishOIDC completes a sign-in at /v1/auth/sso/oidc/callback.
func (s *SSO) FinishOIDC(ctx context.Context, actor gatehouse.Actor, cb Callback) (*SignIn, error) {
	f, err := s.useFlow(ctx, cb, "sso")
	if err != nil {
		return nil, err
	}
	conn, err := s.store.R().SSOConnection(ctx, "", f.ConnectionID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && conn.Type != gatehouse.SSOTypeOIDC) {
		return nil, errBadState
	}
	if err != nil {
		return nil, err
	}
	id, err := s.oidc(conn).Finish(ctx, cb.Code, f.Nonce, f.Verifier, s.OIDCCallbackURL())
	if err != nil {
		return nil, err
	}
	return s.complete(ctx, actor, conn, f, id)
}

var errOutsideDomains = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_outside_domains",
	Message: "The identity provider asserted an address outside this connection's domains."}

var errSSOLinkRefused = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "sso_link_refused",
	Message: "An account with this address exists and is neither a member of this organization nor invited to it; sign in the way you usually do."}

// complete signs in the identity a connection asserted:
//   - the address must be in the connection's domains, and not declared
//     unverified by the IdP (an organization's IdP speaks for its domains);
//   - it links to an existing account only when that account is a member
//     of the connection's organization or has a pending invitation there:
//     domains are claimed without proof of ownership, so a connection must
//     not take over outsiders' accounts;
//   - the session is marked as opened through this organization's SSO.
func (s *SSO) complete(ctx context.Context, actor gatehouse.Actor, conn *gatehouse.SSOConnection, f *store.AuthFlow, id *sso.Identity) (*SignIn, error) {
	if id.Email == "" || (id.EmailVerifiedSaid && !id.EmailVerified) {
		return nil, errUnverifiedEmail
	}
	if _, ferr := ValidateEmail("email", id.Email); ferr != nil || !CoversEmail(conn, id.Email) {
		return nil, errOutsideDomains
	}
	id.EmailVerified = true
	mayLink := func(u *gatehouse.User) error {
		return s.mayLink(ctx, conn.OrgID, u)
	}
	out := &SignIn{RedirectTo: f.RedirectTo, Mode: f.Mode}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if out.User, out.Created, err = s.auth.userForIdentity(ctx, tx, actor, "sso:"+conn.ID, id, mayLink); err != nil {
			return err
		}
		// The organization's identity provider answers for every factor:
		// no second step here, and the session counts as multi-factor.
		if out.Tokens, err = s.auth.openSessionAMR(ctx, tx, actor, out.User, []string{"fed"}); err != nil {
			return err
		}
		return tx.MarkSessionSSO(ctx, out.Tokens.SessionID, conn.OrgID, conn.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SSO) mayLink(ctx context.Context, orgID string, u *gatehouse.User) error {
	_, err := s.store.R().Membership(ctx, orgID, u.ID)
	if err == nil {
		return nil
	}
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	inv, err := s.store.R().PendingInvitationFor(ctx, orgID, u.Email)
	if err == nil && inv != nil {
		return nil
	}
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	return errSSOLinkRefused
}

// SessionOrg is the organization whose SSO opened a session ("" when it was
// opened otherwise), for pages that offer an SSO-only step.
func (s *SSO) SessionOrg(ctx context.Context, sessionID string) (string, error) {
	orgID, _, err := s.store.R().SessionSSO(ctx, sessionID)
	return orgID, err
}
