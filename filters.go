package gatehouse

import "time"

// Filters and rows that services take and return for lists; the store
// implements them (internal/store keeps aliases of the same names).

// AuditFilter selects audit events. OrgID "" selects the no-organization chain.
type AuditFilter struct {
	OrgID      string
	ActorID    string
	Action     string // exact, or a prefix when it ends with "."
	TargetType string
	TargetID   string
	From, To   time.Time
	Page       PageRequest
}

// UserOrg is an organization with when the user joined it (the page key).
type UserOrg struct {
	*Organization
	JoinedAt time.Time
}

// InvitationFilter selects invitations of an organization.
type InvitationFilter struct {
	OrgID  string
	Status string // "" for all; "pending" and "expired" take Now into account
	Email  string
	Now    time.Time
	Page   PageRequest
	// Listed selects the invitations a dialect's list shows: live pending
	// ones and accepted ones not dismissed (Status must be "").
	Listed bool
	// Before pages backwards: the rows just newer than this cursor, still
	// returned newest first (JSON:API's ending_before).
	Before *Cursor
}

// WebhookDeliveryFilter selects an endpoint's deliveries.
type WebhookDeliveryFilter struct {
	OrgID, EndpointID string
	Status            string
	EventType         string // exact, or a prefix when it ends with "."
	Since             time.Time
	Page              PageRequest
}
