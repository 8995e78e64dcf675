package apptest

// AddSSOConnection gives orgID an OIDC connection (to an issuer nobody
// reaches) covering domains, so that `authentication: sso` invitations to
// those domains may be created. It returns the connection.
func (s *Server) AddSSOConnection(token, orgID string, domains ...string) map[string]any {
	s.TB.Helper()
	return s.Must(201, Req{Method: "POST", Path: "/v1/organizations/" + orgID + "/sso-connections", Token: token,
		Body: map[string]any{"type": "oidc", "issuer": "https://idp.invalid", "client_id": "test", "client_secret": "test-secret", "domains": domains}})
}
