package service

// Accepting and declining invitations, by link or from the user's own list.

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AcceptInput is the body of an accept: name and password only when the
// invitee has no account yet.
type AcceptInput struct {
	Name     string
	Password string
}

// AcceptResult is the membership made, and tokens when the accept created
// the account.
type AcceptResult struct {
	Membership *gatehouse.Membership
	Role       *gatehouse.Role // the membership's role, nil for none
	User       *gatehouse.User
	Tokens     *gatehouse.Tokens
	// RedirectURL is where the browser goes now ("" for the dashboard):
	// the invitation's, else the organization's (redirects.go).
	RedirectURL string
}

// Accept joins the link's organization. Signed in, the account's verified
// email must be the invitation's; not signed in, it creates the account
// (verified: the link proved the mailbox) unless one exists already.
func (s *Invitations) Accept(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, token string, in AcceptInput) (*AcceptResult, error) {
	inv, err := s.byToken(ctx, s.store.R(), token)
	if err != nil {
		return nil, err
	}
	return s.accept(ctx, actor, p, inv.ID, in)
}

// AcceptByID accepts an invitation listed in GET /v1/me/invitations.
func (s *Invitations) AcceptByID(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) (*AcceptResult, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	if err := s.addressedTo(ctx, p, id); err != nil {
		return nil, err
	}
	return s.accept(ctx, actor, p, id, AcceptInput{})
}

// addressedTo checks that an invitation is addressed to the user's verified email.
func (s *Invitations) addressedTo(ctx context.Context, p *gatehouse.Principal, id string) error {
	if !authz.IsUUID(id) {
		return errInvitationNotFound
	}
	conn := s.store.R()
	inv, err := conn.InvitationByID(ctx, id)
	if err != nil {
		return err
	}
	u, err := conn.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !u.EmailVerified || store.NormalizeEmail(u.Email) != store.NormalizeEmail(inv.Email) {
		return errInvitationNotFound
	}
	return nil
}

func (s *Invitations) accept(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string, in AcceptInput) (*AcceptResult, error) {
	var res AcceptResult
	var hash, switched string
	if p == nil && in.Password != "" {
		// Hash outside the transaction: it is slow by design.
		if ferr := validatePassword("password", in.Password); ferr != nil {
			return nil, fields(ferr)
		}
		var err error
		if hash, err = s.cfg.Hasher.Hash(ctx, in.Password); err != nil {
			return nil, gatehouse.Internal(err)
		}
	}
	err := s.committed(ctx, func(tx *store.Conn) (error, error) {
		now := s.now()
		inv, err := tx.InvitationByID(ctx, id)
		if err != nil {
			return nil, err
		}
		// The organization's lock, then the invitation read again: accepting
		// adds a member whose role and inviter other changes count on.
		if err := tx.LockOrg(ctx, inv.OrgID); err != nil {
			return nil, err
		}
		if inv, err = tx.InvitationByID(ctx, id); err != nil {
			return nil, err
		}
		if st := inv.EffectiveStatus(now); st != gatehouse.InvitationPending {
			if st == gatehouse.InvitationExpired && inv.Status == gatehouse.InvitationPending {
				return gone(st), s.expire(ctx, tx, inv)
			}
			return gone(st), nil
		}
		// The inviter must still hold what the invitation grants. Checked
		// before anything is written: this refusal commits the revocation,
		// and must not commit an account too.
		if refusal, err := s.checkInviter(ctx, tx, inv); refusal != nil || err != nil {
			return refusal, err
		}
		if refusal, err := s.checkSSOAccept(ctx, tx, inv, p); refusal != nil || err != nil {
			return refusal, err
		}
		if err := s.checkAcceptSeats(ctx, tx, inv.OrgID); err != nil { // policy.go
			return nil, err
		}
		var u *gatehouse.User
		if p != nil {
			if p.Kind != gatehouse.PrincipalUser {
				return errUserOnly, nil
			}
			if u, err = tx.UserByID(ctx, p.UserID); err != nil {
				return nil, err
			}
			if store.NormalizeEmail(u.Email) != store.NormalizeEmail(inv.Email) {
				return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_mismatch",
					Message: "This invitation is for another email address. Sign out and open the link again, or sign in as " + inv.Email + "."}, nil
			}
			if !u.EmailVerified {
				return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified", Message: "Verify your email address first, then accept."}, nil
			}
		} else {
			existing, err := tx.UserByEmail(ctx, inv.Email)
			if err == nil && existing != nil {
				return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "login_required",
					Message: "An account exists for " + inv.Email + ": sign in, then accept.", Extra: map[string]any{"email": inv.Email}}, nil
			}
			if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				return nil, err
			}
			name, nerr := validateName("name", in.Name, true)
			var perr *gatehouse.FieldError
			if in.Password == "" {
				perr = &gatehouse.FieldError{Field: "password", Message: "is required to create your account"}
			}
			if ferr := fields(nerr, perr); ferr != nil {
				return ferr, nil
			}
			u = &gatehouse.User{ID: newID(), Email: inv.Email, Name: name, PasswordHash: hash, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return nil, err
			}
			a := actor
			a.Kind, a.ID, a.Name = gatehouse.PrincipalUser, u.ID, u.Name
			if err := s.audit(ctx, tx, a, "", "user.registered", "user", u.ID, map[string]any{"email": u.Email, "via": "invitation"}); err != nil {
				return nil, err
			}
			if res.Tokens, err = s.auth.OpenSession(ctx, tx, actor, u); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Membership(ctx, inv.OrgID, u.ID); err == nil {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "already_member", Message: "You are already a member of this organization."}, nil
		}
		won, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationAccepted, u.ID, now)
		if err != nil {
			return nil, err
		}
		if !won {
			fresh, err := tx.InvitationByID(ctx, inv.ID)
			if err != nil {
				return nil, err
			}
			// Returned as an error: roll back an account made above.
			return nil, gone(fresh.EffectiveStatus(now))
		}
		m := &gatehouse.Membership{ID: newID(), OrgID: inv.OrgID, UserID: u.ID, RoleID: inv.RoleID, Grants: inv.Grants, InvitedBy: inv.CreatedBy, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return nil, err
		}
		// Accepting switches the accepting session only (and is the user's
		// latest choice, where new sessions start).
		if err := tx.SetCurrentOrg(ctx, u.ID, inv.OrgID, now); err != nil {
			return nil, err
		}
		u.CurrentOrgID = inv.OrgID
		switch {
		case res.Tokens != nil:
			err = tx.SetSessionOrg(ctx, res.Tokens.SessionID, inv.OrgID)
		case p != nil && p.SessionID != "":
			err = tx.SetSessionOrg(ctx, p.SessionID, inv.OrgID)
			switched = p.SessionID
		}
		if err != nil {
			return nil, err
		}
		a := actor
		a.Kind, a.ID, a.Name = gatehouse.PrincipalUser, u.ID, u.Name
		if err := s.audit(ctx, tx, a, inv.OrgID, "invitation.accepted", "invitation", inv.ID, map[string]any{"email": inv.Email}); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, a, inv.OrgID, "member.added", "member", u.ID, map[string]any{"role_id": inv.RoleID, "permissions": inv.Grants, "invitation_id": inv.ID}); err != nil {
			return nil, err
		}
		m.UserName, m.UserEmail = u.Name, u.Email
		res.Membership, res.User = m, u
		org, err := tx.OrgByID(ctx, inv.OrgID)
		if err != nil {
			return nil, err
		}
		res.RedirectURL = s.landing(inv.RedirectURL, PolicyOf(org))
		if inv.RoleID != "" {
			if res.Role, err = s.access.role(ctx, inv.OrgID, inv.RoleID); err != nil {
				return nil, err
			}
		}
		return nil, tx.Notify(ctx, memberChanged(inv.OrgID, u.ID))
	})
	if err != nil {
		return nil, err
	}
	if switched != "" {
		s.auth.ended(ctx, switched) // cached principals carry the old organization
	}
	return &res, nil
}

// checkInviter revokes an invitation whose inviter no longer holds what it
// grants, and says so.
func (s *Invitations) checkInviter(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation) (refusal, err error) {
	covered, err := s.inviterCovers(ctx, tx, inv)
	if err != nil || covered {
		return nil, err
	}
	if _, err := s.revokeForInviter(ctx, tx, inv); err != nil {
		return nil, err
	}
	return gone(gatehouse.InvitationRevoked), nil
}

// inviterCovers reports whether the inviter still holds every right the
// invitation grants (a removed inviter holds none).
func (s *Invitations) inviterCovers(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation) (bool, error) {
	return s.stillCovers(ctx, tx, inv, nil, nil)
}

// stillCovers is the one "does the inviter still cover this invitation?"
// rule, behind every orphan revocation (inviter's rights changed or gone, a
// role changed, folders moved) and the check at accept: the inviter must
// still be a member, still hold members write, and hold every right the
// invitation grants. changed (when not nil) stands in for the stored role of
// the same id; tree (when not nil) for the organization's cached folder tree
// (the one inside tx, after a move).
func (s *Invitations) stillCovers(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation, changed *gatehouse.Role, tree *authz.Tree) (bool, error) {
	m, err := tx.Membership(ctx, inv.OrgID, inv.CreatedBy)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	holder, err := s.access.Compile(ctx, CompileRequest{OrgID: inv.OrgID, RoleID: m.RoleID, Grants: m.Grants, Role: changed, Tree: tree})
	if err != nil {
		return false, err
	}
	if ok, _ := holder.Check(authz.Organization(), gatehouse.OrgMembers, authz.Write); !ok {
		return false, nil
	}
	req, err := s.access.Compile(ctx, CompileRequest{OrgID: inv.OrgID, RoleID: inv.RoleID, Grants: inv.Grants, Role: changed, Tree: tree})
	if err != nil {
		return false, err
	}
	return authz.Covers(holder, req), nil
}

func (s *Invitations) revokeForInviter(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation) (bool, error) {
	ok, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationRevoked, "", s.now())
	if err != nil || !ok {
		return ok, err
	}
	return true, s.audit(ctx, tx, gatehouse.Actor{}, inv.OrgID, "invitation.revoked", "invitation", inv.ID,
		map[string]any{"email": inv.Email, "reason": "inviter_lost_rights"})
}

// Reject declines a link's invitation (signed in or not).
func (s *Invitations) Reject(ctx context.Context, actor gatehouse.Actor, token string) error {
	inv, err := s.byToken(ctx, s.store.R(), token)
	if err != nil {
		return err
	}
	return s.reject(ctx, actor, inv)
}

// RejectByID declines an invitation listed in GET /v1/me/invitations.
func (s *Invitations) RejectByID(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	if err := s.addressedTo(ctx, p, id); err != nil {
		return err
	}
	inv, err := s.store.R().InvitationByID(ctx, id)
	if err != nil {
		return err
	}
	return s.reject(ctx, actor, inv)
}

func (s *Invitations) reject(ctx context.Context, actor gatehouse.Actor, inv *gatehouse.Invitation) error {
	return s.committed(ctx, func(tx *store.Conn) (error, error) {
		now := s.now()
		if st := inv.EffectiveStatus(now); st != gatehouse.InvitationPending {
			return gone(st), nil
		}
		ok, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationRejected, actor.ID, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			fresh, err := tx.InvitationByID(ctx, inv.ID)
			if err != nil {
				return nil, err
			}
			return gone(fresh.EffectiveStatus(now)), nil
		}
		return nil, s.audit(ctx, tx, actor, inv.OrgID, "invitation.rejected", "invitation", inv.ID, map[string]any{"email": inv.Email})
	})
}

// Mine lists live pending invitations to the caller's verified email.
func (s *Invitations) Mine(ctx context.Context, p *gatehouse.Principal, page gatehouse.PageRequest) (gatehouse.Page[*Preview], error) {
	var empty gatehouse.Page[*Preview]
	if p.Kind != gatehouse.PrincipalUser {
		return empty, errUserOnly
	}
	conn := s.store.R()
	u, err := conn.UserByID(ctx, p.UserID)
	if err != nil {
		return empty, err
	}
	if !u.EmailVerified {
		return gatehouse.Page[*Preview]{Items: []*Preview{}}, nil
	}
	invs, err := conn.PendingInvitationsTo(ctx, u.Email, s.now(), page)
	if err != nil {
		return empty, err
	}
	pg := gatehouse.MakePage(invs, page, func(i *gatehouse.Invitation) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: i.CreatedAt, ID: i.ID}
	})
	out := gatehouse.Page[*Preview]{NextCursor: pg.NextCursor, Items: []*Preview{}}
	for _, inv := range pg.Items {
		pv, err := s.preview(ctx, conn, inv)
		if err != nil {
			return empty, err
		}
		out.Items = append(out.Items, pv)
	}
	return out, nil
}
