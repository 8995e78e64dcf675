package service

// Shareable invitation links: one link, up to max_uses verified accounts
// whose email domain is allowed. Joining is like accepting an invitation:
// the creator must still hold the access (else the link is revoked), and
// the seat limit and domains are checked again.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxLinkUses bounds a link's max_uses.
const MaxLinkUses = 1000

// LinkInput is a new shareable link.
type LinkInput struct {
	Role           string
	Grants         []gatehouse.Grant
	MaxUses        int
	ExpiresInDays  *int
	AllowedDomains []string
}

// LinkView is a link with its role and, once at creation, its token.
type LinkView struct {
	*store.InviteLink
	Role  *gatehouse.Role
	Token string // only when just created
	State string // active, revoked, expired, used_up
}

// LinkState decides a link's state now: revoked first, then expired, then
// used up.
func LinkState(l *store.InviteLink, now time.Time) string {
	switch {
	case l.Revoked:
		return "revoked"
	case !now.Before(l.ExpiresAt):
		return "expired"
	case l.Uses >= l.MaxUses:
		return "used_up"
	}
	return "active"
}

func linkGone(state string) error {
	msg := map[string]string{
		"revoked": "This invitation link was revoked by the organization.",
		"expired": "This invitation link has expired.",
		"used_up": "This invitation link has been used as many times as it allows.",
	}[state]
	return &gatehouse.Error{Code: gatehouse.EGONE, Reason: "link_" + state, Message: msg, Extra: map[string]any{"link_status": state}}
}

var errLinkNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Invitation link not found.")

// CreateLink makes a link: members write (owners only under that policy)
// and nothing the creator lacks.
func (s *Invitations) CreateLink(ctx context.Context, c *Caller, in LinkInput) (*LinkView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	var ferrs []*gatehouse.FieldError
	if in.MaxUses < 1 || in.MaxUses > MaxLinkUses {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "max_uses", Message: fmt.Sprintf("must be from 1 to %d", MaxLinkUses)})
	}
	if in.ExpiresInDays != nil && (*in.ExpiresInDays < 1 || *in.ExpiresInDays > MaxInvitationDays) {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "expires_in_days", Message: fmt.Sprintf("must be from 1 to %d", MaxInvitationDays)})
	}
	if strings.TrimSpace(in.Role) == "" && len(in.Grants) == 0 {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "permissions", Message: "give a role or at least one permission"})
	}
	domains, derr := validateDomains("allowed_domains", in.AllowedDomains)
	ferrs = append(ferrs, derr)
	if err := fields(ferrs...); err != nil {
		return nil, err
	}
	var view *LinkView
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		org, err := tx.OrgByID(ctx, c.OrgID)
		if err != nil {
			return err
		}
		pol := PolicyOf(org)
		if pol.WhoCanInvite == InviteOwners {
			if err := c.Require(authz.Organization(), gatehouse.OrgOwner, authz.All); err != nil {
				return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden", Message: "The organization's policy lets only owners invite."}
			}
		}
		days := pol.DefaultExpiryDays
		if in.ExpiresInDays != nil {
			if days = *in.ExpiresInDays; days > pol.MaxExpiryDays {
				return fields(&gatehouse.FieldError{Field: "expires_in_days", Message: fmt.Sprintf("must be at most %d, the organization's maximum", pol.MaxExpiryDays)})
			}
		}
		role, err := c.MayGrant(ctx, tx, in.Role, in.Grants, "grant this access")
		if err != nil {
			return err
		}
		roleID := ""
		if role != nil {
			roleID = role.ID
		}
		if in.Grants == nil {
			in.Grants = []gatehouse.Grant{}
		}
		now := s.now()
		token := secret.Token("", InvitationTokenBytes)
		l := &store.InviteLink{ID: newID(), OrgID: c.OrgID, TokenHash: secret.HashToken(token), RoleID: roleID, Grants: in.Grants,
			AllowedDomains: domains, MaxUses: in.MaxUses, CreatedBy: c.Principal.UserID, CreatedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour)}
		if err := tx.CreateInviteLink(ctx, l); err != nil {
			return err
		}
		view = &LinkView{InviteLink: l, Role: role, Token: token, State: "active"}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.link_created", "invite_link", l.ID, map[string]any{
			"role_id": roleID, "permissions": l.Grants, "max_uses": l.MaxUses, "allowed_domains": l.AllowedDomains, "expires_at": l.ExpiresAt})
	})
	return view, err
}

func (s *Invitations) linkView(ctx context.Context, l *store.InviteLink) (*LinkView, error) {
	v := &LinkView{InviteLink: l, State: LinkState(l, s.now())}
	if l.RoleID != "" {
		var err error
		if v.Role, err = s.access.role(ctx, l.OrgID, l.RoleID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ListLinks lists the organization's links with their uses: members read.
func (s *Invitations) ListLinks(ctx context.Context, c *Caller) ([]*LinkView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	ls, err := s.store.R().ListInviteLinks(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]*LinkView, 0, len(ls))
	for _, l := range ls {
		v, err := s.linkView(ctx, l)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RevokeLink revokes a link: members write; another organization's is 404;
// revoking twice is harmless.
func (s *Invitations) RevokeLink(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errLinkNotFound
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		l, err := tx.InviteLink(ctx, c.OrgID, strings.ToLower(id))
		if err != nil {
			return err
		}
		ok, err := tx.RevokeInviteLink(ctx, l.ID)
		if err != nil || !ok {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.link_revoked", "invite_link", l.ID, map[string]any{"uses": l.Uses})
	})
}

// LinkPreview is what the holder of a link sees.
type LinkPreview struct {
	OrgID, OrgName string
	Role           *gatehouse.Role
	Access         []string
	Grants         []gatehouse.Grant
	UsesLeft       int
	ExpiresAt      time.Time
	AllowedDomains []string
}

func (s *Invitations) linkByToken(ctx context.Context, conn *store.Conn, token string) (*store.InviteLink, error) {
	if len(token) < 20 || len(token) > 100 {
		return nil, errLinkNotFound
	}
	l, err := conn.InviteLinkByTokenHash(ctx, secret.HashToken(token))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errLinkNotFound
	}
	return l, err
}

// ShowLink describes a live link to anyone holding it (410 when it is not).
func (s *Invitations) ShowLink(ctx context.Context, token string) (*LinkPreview, error) {
	conn := s.store.R()
	l, err := s.linkByToken(ctx, conn, token)
	if err != nil {
		return nil, err
	}
	if st := LinkState(l, s.now()); st != "active" {
		return nil, linkGone(st)
	}
	org, err := conn.OrgByID(ctx, l.OrgID)
	if err != nil {
		return nil, err
	}
	v, err := s.linkView(ctx, l)
	if err != nil {
		return nil, err
	}
	access, err := s.Describe(ctx, conn, l.OrgID, v.Role, l.Grants)
	if err != nil {
		return nil, err
	}
	return &LinkPreview{OrgID: org.ID, OrgName: org.Name, Role: v.Role, Access: access, Grants: l.Grants,
		UsesLeft: l.MaxUses - l.Uses, ExpiresAt: l.ExpiresAt, AllowedDomains: l.AllowedDomains}, nil
}
