package service

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The compatibility dialects (Vidbeo, Snyk) see the same invitations as the
// native API; these are the few views they need beyond it.

// DialectList selects a dialect's invitation page.
type DialectList struct {
	PendingOnly bool // Snyk lists pending invitations only
	Page        gatehouse.PageRequest
	Before      *gatehouse.Cursor // page backwards from here (ending_before)
}

// DialectPage is a page and whether more rows lie beyond it in the
// direction of travel.
type DialectPage struct {
	Items []*InvitationView
	More  bool
}

// ListForDialect lists live pending invitations and (unless PendingOnly)
// accepted ones that were not dismissed: members read.
func (s *Invitations) ListForDialect(ctx context.Context, c *Caller, l DialectList) (*DialectPage, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	f := gatehouse.InvitationFilter{OrgID: c.OrgID, Now: s.now(), Page: l.Page, Before: l.Before}
	if l.PendingOnly {
		f.Status = gatehouse.InvitationPending
	} else {
		f.Listed = true
	}
	conn := s.store.R()
	invs, err := conn.ListInvitations(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &DialectPage{}
	limit := l.Page.FetchLimit() - 1
	if len(invs) > limit {
		out.More = true
		if l.Before != nil {
			invs = invs[len(invs)-limit:] // the extra row is the newest one
		} else {
			invs = invs[:limit]
		}
	}
	if out.Items, err = s.views(ctx, conn, invs); err != nil {
		return nil, err
	}
	return out, nil
}

// Dismiss is the Vidbeo DELETE: a pending invitation is revoked and leaves
// the list; an accepted one leaves the list and the membership stays.
// Anything else is not in the list: not found.
func (s *Invitations) Dismiss(ctx context.Context, c *Caller, id string) error {
	return s.manage(ctx, c, id, func(tx *store.Conn, inv *gatehouse.Invitation) error {
		dismissed, err := tx.InvitationDismissed(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		switch st := inv.EffectiveStatus(now); {
		case dismissed:
			return errInvitationNotFound
		case st == gatehouse.InvitationPending:
			if ok, err := tx.SetInvitationStatus(ctx, id, gatehouse.InvitationRevoked, c.Principal.UserID, now); err != nil || !ok {
				if err == nil {
					err = notPending(inv, now, "revoked")
				}
				return err
			}
			if err := s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.revoked", "invitation", id, map[string]any{"email": inv.Email}); err != nil {
				return err
			}
		case st == gatehouse.InvitationAccepted:
			if err := s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.dismissed", "invitation", id, map[string]any{"email": inv.Email}); err != nil {
				return err
			}
		default:
			return errInvitationNotFound
		}
		return tx.DismissInvitation(ctx, id, now)
	})
}
