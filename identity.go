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
