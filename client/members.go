package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse"
)

// RoleRef names a role.
type RoleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Member is a member of the organization.
type Member struct {
	UserID      string            `json:"user_id"`
	Name        string            `json:"name"`
	Email       string            `json:"email"`
	Role        *RoleRef          `json:"role"`
	Permissions []gatehouse.Grant `json:"permissions"`
	JoinedAt    time.Time         `json:"joined_at"`
	InvitedBy   *string           `json:"invited_by"`
}

// ListMembers returns one page of the organization's members; q filters by
// name or email ("" for all).
func (c *Client) ListMembers(ctx context.Context, q string, o ListOptions) (Page[Member], error) {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	var p Page[Member]
	err := listInto(ctx, c, "/v1/members"+o.query(v), &p)
	return p, err
}

// GetMember returns one member (404 *Error when not a member).
func (c *Client) GetMember(ctx context.Context, userID string) (Member, error) {
	var m Member
	err := c.do(ctx, http.MethodGet, "/v1/members/"+url.PathEscape(userID), nil, &m)
	return m, err
}

// UpdateMember sets a member's role (by id or name) and direct grants.
func (c *Client) UpdateMember(ctx context.Context, userID, role string, grants []gatehouse.Grant) (Member, error) {
	in := struct {
		Role        string            `json:"role,omitempty"`
		Permissions []gatehouse.Grant `json:"permissions,omitempty"`
	}{role, grants}
	var m Member
	err := c.do(ctx, http.MethodPut, "/v1/members/"+url.PathEscape(userID)+"/permissions", in, &m)
	return m, err
}

// RemoveMember removes a member from the organization.
func (c *Client) RemoveMember(ctx context.Context, userID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/members/"+url.PathEscape(userID), nil, nil)
}

// Invitation is an invitation to the organization.
type Invitation struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	Email          string            `json:"email"`
	Name           string            `json:"name"`
	Role           *RoleRef          `json:"role"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	Authentication string            `json:"authentication"`
	Status         string            `json:"status"`
	CreatedBy      string            `json:"created_by"`
	CreatedTime    time.Time         `json:"created_time"`
	ExpiresAt      time.Time         `json:"expires_at"`
	EmailStatus    *string           `json:"email_status"`
}

// InvitationInput creates an invitation: an email, and a Role or direct
// Permissions (or both).
type InvitationInput struct {
	Email          string            `json:"email"`
	Name           string            `json:"name,omitempty"`
	Role           string            `json:"role,omitempty"`
	Permissions    []gatehouse.Grant `json:"permissions,omitempty"`
	Authentication string            `json:"authentication,omitempty"`
	ExpiresInDays  *int              `json:"expires_in_days,omitempty"`
}

// CreateInvitation invites someone; Gatehouse mails the link.
func (c *Client) CreateInvitation(ctx context.Context, in InvitationInput) (Invitation, error) {
	var out Invitation
	err := c.do(ctx, http.MethodPost, "/v1/members/invitations", in, &out)
	return out, err
}

// ListInvitations returns one page of invitations; status ("pending",
// "accepted", …) and email filter them when not empty.
func (c *Client) ListInvitations(ctx context.Context, status, email string, o ListOptions) (Page[Invitation], error) {
	v := url.Values{}
	if status != "" {
		v.Set("status", status)
	}
	if email != "" {
		v.Set("email", email)
	}
	var p Page[Invitation]
	err := listInto(ctx, c, "/v1/members/invitations"+o.query(v), &p)
	return p, err
}

// GetInvitation returns one invitation.
func (c *Client) GetInvitation(ctx context.Context, id string) (Invitation, error) {
	var out Invitation
	err := c.do(ctx, http.MethodGet, "/v1/members/invitations/"+url.PathEscape(id), nil, &out)
	return out, err
}

// RevokeInvitation revokes a pending invitation.
func (c *Client) RevokeInvitation(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/members/invitations/"+url.PathEscape(id), nil, nil)
}

// ResendInvitation mails the invitation again.
func (c *Client) ResendInvitation(ctx context.Context, id string) (Invitation, error) {
	var out Invitation
	err := c.do(ctx, http.MethodPost, "/v1/members/invitations/"+url.PathEscape(id)+"/resend", nil, &out)
	return out, err
}
