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
