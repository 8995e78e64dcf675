package service

// Invitation reminders: with remind_after_days in the organization's
// policy, an invitation still pending that many days after it was (last)
// sent gets one reminder, the same link mailed again, never after it
// expires and never twice (store.ClaimReminder decides, across processes).

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// patchRemind applies remind_after_days to the policy p and reschedules the
// organization's reminders not yet sent.
func (s *Orgs) patchRemind(ctx context.Context, tx *store.Conn, orgID string, p *Policy, in PolicyPatch) error {
	switch {
	case in.ClearRemind:
		p.RemindAfterDays = nil
		return tx.RescheduleReminders(ctx, orgID, 0)
	case in.RemindAfterDays != nil:
		d := *in.RemindAfterDays
		if d < 1 || d > MaxInvitationDays {
			return fields(&gatehouse.FieldError{Field: "remind_after_days", Message: fmt.Sprintf("must be from 1 to %d, or null for no reminder", MaxInvitationDays)})
		}
		p.RemindAfterDays = &d
		return tx.RescheduleReminders(ctx, orgID, d)
	}
	return nil
}

// remindAt is when an invitation sent at sentAt is due its reminder under
// the policy's remind_after_days (zero: none).
func remindAt(p Policy, sentAt time.Time) time.Time {
	if p.RemindAfterDays == nil {
		return time.Time{}
	}
	return sentAt.Add(time.Duration(*p.RemindAfterDays) * 24 * time.Hour)
}

// keepReminder records a resent invitation's new link for its reminder; a
// new invitation keeps it in its own INSERT (store.CreateInvitationWithReminder).
func keepReminder(ctx context.Context, tx *store.Conn, p Policy, inv *gatehouse.Invitation, token string) error {
	return tx.PutReminder(ctx, inv.ID, token, remindAt(p, inv.SentAt))
}

// ReminderBatch is how many reminders one round looks at.
const ReminderBatch = 100

// SendDueReminders sends every reminder due now, each in its own
// transaction with its claim, mail and audit event; it returns how many it
// sent. Safe to run in every process at once.
func (s *Invitations) SendDueReminders(ctx context.Context) (int, error) {
	now := s.now()
	if err := s.store.Tx(ctx, func(tx *store.Conn) error {
		_, err := tx.PurgeReminders(ctx, now, ReminderBatch)
		return err
	}); err != nil {
		return 0, err
	}
	ids, err := s.store.R().DueReminders(ctx, now, ReminderBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		var ok bool
		err := s.store.Tx(ctx, func(tx *store.Conn) error {
			var err error
			ok, err = s.remind(ctx, tx, id, s.now())
			return err
		})
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// remind claims one reminder and, when won, mails it and audits it.
func (s *Invitations) remind(ctx context.Context, tx *store.Conn, id string, now time.Time) (bool, error) {
	token, ok, err := tx.ClaimReminder(ctx, id, now)
	if err != nil || !ok {
		return false, err
	}
	inv, err := tx.InvitationByID(ctx, id)
	if err != nil {
		return false, err
	}
	org, err := tx.OrgByID(ctx, inv.OrgID)
	if err != nil {
		return false, err
	}
	var role *gatehouse.Role
	if inv.RoleID != "" {
		if role, err = s.access.role(ctx, inv.OrgID, inv.RoleID); err != nil {
			return false, err
		}
	}
	access, err := s.Describe(ctx, tx, inv.OrgID, role, inv.Grants)
	if err != nil {
		return false, err
	}
	inviter := ""
	if u, err := tx.UserByID(ctx, inv.CreatedBy); err == nil {
		inviter = u.Name
	}
	m, err := s.invitationMessage(ctx, tx, inv.OrgID, inv.Email, inv.Name, mailer.InvitationVars{
		InviterName: inviter, OrganizationName: org.Name, AccessSummary: accessSummary(access),
		AcceptURL: s.cfg.BaseURL + "/invitations/" + token, ExpiresAt: inv.ExpiresAt.Format("2 January 2006 at 15:04 MST"),
	}, access)
	if err != nil {
		return false, err
	}
	m.Subject = "Reminder: " + m.Subject
	m.Kind, m.RefID = "invitation", inv.ID
	if err := s.mail(ctx, tx, m); err != nil {
		return false, err
	}
	return true, s.audit(ctx, tx, gatehouse.Actor{}, inv.OrgID, "invitation.reminded", "invitation", inv.ID,
		map[string]any{"email": inv.Email, "expires_at": inv.ExpiresAt, "sent_at": inv.SentAt})
}
