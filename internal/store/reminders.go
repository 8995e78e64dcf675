package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// PutReminder keeps an invitation's link token (sealed with the secret key,
// so that its reminder carries the same link) and when the reminder is due
// (zero: none). A resend replaces both; whether the reminder went out stays.
func (c *Conn) PutReminder(ctx context.Context, invitationID, orgID, token string, remindAt time.Time) error {
	sealed, err := c.s.box.Seal([]byte(token))
	if err != nil {
		return gatehouse.Internal(err)
	}
	_, err = c.exec(ctx, `INSERT INTO invitation_reminders (invitation_id, org_id, token_sealed, remind_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (invitation_id) DO UPDATE SET token_sealed = excluded.token_sealed, remind_at = excluded.remind_at`,
		invitationID, orgID, sealed, nullTS(remindAt))
	return err
}

// RescheduleReminders moves the organization's reminders not yet sent to
// after days from their invitation's last sending; days 0 turns them off.
func (c *Conn) RescheduleReminders(ctx context.Context, orgID string, days int) error {
	if days <= 0 {
		_, err := c.exec(ctx, `UPDATE invitation_reminders SET remind_at = NULL WHERE org_id = $1 AND reminded_at IS NULL`, orgID)
		return err
	}
	_, err := c.exec(ctx, `UPDATE invitation_reminders SET remind_at =
			(SELECT i.sent_at FROM invitations i WHERE i.id = invitation_reminders.invitation_id) + $2
		WHERE org_id = $1 AND reminded_at IS NULL`, orgID, (time.Duration(days) * 24 * time.Hour).Microseconds())
	return err
}

// DueReminders lists invitations whose reminder is due by now, oldest first.
func (c *Conn) DueReminders(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT invitation_id FROM invitation_reminders
		WHERE reminded_at IS NULL AND remind_at <= $1 ORDER BY remind_at LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, c.wrap(err, "due reminders")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, c.wrap(err, "scan reminder")
		}
		out = append(out, id)
	}
	return out, c.wrap(rows.Err(), "due reminders")
}

// ClaimReminder marks an invitation's reminder sent, if it is due, not sent
// yet and the invitation still pending and unexpired, and answers the link
// token; ok false otherwise. The one conditional UPDATE decides: of two
// processes claiming at once, the second finds reminded_at set (PostgreSQL
// re-checks the row after the first commits) and gets false.
func (c *Conn) ClaimReminder(ctx context.Context, invitationID string, now time.Time) (token string, ok bool, err error) {
	var sealed []byte
	err = c.q.QueryRowContext(ctx, `UPDATE invitation_reminders SET reminded_at = $2
		WHERE invitation_id = $1 AND reminded_at IS NULL AND remind_at <= $2
		AND EXISTS (SELECT 1 FROM invitations i WHERE i.id = $1 AND i.status = 'pending' AND i.expires_at > $2)
		RETURNING token_sealed`, invitationID, ts(now)).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, c.wrap(err, "claim reminder")
	}
	plain, err := c.s.box.Open(sealed)
	if err != nil {
		return "", false, gatehouse.Internal(err)
	}
	return string(plain), true, nil
}

// PurgeReminders deletes the sealed tokens of invitations no longer pending
// or past their expiry: no reminder can be due for them.
func (c *Conn) PurgeReminders(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM invitation_reminders WHERE invitation_id IN (
		SELECT r.invitation_id FROM invitation_reminders r JOIN invitations i ON i.id = r.invitation_id
		WHERE i.status <> 'pending' OR i.expires_at <= $1 LIMIT $2)`, ts(now), limit)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
