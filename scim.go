package gatehouse

import "time"

// SCIMToken is an organization's SCIM 2.0 provisioning bearer token. Only
// the SHA-256 of its secret is kept; Prefix tells tokens apart.
type SCIMToken struct {
	ID         string
	OrgID      string
	Name       string
	Prefix     string
	SecretHash string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// SCIMUser is a user as an organization's identity provider sees it: an
// account, whether it is an active member of the organization, and what the
// provider said about it. RoleID and Grants are the membership's (or, while
// inactive, the ones it will get back).
type SCIMUser struct {
	OrgID      string
	UserID     string
	Email      string
	Name       string
	UserName   string
	ExternalID string
	GivenName  string
	FamilyName string
	Active     bool
	RoleID     string
	Grants     []Grant
	// Provisioned: the identity provider has told about this user (a
	// scim_users row exists); members it never saw are listed too.
	Provisioned bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SCIMFilter is a parsed SCIM filter the store answers: Op is "and", "or"
// (Left and Right set) or "eq" (Attr and Value set). Attr is one of
// "userName", "emails.value", "externalId", "id" or "active".
type SCIMFilter struct {
	Op          string
	Attr        string
	Value       string
	Left, Right *SCIMFilter
}

// ActorSCIM is the actor kind of changes an organization's identity
// provider made through a SCIM token (Actor.ID is the token's id).
const ActorSCIM = "scim_token"
