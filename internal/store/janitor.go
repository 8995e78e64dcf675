package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Retention: the janitor (internal/janitor) deletes, in small batches, rows
// nothing needs any more. Each Purge method deletes at most limit rows in
// the caller's transaction and returns how many it deleted. None touches
// audit events.

// batchDelete deletes up to limit rows of table whose key is selected by
// cond (a WHERE clause on the table, args numbered from $2).
func (c *Conn) batchDelete(ctx context.Context, table, key, cond string, limit int, args ...any) (int, error) {
	q := `DELETE FROM ` + table + ` WHERE ` + key + ` IN (SELECT ` + key + ` FROM ` + table + ` WHERE ` + cond + ` LIMIT $1)`
	res, err := c.exec(ctx, q, append([]any{limit}, args...)...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PurgeSentMail deletes delivered messages sent before before.
func (c *Conn) PurgeSentMail(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batchDelete(ctx, "outbox", "id", `status = 'sent' AND sent_at < $2`, limit, ts(before))
}

// PurgeSentMailBeyond deletes delivered messages older than the keep newest
// messages of the outbox (the development mailbox shows those).
func (c *Conn) PurgeSentMailBeyond(ctx context.Context, keep, limit int) (int, error) {
	var created int64
	var id string
	err := c.q.QueryRowContext(ctx, `SELECT created_at, id FROM outbox ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $1`, keep-1).Scan(&created, &id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return 0, c.wrap(err, "mailbox cutoff")
	}
	return c.batchDelete(ctx, "outbox", "id", `status = 'sent' AND (created_at, id) < ($2, $3)`, limit, created, id)
}

// PurgeSessions deletes sessions whose refresh token expired before before,
// with the refresh tokens they rotated away.
func (c *Conn) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT id FROM sessions WHERE refresh_expires_at < $1 LIMIT $2`, ts(before), limit)
	if err != nil {
		return 0, c.wrap(err, "expired sessions")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, c.wrap(err, "scan session id")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, c.wrap(err, "expired sessions")
	}
	n := 0
	for _, id := range ids {
		ok, err := c.DeleteSession(ctx, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// PurgeOTPs deletes one-time codes created before before that were used or
// have expired. Callers keep an hour of codes: the send limit counts them.
func (c *Conn) PurgeOTPs(ctx context.Context, before, now time.Time, limit int) (int, error) {
	return c.batchDelete(ctx, "otps", "id", `created_at < $2 AND (used_at IS NOT NULL OR expires_at <= $3)`, limit, ts(before), ts(now))
}

// PurgeResetTokens deletes password-reset tokens that expired before before
// (used or not).
func (c *Conn) PurgeResetTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batchDelete(ctx, "reset_tokens", "hash", `expires_at < $2`, limit, ts(before))
}

// PurgeInvitationQuota deletes per-second invitation counts older than the
// day the quota looks back over.
func (c *Conn) PurgeInvitationQuota(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := c.exec(ctx, `DELETE FROM invitation_quota WHERE (org_id, second) IN
		(SELECT org_id, second FROM invitation_quota WHERE second <= $2 LIMIT $1)`, limit, before.Unix())
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ExpireInvitationTokens drops the tokens of invitations that expired
// before before and are still pending or expired: each becomes status
// expired (an audit event records it when it was still pending) and its
// token hash is replaced by a value no token hashes to, so the record stays
// and its link is dead. It returns how many tokens it dropped.
func (c *Conn) ExpireInvitationTokens(ctx context.Context, before, now time.Time, limit int) (int, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT id, org_id, email, status FROM invitations
		WHERE status IN ('pending', 'expired') AND token_hash NOT LIKE 'expired:%' AND expires_at < $1 LIMIT $2`, ts(before), limit)
	if err != nil {
		return 0, c.wrap(err, "lapsed invitations")
	}
	type lapsed struct{ id, org, email, status string }
	var ls []lapsed
	for rows.Next() {
		var l lapsed
		if err := rows.Scan(&l.id, &l.org, &l.email, &l.status); err != nil {
			rows.Close()
			return 0, c.wrap(err, "scan invitation")
		}
		ls = append(ls, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, c.wrap(err, "lapsed invitations")
	}
	for _, l := range ls {
		if _, err := c.exec(ctx, `UPDATE invitations SET status = 'expired', token_hash = $2, updated_at = $3, token_sealed = NULL, remind_at = NULL WHERE id = $1`,
			l.id, "expired:"+l.id, ts(now)); err != nil {
			return 0, err
		}
		if l.status != gatehouse.InvitationPending {
			continue
		}
		summary, _ := json.Marshal(map[string]any{"email": l.email})
		if err := c.WriteAudit(ctx, &gatehouse.AuditEvent{OrgID: l.org, ActorKind: gatehouse.ActorSystem, Action: "invitation.expired",
			TargetType: "invitation", TargetID: l.id, Summary: summary, CreatedAt: now}); err != nil {
			return 0, err
		}
	}
	return len(ls), nil
}

// sqliteJanitor makes janitors of one process take turns on SQLite, where
// one process owns the database file.
var sqliteJanitor sync.Mutex

// TryJanitorLock takes the janitor's lock without waiting: a PostgreSQL
// advisory lock (per schema), shared by every process on the database, or a
// process-wide mutex on SQLite. It returns ok false when another holds it,
// and otherwise a function releasing it.
func (s *Store) TryJanitorLock(ctx context.Context) (unlock func(), ok bool, err error) {
	if s.dialect.Name() != "postgres" {
		if !sqliteJanitor.TryLock() {
			return nil, false, nil
		}
		return sqliteJanitor.Unlock, true, nil
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return nil, false, gatehouse.Internal(fmt.Errorf("janitor lock: %w", err))
	}
	var schema string
	if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		conn.Close()
		return nil, false, gatehouse.Internal(fmt.Errorf("janitor lock: %w", err))
	}
	h := fnv.New64a()
	h.Write([]byte("gatehouse-janitor:" + schema))
	id := int64(h.Sum64() >> 1)
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, id).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, gatehouse.Internal(fmt.Errorf("janitor lock: %w", err))
		}
		return nil, false, nil
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, id)
		conn.Close()
	}, true, nil
}
