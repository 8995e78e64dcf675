package gatehouse

import (
	"encoding/json"
	"time"
)

// Organization is a tenant: it owns projects, members, roles and keys.
type Organization struct {
	ID        string
	Name      string
	LogoURL   string
	Settings  json.RawMessage
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Membership is a user's place in an organization: a role and/or grants.
type Membership struct {
	ID        string
	OrgID     string
	UserID    string
	RoleID    string // "" for none
	Grants    []Grant
	InvitedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Filled by listings that join the user.
	UserName  string
	UserEmail string
}

// Project belongs to one organization.
type Project struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	Settings    json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Folder is a node of a project's folder tree; ParentID "" is the root.
type Folder struct {
	ID        string
	OrgID     string
	ProjectID string
	ParentID  string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Invitation statuses. Only pending moves, to one of the others.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationRejected = "rejected"
	InvitationRevoked  = "revoked"
	InvitationExpired  = "expired"
)

// Authentication methods an invitee signs in with.
const (
	AuthPassword = "password"
	AuthSSO      = "sso"
)

// Invitation asks someone, by email, to join an organization with a role
// and/or grants. Its token exists in clear only in the emailed link.
type Invitation struct {
	ID             string
	OrgID          string
	Email          string
	Name           string
	RoleID         string
	Grants         []Grant
	Authentication string
	Status         string
	TokenHash      string
	ValidDays      int
	CreatedBy      string
	UpdatedBy      string
	AcceptedBy     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ExpiresAt      time.Time
	SentAt         time.Time
	// RedirectURL is where the browser goes after accepting ("" for the
	// organization's default).
	RedirectURL string
}

// EffectiveStatus is the status as of now: a pending invitation past its
// expiry is expired even before anything records it.
func (i *Invitation) EffectiveStatus(now time.Time) string {
	if i.Status == InvitationPending && !now.Before(i.ExpiresAt) {
		return InvitationExpired
	}
	return i.Status
}

// APIKey lets a machine act in one organization with its own grants,
// capped by its creator's current rights. Only the secret's hash is kept.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	Prefix     string
	SecretHash string
	Grants     []Grant
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}
