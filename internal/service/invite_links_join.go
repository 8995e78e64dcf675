package service

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// JoinLink makes the signed-in user a member through a link. Decided under
// the organization's lock, so that max_uses and the seat limit each have
// one winner: the link must be live (410 with the reason), the account's
// email verified and in the allowed domains (the link's and the
// organization's), the creator must still hold the access (else the link is
// revoked: 410 link_revoked), and a seat must be free.
func (s *Invitations) JoinLink(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, token string) (*AcceptResult, error) {
	if p == nil || p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	l, err := s.linkByToken(ctx, s.store.R(), token)
	if err != nil {
		return nil, err
	}
	var res AcceptResult
	switched := ""
	err = s.committed(ctx, func(tx *store.Conn) (error, error) {
		if err := tx.LockOrg(ctx, l.OrgID); err != nil {
			return nil, err
		}
		l, err := tx.InviteLink(ctx, l.OrgID, l.ID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		if st := LinkState(l, now); st != "active" {
			return linkGone(st), nil
		}
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if !u.EmailVerified {
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified", Message: "Verify your email address first, then join."}, nil
		}
		org, err := tx.OrgByID(ctx, l.OrgID)
		if err != nil {
			return nil, err
		}
		pol := PolicyOf(org)
		if !DomainAllowed(l.AllowedDomains, u.Email) || !DomainAllowed(pol.AllowedDomains, u.Email) {
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "domain_not_allowed",
				Message: "This link is not open to your email address's domain."}, nil
		}
		if _, err := tx.Membership(ctx, l.OrgID, u.ID); err == nil {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "already_member", Message: "You are already a member of this organization."}, nil
		}
		// The creator must still cover the access, as an inviter must.
		as := &gatehouse.Invitation{OrgID: l.OrgID, CreatedBy: l.CreatedBy, RoleID: l.RoleID, Grants: l.Grants}
		covered, err := s.inviterCovers(ctx, tx, as)
		if err != nil {
			return nil, err
		}
		if !covered {
			if ok, err := tx.RevokeInviteLink(ctx, l.ID); err != nil {
				return nil, err
			} else if ok {
				if err := s.audit(ctx, tx, gatehouse.Actor{}, l.OrgID, "invitation.link_revoked", "invite_link", l.ID,
					map[string]any{"reason": "creator_lost_rights"}); err != nil {
					return nil, err
				}
			}
			return linkGone("revoked"), nil
		}
		if err := s.checkSeats(ctx, tx, l.OrgID, pol, 1, true); err != nil {
			return err, nil
		}
		if ok, err := tx.UseInviteLink(ctx, l.ID, u.ID, now); err != nil {
			return nil, err
		} else if !ok {
			return nil, linkGone("used_up")
		}
		m := &gatehouse.Membership{ID: newID(), OrgID: l.OrgID, UserID: u.ID, RoleID: l.RoleID, Grants: l.Grants, InvitedBy: l.CreatedBy, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return nil, err
		}
		if err := tx.SetCurrentOrg(ctx, u.ID, l.OrgID, now); err != nil {
			return nil, err
		}
		if p.SessionID != "" {
			if err := tx.SetSessionOrg(ctx, p.SessionID, l.OrgID); err != nil {
				return nil, err
			}
			switched = p.SessionID
		}
		u.CurrentOrgID = l.OrgID
		a := actor
		a.Kind, a.ID, a.Name = gatehouse.PrincipalUser, u.ID, u.Name
		if err := s.audit(ctx, tx, a, l.OrgID, "invitation.link_joined", "invite_link", l.ID, map[string]any{"email": u.Email, "uses": l.Uses + 1}); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, a, l.OrgID, "member.added", "member", u.ID, map[string]any{"role_id": l.RoleID, "permissions": l.Grants, "invite_link_id": l.ID}); err != nil {
			return nil, err
		}
		m.UserName, m.UserEmail = u.Name, u.Email
		res.Membership, res.User = m, u
		res.RedirectURL = s.landing("", pol) // redirects.go
		if l.RoleID != "" {
			if res.Role, err = s.access.role(ctx, l.OrgID, l.RoleID); err != nil {
				return nil, err
			}
		}
		return nil, tx.Notify(ctx, memberChanged(l.OrgID, u.ID))
	})
	if err != nil {
		return nil, err
	}
	if switched != "" {
		s.auth.ended(ctx, switched)
	}
	return &res, nil
}
