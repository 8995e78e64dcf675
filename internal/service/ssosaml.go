package service

import (
	"github.com/gatehouse/gatehouse"
)

// samlAuthURL builds the AuthnRequest redirect of a SAML connection.
func (s *SSO) samlAuthURL(conn *gatehouse.SSOConnection, state string) (string, string, error) {
	return "", "", gatehouse.Errorf(gatehouse.ENOTIMPLEMENTED, "SAML sign-in is not available yet.")
}
