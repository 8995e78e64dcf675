package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Invitation limits.
const (
	DefaultInvitationDays    = 7
	MaxInvitationDays        = 30
	DefaultInvitationsPerDay = 100
	ResendInterval           = 5 * time.Minute
	InvitationTokenBytes     = 32
)

// Invitations sends, manages and receives invitations.
type Invitations struct {
	*base
	access *Access
	auth   *Auth
	showIP *Throttle
}

// newInvitationToken returns a new invitation link's token and the key
// stored to find it. The token starts with the time it was made, so that the
// index of keys grows at its end (secret.OrderedToken).
func newInvitationToken(now time.Time) (token, key string) {
	token = secret.OrderedToken(now, InvitationTokenBytes)
	return token, invitationTokenKey(token)
}

// invitationTokenKey is the key a link's token is found by; links sent
// before tokens were ordered key as their plain SHA-256, as they were stored.
func invitationTokenKey(token string) string {
	return secret.OrderedTokenKey(token, InvitationTokenBytes)
}

func newInvitations(b *base, access *Access, auth *Auth) *Invitations {
	return &Invitations{base: b, access: access, auth: auth, showIP: b.throttle("invitation-ip:", 2*time.Second, 30)}
}

// InviteInput is a new invitation.
type InviteInput struct {
	Email          string
	Name           string
	Role           string // id or name; "" for none
	Grants         []gatehouse.Grant
	Authentication string
	ExpiresInDays  *int
	// RedirectURL is where the browser goes after accepting ("" for the
	// organization's); only to an allowed origin (redirects.go).
	RedirectURL string
}

// InvitationView is an invitation with what the API shows beside it.
type InvitationView struct {
	*gatehouse.Invitation
	Role           *gatehouse.Role
	CurrentStatus  string
	DeliveryStatus string
}

func (s *Invitations) view(ctx context.Context, conn *store.Conn, inv *gatehouse.Invitation) (*InvitationView, error) {
	vs, err := s.views(ctx, conn, []*gatehouse.Invitation{inv})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// views adds roles and email delivery status to a page of invitations, with
// one query for all the statuses.
func (s *Invitations) views(ctx context.Context, conn *store.Conn, invs []*gatehouse.Invitation) ([]*InvitationView, error) {
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	statuses, err := conn.LatestMailStatuses(ctx, "invitation", ids)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*InvitationView, 0, len(invs))
	for _, inv := range invs {
		v := &InvitationView{Invitation: inv, CurrentStatus: inv.EffectiveStatus(now), DeliveryStatus: statuses[inv.ID]}
		if inv.RoleID != "" {
			if v.Role, err = s.access.role(ctx, inv.OrgID, inv.RoleID); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Create invites someone: members write, and nothing the inviter lacks.
func (s *Invitations) Create(ctx context.Context, c *Caller, in InviteInput) (*InvitationView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return nil, err
	}
	email, eerr := ValidateEmail("email", in.Email)
	name, nerr := validateName("name", in.Name, false)
	var aerr, xerr, rerr *gatehouse.FieldError
	switch in.Authentication {
	case "":
		in.Authentication = gatehouse.AuthPassword
	case gatehouse.AuthPassword, gatehouse.AuthSSO:
	default:
		aerr = &gatehouse.FieldError{Field: "authentication", Message: "must be password or sso"}
	}
	days := DefaultInvitationDays
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
		if days < 1 || days > MaxInvitationDays {
			xerr = &gatehouse.FieldError{Field: "expires_in_days", Message: "must be from 1 to 30"}
		}
	}
	if strings.TrimSpace(in.Role) == "" && len(in.Grants) == 0 {
		rerr = &gatehouse.FieldError{Field: "permissions", Message: "give a role or at least one permission"}
	}
	if err := fields(eerr, nerr, aerr, xerr, rerr); err != nil {
		return nil, err
	}
	redirect, err := s.redirectAllowed("redirect_url", in.RedirectURL) // redirects.go
	if err != nil {
		return nil, err
	}
	quota, err := s.store.ReserveInvitationQuota(ctx, c.OrgID, s.now())
	if err != nil {
		return nil, err
	}
	var view *InvitationView
	create := func(tx *store.Conn) error {
		// The organization, and whether the address is already a member's
		// or invited there: one look-up, its answers used in turn below.
		org, member, pendingID, err := tx.Invitee(ctx, c.OrgID, email)
		if err != nil {
			return err
		}
		policy := PolicyOf(org) // the daily budget too: one parse of the settings
		if err := quota.Fits(policy.InvitationsPerDay); err != nil {
			return err
		}
		if in.Authentication == gatehouse.AuthSSO {
			if err := requireSSOCover(ctx, tx, c.OrgID, email); err != nil {
				return err
			}
		}
		if days, err = s.checkInvitePolicy(ctx, tx, c, policy, email, in.ExpiresInDays); err != nil { // policy.go
			return err
		}
		role, err := c.MayGrant(ctx, tx, in.Role, in.Grants, "grant this access")
		if err != nil {
			return err
		}
		roleID := ""
		if role != nil {
			roleID = role.ID
		}
		// Already a member, or already invited.
		if member {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "already_member", Message: "This person is already a member of the organization."}
		}
		if pendingID != "" {
			p, err := tx.Invitation(ctx, c.OrgID, pendingID)
			if err != nil {
				return err
			}
			if p.EffectiveStatus(s.now()) == gatehouse.InvitationPending {
				return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "invitation_pending",
					Message: "A pending invitation for this email already exists; resend or cancel it.", Extra: map[string]any{"existing_id": p.ID}}
			}
			// The old one has lapsed: record that, then invite afresh.
			if err := s.expire(ctx, tx, p); err != nil {
				return err
			}
		}
		now := s.now()
		token, tokenKey := newInvitationToken(now)
		if in.Grants == nil {
			in.Grants = []gatehouse.Grant{}
		}
		inv := &gatehouse.Invitation{
			ID: newID(), OrgID: c.OrgID, Email: email, Name: name, RoleID: roleID, Grants: in.Grants,
			Authentication: in.Authentication, Status: gatehouse.InvitationPending, TokenHash: tokenKey,
			ValidDays: days, CreatedBy: c.Principal.UserID, UpdatedBy: c.Principal.UserID,
			CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour), SentAt: now,
			RedirectURL: redirect,
		}
		// The link is kept for the reminder in the invitation's own row (reminders.go).
		if err := tx.CreateInvitationWithReminder(ctx, inv, token, remindAt(policy, inv.SentAt)); err != nil {
			return err
		}
		if err := s.sendMail(ctx, tx, c, org, inv, role, token); err != nil {
			return err
		}
		// The seat limit is a count that must not change between reading
		// and using it: under the organization's lock, taken last so that
		// it is held only for the count and the commit (on PostgreSQL every
		// invitation of the organization waits for it), and only when the
		// policy has a limit.
		if policy.SeatLimit != nil {
			if err := tx.LockOrg(ctx, c.OrgID); err != nil {
				return err
			}
			// The new invitation is already among the pending ones counted.
			if err := s.checkSeats(ctx, tx, c.OrgID, policy, 0, true); err != nil {
				return err
			}
		}
		// The daily budget, reserved before the transaction (store/invitation_quota.go).
		if ok, oldest, err := quota.Take(ctx, tx, now, policy.InvitationsPerDay); err != nil {
			return err
		} else if !ok {
			return rateLimited("The organization has sent its daily number of invitations; try again later.", oldest.Add(24*time.Hour).Sub(now))
		}
		view = &InvitationView{Invitation: inv, Role: role, CurrentStatus: gatehouse.InvitationPending, DeliveryStatus: gatehouse.MailQueued}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.created", "invitation", inv.ID, invitationCreated{
			Authentication: inv.Authentication, Email: inv.Email, ExpiresAt: inv.ExpiresAt, Permissions: inv.Grants, RoleID: roleID})
	}
	err = s.store.Tx(ctx, create)
	if errors.Is(err, store.ErrBudgetRecount) {
		// The reservation counted past the budget: give it back and count
		// again, exactly, under the organization's lock.
		if err = quota.Release(ctx); err == nil {
			quota = s.store.ExactInvitationQuota(c.OrgID)
			err = s.store.Tx(ctx, create)
		}
	}
	if err != nil {
		// Not created: its place in the budget goes back. Should that
		// fail, the day counts one invitation too many, never too few.
		_ = quota.Release(ctx)
	}
	return view, err
}

// sendMail queues the invitation email, the only place the token appears.
func (s *Invitations) sendMail(ctx context.Context, tx *store.Conn, c *Caller, org *gatehouse.Organization, inv *gatehouse.Invitation, role *gatehouse.Role, token string) error {
	access, err := s.Describe(ctx, tx, inv.OrgID, role, inv.Grants)
	if err != nil {
		return err
	}
	// The inviter's name: a session's principal carries its user's current
	// name (a rename evicts the user's cached sessions in every process,
	// sessions_notify.go); a key's is the key's, so its creator is read.
	inviter := c.Principal.Name
	if c.Principal.Kind != gatehouse.PrincipalUser || inviter == "" {
		inviter = c.Actor.Name
		if u, err := tx.UserByID(ctx, inv.CreatedBy); err == nil {
			inviter = u.Name
		}
	}
	m, err := s.invitationMessage(ctx, tx, inv.OrgID, inv.Email, inv.Name, mailer.InvitationVars{ // email_templates.go
		InviterName: inviter, OrganizationName: org.Name, AccessSummary: accessSummary(access),
		AcceptURL: s.cfg.BaseURL + "/invitations/" + token, ExpiresAt: inv.ExpiresAt.Format("2 January 2006 at 15:04 MST"),
	}, access)
	if err != nil {
		return err
	}
	m.Kind, m.RefID = "invitation", inv.ID
	return s.mail(ctx, tx, m)
}

// invitationCreated is the summary of an "invitation.created" event: the
// same JSON as a map of these keys (in this, their sorted order) without
// encoding a map on every invitation.
type invitationCreated struct {
	Authentication string            `json:"authentication"`
	Email          string            `json:"email"`
	ExpiresAt      time.Time         `json:"expires_at"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	RoleID         string            `json:"role_id"`
}

// expire records that a pending invitation lapsed.
func (s *Invitations) expire(ctx context.Context, tx *store.Conn, inv *gatehouse.Invitation) error {
	ok, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationExpired, "", s.now())
	if err != nil || !ok {
		return err
	}
	inv.Status = gatehouse.InvitationExpired
	return s.audit(ctx, tx, gatehouse.Actor{}, inv.OrgID, "invitation.expired", "invitation", inv.ID, map[string]any{"email": inv.Email})
}

var errInvitationNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Invitation not found.")

// List lists the organization's invitations: members read.
func (s *Invitations) List(ctx context.Context, c *Caller, status, email string, page gatehouse.PageRequest) (gatehouse.Page[*InvitationView], error) {
	var empty gatehouse.Page[*InvitationView]
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return empty, err
	}
	switch status {
	case "", gatehouse.InvitationPending, gatehouse.InvitationAccepted, gatehouse.InvitationRejected, gatehouse.InvitationRevoked, gatehouse.InvitationExpired:
	default:
		return empty, gatehouse.Invalid("Invalid status filter.", gatehouse.FieldError{Field: "status", Message: "must be pending, accepted, rejected, revoked or expired"})
	}
	conn := s.store.R()
	invs, err := conn.ListInvitations(ctx, gatehouse.InvitationFilter{OrgID: c.OrgID, Status: status, Email: strings.TrimSpace(email), Now: s.now(), Page: page})
	if err != nil {
		return empty, err
	}
	pg := gatehouse.MakePage(invs, page, func(i *gatehouse.Invitation) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: i.CreatedAt, ID: i.ID}
	})
	items, err := s.views(ctx, conn, pg.Items)
	if err != nil {
		return empty, err
	}
	return gatehouse.Page[*InvitationView]{NextCursor: pg.NextCursor, Items: items}, nil
}

// Get returns one invitation of the organization: members read.
func (s *Invitations) Get(ctx context.Context, c *Caller, id string) (*InvitationView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Read); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errInvitationNotFound
	}
	conn := s.store.R()
	inv, err := conn.Invitation(ctx, c.OrgID, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, conn, inv)
}

func notPending(inv *gatehouse.Invitation, now time.Time, what string) error {
	st := inv.EffectiveStatus(now)
	return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "invitation_not_pending",
		Message: "Only a pending invitation can be " + what + "; this one is " + st + ".", Extra: map[string]any{"invitation_status": st}}
}

// manage runs fn in a transaction on one of the organization's invitations,
// for a caller who may manage invitations (members write).
func (s *Invitations) manage(ctx context.Context, c *Caller, id string, fn func(tx *store.Conn, inv *gatehouse.Invitation) error) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgMembers, authz.Write); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errInvitationNotFound
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		inv, err := tx.Invitation(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		return fn(tx, inv)
	})
}

// Revoke cancels a pending invitation; its link dies at once.
func (s *Invitations) Revoke(ctx context.Context, c *Caller, id string) error {
	return s.manage(ctx, c, id, func(tx *store.Conn, inv *gatehouse.Invitation) error {
		if inv.EffectiveStatus(s.now()) != gatehouse.InvitationPending {
			return notPending(inv, s.now(), "revoked")
		}
		ok, err := tx.SetInvitationStatus(ctx, inv.ID, gatehouse.InvitationRevoked, c.Principal.UserID, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return notPending(inv, s.now(), "revoked")
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.revoked", "invitation", inv.ID, map[string]any{"email": inv.Email})
	})
}

// Resend mails a pending invitation again with a new link (the old one
// dies) and a restarted expiry; at most once per five minutes.
func (s *Invitations) Resend(ctx context.Context, c *Caller, id string) (*InvitationView, error) {
	var view *InvitationView
	err := s.manage(ctx, c, id, func(tx *store.Conn, inv *gatehouse.Invitation) error {
		now := s.now()
		if inv.EffectiveStatus(now) != gatehouse.InvitationPending {
			return notPending(inv, now, "resent")
		}
		if wait := inv.SentAt.Add(ResendInterval).Sub(now); wait > 0 {
			return rateLimited("This invitation was sent less than five minutes ago; wait before resending.", wait)
		}
		org, err := tx.OrgByID(ctx, c.OrgID)
		if err != nil {
			return err
		}
		var role *gatehouse.Role
		if inv.RoleID != "" {
			if role, err = s.access.role(ctx, c.OrgID, inv.RoleID); err != nil {
				return err
			}
		}
		token, tokenKey := newInvitationToken(now)
		inv.TokenHash, inv.SentAt, inv.UpdatedBy = tokenKey, now, c.Principal.UserID
		inv.ExpiresAt, inv.UpdatedAt = now.Add(time.Duration(inv.ValidDays)*24*time.Hour), now
		if ok, err := tx.RenewInvitation(ctx, inv); err != nil || !ok {
			if err == nil {
				err = notPending(inv, now, "resent")
			}
			return err
		}
		if err := keepReminder(ctx, tx, PolicyOf(org), inv, token); err != nil { // reminders.go
			return err
		}
		if err := s.sendMail(ctx, tx, c, org, inv, role, token); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, c.OrgID, "invitation.resent", "invitation", inv.ID, map[string]any{"email": inv.Email, "expires_at": inv.ExpiresAt}); err != nil {
			return err
		}
		view, err = s.view(ctx, tx, inv)
		return err
	})
	return view, err
}

// gone is the 410 for a link that no longer works, stating why.
func gone(status string) error {
	msg := map[string]string{
		gatehouse.InvitationExpired:  "This invitation has expired. Ask the person who invited you to send a new one.",
		gatehouse.InvitationRevoked:  "This invitation was cancelled by the organization.",
		gatehouse.InvitationAccepted: "This invitation has already been accepted.",
		gatehouse.InvitationRejected: "This invitation was declined.",
	}[status]
	return &gatehouse.Error{Code: gatehouse.EGONE, Reason: "invitation_" + status, Message: msg, Extra: map[string]any{"invitation_status": status}}
}

var errInvitationSuperseded = &gatehouse.Error{Code: gatehouse.EGONE, Reason: "invitation_superseded",
	Message: "A newer invitation was sent to this address: open the link in the newest email.", Extra: map[string]any{"invitation_status": "superseded"}}

// byToken finds a link's invitation; unknown → 404, dead or replaced by a
// resend → 410.
func (s *Invitations) byToken(ctx context.Context, conn *store.Conn, token string) (*gatehouse.Invitation, error) {
	if len(token) < 20 || len(token) > 100 {
		return nil, errInvitationNotFound
	}
	key := invitationTokenKey(token)
	inv, err := conn.InvitationByTokenHash(ctx, key)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		// A link that a resend replaced says so.
		if prev, perr := conn.InvitationByPrevTokenHash(ctx, key); perr == nil {
			if st := prev.EffectiveStatus(s.now()); st != gatehouse.InvitationPending {
				return nil, gone(st) // what became of it matters more
			}
			return nil, errInvitationSuperseded
		}
	}
	if err != nil {
		return nil, err
	}
	if st := inv.EffectiveStatus(s.now()); st != gatehouse.InvitationPending {
		return inv, gone(st)
	}
	return inv, nil
}

// Preview is what the holder of a link sees before deciding.
type Preview struct {
	Invitation    *gatehouse.Invitation
	OrgName       string
	InviterName   string
	Role          *gatehouse.Role
	Access        []string
	AccountExists bool
	Status        string // as of now
}

// Show describes a link's invitation to anyone holding it (rate-limited per IP).
func (s *Invitations) Show(ctx context.Context, actor gatehouse.Actor, token string) (*Preview, error) {
	if err := s.showIP.Take(ctx, actor.IP, "Too many invitation look-ups from this address; try again later."); err != nil {
		return nil, err
	}
	conn := s.store.R()
	inv, err := s.byToken(ctx, conn, token)
	if err != nil {
		return nil, err
	}
	// An inviter who no longer holds what it grants (a folder moved out of
	// their reach, say) revokes it now, before the invitee types anything.
	if covered, err := s.inviterCovers(ctx, conn, inv); err != nil {
		return nil, err
	} else if !covered {
		if err := s.committed(ctx, func(tx *store.Conn) (error, error) { return s.checkInviter(ctx, tx, inv) }); err != nil {
			return nil, err
		}
	}
	return s.preview(ctx, conn, inv)
}

func (s *Invitations) preview(ctx context.Context, conn *store.Conn, inv *gatehouse.Invitation) (*Preview, error) {
	org, err := conn.OrgByID(ctx, inv.OrgID)
	if err != nil {
		return nil, err
	}
	p := &Preview{Invitation: inv, OrgName: org.Name, Status: inv.EffectiveStatus(s.now())}
	if u, err := conn.UserByID(ctx, inv.CreatedBy); err == nil {
		p.InviterName = u.Name
	}
	if inv.RoleID != "" {
		if p.Role, err = s.access.role(ctx, inv.OrgID, inv.RoleID); err != nil {
			return nil, err
		}
	}
	if p.Access, err = s.Describe(ctx, conn, inv.OrgID, p.Role, inv.Grants); err != nil {
		return nil, err
	}
	_, err = conn.UserByEmail(ctx, inv.Email)
	p.AccountExists = err == nil
	return p, nil
}

// RevokeOrphaned revokes the pending invitations of an inviter whose rights
// shrank (or who left); members call it inside their transaction.
func (s *Invitations) RevokeOrphaned(ctx context.Context, tx *store.Conn, orgID, inviterID string) error {
	invs, err := tx.PendingInvitationsBy(ctx, orgID, inviterID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		covered, err := s.inviterCovers(ctx, tx, inv)
		if err != nil {
			return err
		}
		if !covered {
			if _, err := s.revokeForInviter(ctx, tx, inv); err != nil {
				return err
			}
		}
	}
	return nil
}

// RevokeOrphanedByRole revokes the pending invitations that a changed role
// leaves uncovered: those whose inviter holds the role, and those granting
// it. Roles call it inside their transaction, with the role as changed.
func (s *Invitations) RevokeOrphanedByRole(ctx context.Context, tx *store.Conn, orgID string, role *gatehouse.Role) error {
	invs, err := tx.PendingInvitationsTouchingRole(ctx, orgID, role.ID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		covered, err := s.stillCovers(ctx, tx, inv, role, nil)
		if err != nil {
			return err
		}
		if !covered {
			if _, err := s.revokeForInviter(ctx, tx, inv); err != nil {
				return err
			}
		}
	}
	return nil
}

// RevokeOrphanedByTree revokes the pending invitations that a folder move
// leaves uncovered: a folder grant follows its folder, so an inviter's
// folder rights, or what an invitation's folder grants reach, may change.
// Only invitations that grant folders can be affected. Folders call it
// inside their transaction, after the move.
func (s *Invitations) RevokeOrphanedByTree(ctx context.Context, tx *store.Conn, orgID string) error {
	roles, err := tx.ListRoles(ctx, orgID)
	if err != nil {
		return err
	}
	var folderRoles []string
	for _, r := range roles {
		if refs, _ := authz.Validate(orgID, r.Grants, "permissions"); len(refs.FolderIDs()) > 0 {
			folderRoles = append(folderRoles, r.ID)
		}
	}
	invs, err := tx.PendingInvitationsWithFolderGrants(ctx, orgID, folderRoles)
	if err != nil || len(invs) == 0 {
		return err
	}
	tree, err := s.access.treeIn(ctx, tx, orgID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		covered, err := s.stillCovers(ctx, tx, inv, nil, tree)
		if err != nil {
			return err
		}
		if !covered {
			if _, err := s.revokeForInviter(ctx, tx, inv); err != nil {
				return err
			}
		}
	}
	return nil
}
