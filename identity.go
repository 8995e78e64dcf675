package gatehouse

import "time"

// Identity is an account at an outside identity provider linked to a user:
// Google, GitHub, or an organization's single sign-on connection.
type Identity struct {
	ID       string
	UserID   string
	Provider string // "google", "github" or "sso:<connection id>"
	Subject  string // the provider's stable id of the account
	Email    string // the verified address the provider asserted
	// ConnectionName is the SSO connection's name, for display ("" otherwise).
	ConnectionName string
	CreatedAt      time.Time
	LastUsedAt     time.Time
}

// SSO connection types.
const (
	SSOTypeOIDC = "oidc"
	SSOTypeSAML = "saml"
)

// SSOConnection is an organization's own identity provider: OpenID Connect
// (issuer, client id and secret) or SAML 2.0 (the IdP's metadata). It signs
// in addresses of its Domains; Enforced sends members with those addresses
// to it instead of a password.
type SSOConnection struct {
	ID       string
	OrgID    string
	Type     string
	Name     string
	Issuer   string
	ClientID string
	// ClientSecret is held in memory only; at rest it is sealed.
	ClientSecret   string
	IdPMetadataXML string
	IdPMetadataURL string
	Domains        []string
	Enforced       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
