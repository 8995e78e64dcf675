package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The daily invitation budget (policy invitations_per_day) is counted per
// organization and second in invitation_quota; the count of the last day is
// the budget used. This file decides how an invitation takes its place in
// it without ever letting the day hold more than the budget.
//
// On SQLite one transaction writes at a time: the invitation's own
// transaction counts and bumps (Take), exactly.
//
// On PostgreSQL a count inside the invitation's transaction needs the
// organization's row lock held through the commit (and the bumped quota row
// stays locked until then), which runs one organization's invitations one at
// a time at the commit's latency. There an invitation first reserves its
// place (ReserveInvitationQuota): one statement, committed at once, that
// takes a share lock on the organization's row and bumps the second's count,
// then a count that sees it. Reservations never wait for each other's
// invitations. Of concurrent reservations, the one whose count ran last
// sees every other (a reservation's count runs after its own commit), so
// no more than the budget ever count within it: those are admitted.
//
// A reservation counting past the budget is not refused on that count,
// since some of the others it counted may still be given back (their
// invitations failed, or counted past the budget too): Fits says so at the
// start of the invitation's transaction, the caller gives the reservation
// back and runs the transaction again with ExactInvitationQuota, whose Take
// counts and bumps as on SQLite under the organization's row lock (which
// waits for reservations holding the share lock, and holds new ones off
// until the commit). When all invitations are valid, exactly the budget's
// number are created; a failed invitation gives its reservation back
// (Release), after its transaction (so that it never waits for a second
// connection while holding one).

// QuotaTicket is one invitation's place in its organization's daily budget.
type QuotaTicket struct {
	s        *Store
	orgID    string
	second   int64
	reserved bool // committed outside the invitation's transaction
	n        int  // the day's count seen after reserving
	oldest   time.Time
}

// ReserveInvitationQuota reserves one invitation of the organization's
// daily budget before the invitation's transaction (PostgreSQL; on SQLite,
// or inside an outer transaction, it returns ExactInvitationQuota). In the transaction call Fits once the
// budget is known, and Take; after it, Release when the invitation was not
// created.
func (s *Store) ReserveInvitationQuota(ctx context.Context, orgID string, now time.Time) (*QuotaTicket, error) {
	if s.dialect.Name() == "sqlite" || s.outerTx(ctx) != nil {
		// Inside an outer transaction (bulk invitations, nested.go) the
		// invitation commits with it, under the organization's lock it
		// holds: a reservation would wait for that lock.
		return s.ExactInvitationQuota(orgID), nil
	}
	t := &QuotaTicket{s: s, orgID: orgID, second: now.Unix()}
	c := &Conn{q: s.wrapQ(s.writer), s: s}
	var n int64
	err := c.q.QueryRowContext(ctx, `WITH o AS (SELECT id FROM organizations WHERE id = $1 FOR SHARE)
		INSERT INTO invitation_quota (org_id, second, n) SELECT id, $2, 1 FROM o
		ON CONFLICT (org_id, second) DO UPDATE SET n = invitation_quota.n + 1 RETURNING n`, orgID, t.second).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil // no such organization: the transaction says so
	}
	if err != nil {
		return nil, c.wrap(err, "reserve invitation quota")
	}
	t.reserved = true
	if n == 1 {
		// A new second's count: forget those older than the day (once per
		// second and organization is enough, the count reads the day only).
		if _, err := c.exec(ctx, `DELETE FROM invitation_quota WHERE org_id = $1 AND second <= $2`, orgID, t.second-24*60*60); err != nil {
			_ = t.Release(ctx)
			return nil, err
		}
	}
	if t.n, t.oldest, err = c.CountInvitationQuota(ctx, orgID, now); err != nil {
		_ = t.Release(ctx)
		return nil, err
	}
	return t, nil
}

// ErrBudgetRecount is what the invitation's transaction returns when Fits
// refused: give the reservation back and run it again with
// ExactInvitationQuota.
var ErrBudgetRecount = errors.New("store: the invitation budget is to be counted again under the organization's lock")

// ExactInvitationQuota is a ticket whose Take counts and bumps the budget
// inside the transaction, under the organization's lock.
func (s *Store) ExactInvitationQuota(orgID string) *QuotaTicket {
	return &QuotaTicket{s: s, orgID: orgID}
}

// Fits returns ErrBudgetRecount when a reservation counted past the budget
// of limit a day, nil otherwise (Take then decides).
func (t *QuotaTicket) Fits(limit int) error {
	if t.reserved && t.n > limit {
		return ErrBudgetRecount
	}
	return nil
}

// Take decides, inside the invitation's transaction, whether the
// invitation fits in the budget of limit a day. When it does not, it
// returns false and when the oldest invitation of the day was sent.
func (t *QuotaTicket) Take(ctx context.Context, tx *Conn, now time.Time, limit int) (bool, time.Time, error) {
	if t.reserved {
		return true, time.Time{}, t.Fits(limit)
	}
	if tx.batch != nil {
		return tx.takeBatched(ctx, t.orgID, now, limit)
	}
	if t.s.dialect.ForUpdate() != "" { // SQLite's writes already run one at a time
		if err := tx.LockOrg(ctx, t.orgID); err != nil {
			return false, time.Time{}, err
		}
	}
	n, oldest, err := tx.CountInvitationQuota(ctx, t.orgID, now)
	if err != nil {
		return false, time.Time{}, err
	}
	if n >= limit {
		return false, oldest, nil
	}
	return true, time.Time{}, tx.BumpInvitationQuota(ctx, t.orgID, now)
}

// Release gives a reservation back when its invitation was not created (a
// failed transaction takes back what Take bumped inside it). Should it
// fail, the day counts one invitation too many, never too few.
func (t *QuotaTicket) Release(ctx context.Context) error {
	if t == nil || !t.reserved {
		return nil
	}
	t.reserved = false
	c := &Conn{q: t.s.wrapQ(t.s.writer), s: t.s}
	_, err := c.exec(context.WithoutCancel(ctx), `UPDATE invitation_quota SET n = n - 1 WHERE org_id = $1 AND second = $2 AND n > 0`, t.orgID, t.second)
	return err
}

// CountInvitationQuota returns how many invitations the organization sent
// in the day before now, and when the oldest of them was sent.
func (c *Conn) CountInvitationQuota(ctx context.Context, orgID string, now time.Time) (int, time.Time, error) {
	var n int64
	var oldest *int64
	err := c.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0), MIN(second) FROM invitation_quota WHERE org_id = $1 AND second > $2`,
		orgID, now.Unix()-24*60*60).Scan(&n, &oldest)
	var t time.Time
	if oldest != nil {
		t = time.Unix(*oldest, 0).UTC()
	}
	return int(n), t, c.wrap(err, "invitation quota")
}

// BumpInvitationQuota counts one invitation sent now.
func (c *Conn) BumpInvitationQuota(ctx context.Context, orgID string, now time.Time) error {
	return c.addQuota(ctx, orgID, now.Unix(), 1)
}

// addQuota counts k invitations sent in the second sec, and forgets counts
// older than a day when it starts a new second's count (the count reads only
// the last day anyway, so one clean-up per second and organization is
// enough). Nothing is counted for an organization deleted meanwhile (in the
// same group-commit batch): its counts went with it.
func (c *Conn) addQuota(ctx context.Context, orgID string, sec int64, k int) error {
	var n int64
	err := c.q.QueryRowContext(ctx, `INSERT INTO invitation_quota (org_id, second, n) SELECT id, $2, $3 FROM organizations WHERE id = $1
		ON CONFLICT (org_id, second) DO UPDATE SET n = invitation_quota.n + excluded.n RETURNING n`, orgID, sec, k).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return c.wrap(err, "invitation quota")
	}
	if n > int64(k) {
		return nil
	}
	_, err = c.exec(ctx, `DELETE FROM invitation_quota WHERE org_id = $1 AND second <= $2`, orgID, sec-24*60*60)
	return err
}

// Budget counts kept by a group-commit batch (SQLite, batch_state.go): the
// day's count of an organization is read at its first invitation in the
// batch and then counted on in memory; what the batch added is written
// once, before the commit (one statement per organization and batch
// instead of two per invitation). The count is exact: one writer runs the
// whole batch, nothing else writes the table in it, and a count is read
// again when the second changes (the day's window moved).

// quotaCount is an organization's count in a batch: the day's count as of
// the second sec, of which pending were added in the batch and are not yet
// in the table (all of them in the second sec).
type quotaCount struct {
	sec     int64
	n       int
	oldest  time.Time
	pending int
}

// takeBatched is Take inside a batch.
func (c *Conn) takeBatched(ctx context.Context, orgID string, now time.Time, limit int) (bool, time.Time, error) {
	sec := now.Unix()
	q, ok := c.batch.quota[orgID]
	if !ok || q.sec != sec {
		if ok && q.pending > 0 {
			// A new second: write what this batch added, then count again.
			if err := c.addQuota(ctx, orgID, q.sec, q.pending); err != nil {
				return false, time.Time{}, err
			}
		}
		n, oldest, err := c.CountInvitationQuota(ctx, orgID, now)
		if err != nil {
			return false, time.Time{}, err
		}
		q = quotaCount{sec: sec, n: n, oldest: oldest}
	}
	if q.n >= limit {
		c.setQuota(orgID, q)
		return false, q.oldest, nil
	}
	q.n++
	q.pending++
	if q.oldest.IsZero() {
		q.oldest = time.Unix(sec, 0).UTC()
	}
	c.setQuota(orgID, q)
	return true, time.Time{}, nil
}

func (c *Conn) setQuota(orgID string, q quotaCount) {
	if c.batch.quota == nil {
		c.batch.quota = make(map[string]quotaCount, 1)
	}
	c.batch.quota[orgID] = q
}

// flushQuota writes the counts a batch added (before its commit).
func (c *Conn) flushQuota(ctx context.Context) error {
	if c.batch == nil {
		return nil
	}
	for org, q := range c.batch.quota {
		if q.pending == 0 {
			continue
		}
		if err := c.addQuota(ctx, org, q.sec, q.pending); err != nil {
			return err
		}
		q.pending = 0
		c.batch.quota[org] = q
	}
	return nil
}
