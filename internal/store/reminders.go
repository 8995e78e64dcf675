package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// An invitation's reminder lives in its row (migration 00180): the link's
// token sealed with the secret key (so the reminder carries the same link),
// when the reminder is due (NULL: none) and when it went out. The sealed
// token is dropped when the invitation stops being pending (the UPDATEs
// that move it) or expires (PurgeReminders).

// sealReminder seals an invitation's link token for its reminder.
func (c *Conn) sealReminder(token string) ([]byte, error) {
	sealed, err := c.s.box.Seal([]byte(token))
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	return sealed, nil
}

// PutReminder keeps an invitation's link token and when its reminder is
// due (zero: none), for a resend; CreateInvitationWithReminder does it for
// a new invitation. A resend replaces both; whether the reminder went out
// stays.
func (c *Conn) PutReminder(ctx context.Context, invitationID, token string, remindAt time.Time) error {
	sealed, err := c.sealReminder(token)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `UPDATE invitations SET token_sealed = $2, remind_at = $3 WHERE id = $1`, invitationID, sealed, nullTS(remindAt))
	return err
}

// RescheduleReminders moves the organization's reminders not yet sent to
// after days from their invitation's last sending; days 0 turns them off.
// Only pending invitations keep a token to remind with.
func (c *Conn) RescheduleReminders(ctx context.Context, orgID string, days int) error {
	if days <= 0 {
		_, err := c.exec(ctx, `UPDATE invitations SET remind_at = NULL
			WHERE org_id = $1 AND status = 'pending' AND reminded_at IS NULL AND remind_at IS NOT NULL`, orgID)
		return err
	}
	_, err := c.exec(ctx, `UPDATE invitations SET remind_at = sent_at + $2
		WHERE org_id = $1 AND status = 'pending' AND reminded_at IS NULL AND token_sealed IS NOT NULL`,
		orgID, (time.Duration(days) * 24 * time.Hour).Microseconds())
	return err
}

// DueReminders lists invitations whose reminder is due by now, oldest first.
func (c *Conn) DueReminders(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT id FROM invitations
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
	err = c.q.QueryRowContext(ctx, `UPDATE invitations SET reminded_at = $2
		WHERE id = $1 AND reminded_at IS NULL AND remind_at <= $2 AND status = 'pending' AND expires_at > $2
		AND token_sealed IS NOT NULL
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

// PurgeReminders drops the sealed tokens of pending invitations past their
// expiry: no reminder can be due for them. (An invitation that stops being
// pending drops its token in the same UPDATE.) It reads them through the
// janitor's index of pending and expired invitations whose token is live.
func (c *Conn) PurgeReminders(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := c.exec(ctx, `UPDATE invitations SET token_sealed = NULL, remind_at = NULL WHERE id IN (
		SELECT id FROM invitations WHERE status IN ('pending', 'expired') AND token_hash NOT LIKE 'expired:%'
		AND expires_at <= $1 AND token_sealed IS NOT NULL LIMIT $2)`, ts(now), limit)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
