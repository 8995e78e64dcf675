package service

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

type cachedSAML struct {
	updatedAt time.Time
	sp        *sso.SAML
}

// saml returns the service provider of a SAML connection, built once per
// version of the connection.
func (s *SSO) saml(c *gatehouse.SSOConnection) (*sso.SAML, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.samls[c.ID]; ok && e.updatedAt.Equal(c.UpdatedAt) {
		return e.sp, nil
	}
	sp, err := sso.NewSAML(s.SAMLMetadataURL(c.ID), s.SAMLACSURL(), c.IdPMetadataXML, s.cfg.Now)
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	if len(s.samls) > 10_000 {
		s.samls = map[string]*cachedSAML{}
	}
	s.samls[c.ID] = &cachedSAML{updatedAt: c.UpdatedAt, sp: sp}
	return sp, nil
}

// samlAuthURL builds the AuthnRequest redirect of a SAML connection and
// returns the request id the response must answer.
func (s *SSO) samlAuthURL(conn *gatehouse.SSOConnection, state string) (string, string, error) {
	sp, err := s.saml(conn)
	if err != nil {
		return "", "", err
	}
	return sp.AuthURL(state)
}

// SAMLMetadata is the service provider metadata of a SAML connection (public:
// the IdP's administrator loads it).
func (s *SSO) SAMLMetadata(ctx context.Context, connectionID string) ([]byte, error) {
	if !authz.IsUUID(connectionID) {
		return nil, errSSONotFound
	}
	conn, err := s.store.R().SSOConnection(ctx, "", connectionID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && conn.Type != gatehouse.SSOTypeSAML) {
		return nil, errSSONotFound
	}
	if err != nil {
		return nil, err
	}
	sp, err := s.saml(conn)
	if err != nil {
		return nil, err
	}
	out, err := sp.Metadata()
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	return out, nil
}

var errReplayed = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "assertion_replayed",
	Message: "This SAML assertion was already used; start again."}

// FinishSAML completes a sign-in posted to /v1/auth/sso/saml/acs: the
// RelayState is the flow's state (checked against the cookie, used once),
// the response must answer that flow's AuthnRequest, and an assertion id is
// accepted once.
func (s *SSO) FinishSAML(ctx context.Context, actor gatehouse.Actor, r *http.Request, cookieState string) (*SignIn, error) {
	// "saml" stands for the code: the response itself is the proof.
	f, err := s.useFlow(ctx, Callback{State: r.PostForm.Get("RelayState"), CookieState: cookieState, Code: "saml"}, "sso")
	if err != nil {
		return nil, err
	}
	conn, err := s.store.R().SSOConnection(ctx, "", f.ConnectionID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && conn.Type != gatehouse.SSOTypeSAML) {
		return nil, errBadState
	}
	if err != nil {
		return nil, err
	}
	sp, err := s.saml(conn)
	if err != nil {
		return nil, err
	}
	a, err := sp.Parse(r, f.RequestID)
	if err != nil {
		return nil, err
	}
	var fresh bool
	err = s.store.Tx(ctx, func(tx *store.Conn) (err error) {
		fresh, err = tx.UseSAMLAssertion(ctx, a.ID, conn.ID, a.Expires, s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, errReplayed
	}
	return s.complete(ctx, actor, conn, f, &a.Identity)
}
