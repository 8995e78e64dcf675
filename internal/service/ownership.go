package service

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Transfer is the result of handing ownership on: the new owner and the
// former one, now an admin.
type Transfer struct {
	Owner, Previous *MemberView
}

// TransferOwnership makes another member the organization's owner (role
// owner, their direct grants dropped as owner covers them) and the calling
// owner an admin. Only an owner, signed in as a user, may; the organization
// keeps at least one owner throughout, since the new one is made in the
// same transaction, under the organization's lock, that demotes the caller.
func (s *Members) TransferOwnership(ctx context.Context, c *Caller, userID string) (*Transfer, error) {
	if c.Principal.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	if err := c.Require(authz.Organization(), gatehouse.OrgOwner, authz.All); err != nil {
		return nil, err
	}
	if userID == "" {
		return nil, gatehouse.Invalid("Choose the member who becomes the owner.", gatehouse.FieldError{Field: "user_id", Message: "is required"})
	}
	if userID == c.Principal.UserID {
		return nil, gatehouse.Invalid("You are already an owner.", gatehouse.FieldError{Field: "user_id", Message: "must be another member"})
	}
	if !authz.IsUUID(userID) {
		return nil, errMemberNotFound
	}
	var out Transfer
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		// The caller may have been demoted or removed since the request's
		// rights were read: decide on the locked rows.
		me, err := tx.Membership(ctx, c.OrgID, c.Principal.UserID)
		if err != nil {
			return err
		}
		if owner, err := s.isOwner(ctx, me); err != nil {
			return err
		} else if !owner {
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden", Message: "Only an owner can hand ownership on."}
		}
		target, err := tx.Membership(ctx, c.OrgID, userID)
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errMemberNotFound
			}
			return err
		}
		if owner, err := s.isOwner(ctx, target); err != nil {
			return err
		} else if owner {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "already_owner",
				Message: target.UserName + " is already an owner.", Fields: []gatehouse.FieldError{{Field: "user_id", Message: "is already an owner"}}}
		}
		now := s.now()
		for _, ch := range []struct {
			m    *gatehouse.Membership
			role string
		}{{target, gatehouse.RoleOwnerID}, {me, gatehouse.RoleAdminID}} {
			before := map[string]any{"role_id": ch.m.RoleID, "permissions": ch.m.Grants}
			ch.m.RoleID, ch.m.Grants = ch.role, []gatehouse.Grant{}
			if err := tx.UpdateMembership(ctx, ch.m, now); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, c.Actor, c.OrgID, "member.updated", "member", ch.m.UserID, map[string]any{
				"before": before, "after": map[string]any{"role_id": ch.role, "permissions": ch.m.Grants}}); err != nil {
				return err
			}
			if err := tx.Notify(ctx, memberChanged(c.OrgID, ch.m.UserID)); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "organization.ownership_transferred", "organization", c.OrgID, map[string]any{
			"from": map[string]string{"user_id": me.UserID, "email": me.UserEmail},
			"to":   map[string]string{"user_id": target.UserID, "email": target.UserEmail}}); err != nil {
			return err
		}
		// The former owner's pending invitations may grant more than an admin holds.
		if err := s.invitations.RevokeOrphaned(ctx, tx, c.OrgID, me.UserID); err != nil {
			return err
		}
		if out.Owner, err = s.view(ctx, target); err != nil {
			return err
		}
		out.Previous, err = s.view(ctx, me)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
