package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

const invitationColumns = `id, org_id, email, name, COALESCE(role_id, ''), grants, authentication, status, token_hash, valid_days,
	created_by, updated_by, COALESCE(accepted_by, ''), created_at, updated_at, expires_at, sent_at, redirect_url`

func scanInvitation(row interface{ Scan(...any) error }) (*gatehouse.Invitation, error) {
	var i gatehouse.Invitation
	var grants string
	var created, updated, expires, sent int64
	if err := row.Scan(&i.ID, &i.OrgID, &i.Email, &i.Name, &i.RoleID, &grants, &i.Authentication, &i.Status, &i.TokenHash, &i.ValidDays,
		&i.CreatedBy, &i.UpdatedBy, &i.AcceptedBy, &created, &updated, &expires, &sent, &i.RedirectURL); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &i.Grants); err != nil {
		return nil, err
	}
	i.CreatedAt, i.UpdatedAt, i.ExpiresAt, i.SentAt = fromTS(created), fromTS(updated), fromTS(expires), fromTS(sent)
	return &i, nil
}

// CreateInvitation inserts an invitation; a pending one for the same
// address in the organization is a conflict (reason "invitation_pending").
func (c *Conn) CreateInvitation(ctx context.Context, i *gatehouse.Invitation) error {
	return c.insertInvitation(ctx, i, nil, time.Time{})
}

// CreateInvitationWithReminder is CreateInvitation keeping the link token
// for the invitation's reminder, due at remindAt (zero: none), in the same
// row (reminders.go).
func (c *Conn) CreateInvitationWithReminder(ctx context.Context, i *gatehouse.Invitation, token string, remindAt time.Time) error {
	sealed, err := c.sealReminder(token)
	if err != nil {
		return err
	}
	return c.insertInvitation(ctx, i, sealed, remindAt)
}

func (c *Conn) insertInvitation(ctx context.Context, i *gatehouse.Invitation, sealed []byte, remindAt time.Time) error {
	grants, err := marshalGrants(i.Grants)
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO invitations (id, org_id, email, email_norm, name, role_id, grants, authentication, status, token_hash,
		valid_days, created_by, updated_by, created_at, updated_at, expires_at, sent_at, redirect_url, token_sealed, remind_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		i.ID, i.OrgID, i.Email, NormalizeEmail(i.Email), i.Name, nullStr(i.RoleID), grants, i.Authentication, i.Status, i.TokenHash,
		i.ValidDays, i.CreatedBy, i.UpdatedBy, ts(i.CreatedAt), ts(i.UpdatedAt), ts(i.ExpiresAt), ts(i.SentAt), i.RedirectURL, sealed, nullTS(remindAt))
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "invitation_pending", Message: "A pending invitation for this email already exists.", Cause: err}
	}
	return err
}

// Invitation returns an invitation of an organization.
func (c *Conn) Invitation(ctx context.Context, orgID, id string) (*gatehouse.Invitation, error) {
	i, err := scanInvitation(c.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE org_id = $1 AND id = $2`, orgID, id))
	return i, notFound(c.wrap(err, "invitation"), "Invitation")
}

// InvitationByID returns an invitation whatever its organization (callers
// check the organization themselves).
func (c *Conn) InvitationByID(ctx context.Context, id string) (*gatehouse.Invitation, error) {
	i, err := scanInvitation(c.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = $1`, id))
	return i, notFound(c.wrap(err, "invitation"), "Invitation")
}

// InvitationByPrevTokenHash finds the invitation whose latest resend
// replaced the token hashing to h.
func (c *Conn) InvitationByPrevTokenHash(ctx context.Context, h string) (*gatehouse.Invitation, error) {
	i, err := scanInvitation(c.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE prev_token_hash = $1`, h))
	return i, notFound(c.wrap(err, "invitation by previous token"), "Invitation")
}

// InvitationByTokenHash finds the invitation a link's token belongs to.
func (c *Conn) InvitationByTokenHash(ctx context.Context, h string) (*gatehouse.Invitation, error) {
	i, err := scanInvitation(c.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = $1`, h))
	return i, notFound(c.wrap(err, "invitation by token"), "Invitation")
}

// pendingKey is the third column of the unique index by address
// (invitations_by_email, migration 00210): the empty string for a pending
// invitation, its id otherwise, so that at most one invitation per
// organization and address is pending. Comparing it with the empty string
// means status = 'pending' and lets both engines find an address's pending
// invitation by that whole unique key.
const pendingKey = `(CASE WHEN status = 'pending' THEN '' ELSE id END)`

// Invitee reads, in one look-up, the organization an invitation is to
// (not found when there is none), whether an address already belongs to one
// of its members, and the id of the address's pending invitation there (""
// for none; at most one, the pending index is unique).
func (c *Conn) Invitee(ctx context.Context, orgID, email string) (org *gatehouse.Organization, member bool, pendingID string, err error) {
	var id sql.NullString
	org, err = scanOrg(c.q.QueryRowContext(ctx, `SELECT `+orgColumns+`,
		EXISTS (SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email_norm = $2 AND m.org_id = $1),
		(SELECT id FROM invitations WHERE email_norm = $2 AND org_id = $1 AND `+pendingKey+` = '')
		FROM organizations WHERE id = $1`, orgID, NormalizeEmail(email)), &member, &id)
	if err != nil {
		return nil, false, "", notFound(c.wrap(err, "invitee"), "Organization")
	}
	return org, member, id.String, nil
}

// PendingInvitationFor returns the pending invitation to an address, or nil.
func (c *Conn) PendingInvitationFor(ctx context.Context, orgID, email string) (*gatehouse.Invitation, error) {
	i, err := scanInvitation(c.q.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE email_norm = $2 AND org_id = $1 AND `+pendingKey+` = ''`,
		orgID, NormalizeEmail(email)))
	if err := notFound(c.wrap(err, "pending invitation"), "Invitation"); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, nil
		}
		return nil, err
	}
	return i, nil
}

// SetInvitationStatus moves an invitation from pending to status; false when
// it was no longer pending (someone else moved it first).
func (c *Conn) SetInvitationStatus(ctx context.Context, id, status, by string, now time.Time) (bool, error) {
	// No longer pending: no reminder, so its sealed link token goes too.
	res, err := c.exec(ctx, `UPDATE invitations SET status = $2, updated_by = $3, updated_at = $4,
		accepted_by = CASE WHEN $2 = 'accepted' THEN $3 ELSE accepted_by END, token_sealed = NULL, remind_at = NULL
		WHERE id = $1 AND status = 'pending'`, id, status, by, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RenewInvitation gives a pending invitation a new token and expiry.
func (c *Conn) RenewInvitation(ctx context.Context, i *gatehouse.Invitation) (bool, error) {
	res, err := c.exec(ctx, `UPDATE invitations SET prev_token_hash = token_hash, token_hash = $2, expires_at = $3, sent_at = $4, updated_at = $4, updated_by = $5
		WHERE id = $1 AND status = 'pending'`, i.ID, i.TokenHash, ts(i.ExpiresAt), ts(i.SentAt), i.UpdatedBy)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// InvitationFilter lives in the root package (it appears in service signatures).
type InvitationFilter = gatehouse.InvitationFilter

// ListInvitations lists invitations newest first, keyset-paged.
func (c *Conn) ListInvitations(ctx context.Context, f InvitationFilter) ([]*gatehouse.Invitation, error) {
	q := `SELECT ` + invitationColumns + ` FROM invitations WHERE org_id = $1`
	if f.Email != "" {
		// Filtered by address: the organization's rows of one address are
		// found by the index by address and sorted (a handful); "|| ''"
		// keeps a planner without statistics from walking the whole
		// organization in list order instead (invitations_org_created
		// serves the order, not the address).
		q = `SELECT ` + invitationColumns + ` FROM invitations WHERE org_id || '' = $1`
	}
	args := []any{f.OrgID}
	switch f.Status {
	case "":
	case gatehouse.InvitationPending:
		args = append(args, ts(f.Now))
		q += ` AND status = 'pending' AND expires_at > $2`
	case gatehouse.InvitationExpired:
		args = append(args, ts(f.Now))
		q += ` AND (status = 'expired' OR (status = 'pending' AND expires_at <= $2))`
	default:
		args = append(args, f.Status)
		q += ` AND status = $2`
	}
	if f.Email != "" {
		args = append(args, NormalizeEmail(f.Email))
		q += ` AND email_norm = $` + itoa(len(args))
	}
	if f.Listed {
		args = append(args, ts(f.Now))
		q += ` AND dismissed_at IS NULL AND ((status = 'pending' AND expires_at > $` + itoa(len(args)) + `) OR status = 'accepted')`
	}
	if f.Before != nil {
		args = append(args, f.Before.CreatedAt.UnixMicro(), f.Before.ID)
		n := len(args)
		q += fmt.Sprintf(` AND (created_at, id) > ($%d, $%d) ORDER BY created_at ASC, id ASC LIMIT $%d`, n-1, n, n+1)
		args = append(args, f.Page.FetchLimit())
		out, err := c.queryInvitations(ctx, q, args...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, err
	}
	q, args = keyset(q, args, f.Page)
	return c.queryInvitations(ctx, q, args...)
}

// PendingInvitationsTo lists live pending invitations to an address across
// organizations.
func (c *Conn) PendingInvitationsTo(ctx context.Context, email string, now time.Time, p gatehouse.PageRequest) ([]*gatehouse.Invitation, error) {
	q, args := keyset(`SELECT `+invitationColumns+` FROM invitations WHERE email_norm = $1 AND status = 'pending' AND expires_at > $2`,
		[]any{NormalizeEmail(email), ts(now)}, p)
	return c.queryInvitations(ctx, q, args...)
}

// PendingInvitationsBy lists an inviter's pending invitations in an organization.
func (c *Conn) PendingInvitationsBy(ctx context.Context, orgID, userID string) ([]*gatehouse.Invitation, error) {
	return c.queryInvitations(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE org_id = $1 AND created_by = $2 AND status = 'pending'`, orgID, userID)
}

// PendingInvitationsTouchingRole lists an organization's pending
// invitations that grant a role or whose inviter holds it.
func (c *Conn) PendingInvitationsTouchingRole(ctx context.Context, orgID, roleID string) ([]*gatehouse.Invitation, error) {
	return c.queryInvitations(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE org_id = $1 AND status = 'pending'
		AND (role_id = $2 OR created_by IN (SELECT user_id FROM memberships WHERE org_id = $1 AND role_id = $2))`, orgID, roleID)
}

// PendingInvitationsWithFolderGrants lists an organization's pending
// invitations that grant folders, directly or through one of roleIDs.
func (c *Conn) PendingInvitationsWithFolderGrants(ctx context.Context, orgID string, roleIDs []string) ([]*gatehouse.Invitation, error) {
	q := `SELECT ` + invitationColumns + ` FROM invitations WHERE org_id = $1 AND status = 'pending' AND (grants LIKE '%"folder_id"%'`
	args := []any{orgID}
	if len(roleIDs) > 0 {
		q, args = inList(q+` OR role_id IN `, args, roleIDs)
	}
	return c.queryInvitations(ctx, q+`)`, args...)
}

// InvitationsSince counts an organization's invitations created since t.
func (c *Conn) InvitationsSince(ctx context.Context, orgID string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest *int64
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM invitations WHERE org_id = $1 AND created_at >= $2`, orgID, ts(since)).Scan(&n, &oldest)
	var t time.Time
	if oldest != nil {
		t = fromTS(*oldest)
	}
	return n, t, c.wrap(err, "invitations since")
}

func (c *Conn) queryInvitations(ctx context.Context, q string, args ...any) ([]*gatehouse.Invitation, error) {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "invitations")
	}
	defer rows.Close()
	var out []*gatehouse.Invitation
	for rows.Next() {
		i, err := scanInvitation(rows)
		if err != nil {
			return nil, c.wrap(err, "scan invitation")
		}
		out = append(out, i)
	}
	return out, c.wrap(rows.Err(), "invitations rows")
}

// InsertInvitations bulk-inserts invitations (load tests seed millions).
func (c *Conn) InsertInvitations(ctx context.Context, is []*gatehouse.Invitation) error {
	for _, i := range is {
		if err := c.CreateInvitation(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// DismissInvitation hides an invitation from the dialects' lists.
func (c *Conn) DismissInvitation(ctx context.Context, id string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE invitations SET dismissed_at = $2 WHERE id = $1 AND dismissed_at IS NULL`, id, ts(now))
	return err
}

// InvitationDismissed reports whether an invitation was dismissed.
func (c *Conn) InvitationDismissed(ctx context.Context, id string) (bool, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM invitations WHERE id = $1 AND dismissed_at IS NOT NULL`, id).Scan(&n)
	return n > 0, c.wrap(err, "dismissed")
}
