package store

import (
	"context"
	"time"
)

// CountSeats counts the organization's members, plus (when pending) its
// pending invitations that have not expired by now.
func (c *Conn) CountSeats(ctx context.Context, orgID string, pending bool, now time.Time) (int, error) {
	var members, invs int64
	if err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = $1`, orgID).Scan(&members); err != nil {
		return 0, c.wrap(err, "count members")
	}
	if pending {
		if err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND status = 'pending' AND expires_at > $2`,
			orgID, ts(now)).Scan(&invs); err != nil {
			return 0, c.wrap(err, "count pending invitations")
		}
	}
	return int(members + invs), nil
}
