package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ThrottleState is one throttle key's counters.
type ThrottleState struct {
	TAT  time.Time // token bucket: when the bucket is full again (zero: full)
	N    int       // consecutive failures
	Last time.Time // the latest failure (zero: none)
}

func throttleTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromTS(v)
}

func throttleTS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ts(t)
}

// LockThrottle returns key's counters, creating the row when missing, and
// holds the row until the transaction ends, so that concurrent updates of
// one key (from any process) take turns.
func (c *Conn) LockThrottle(ctx context.Context, key string, now time.Time) (ThrottleState, error) {
	var st ThrottleState
	var tat, last int64
	err := c.q.QueryRowContext(ctx, `INSERT INTO throttles (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING tat, n, last`, key, ts(now)).Scan(&tat, &st.N, &last)
	if err != nil {
		return st, c.wrap(err, "lock throttle")
	}
	st.TAT, st.Last = throttleTime(tat), throttleTime(last)
	return st, nil
}

// SaveThrottle stores key's counters, stale after expires.
func (c *Conn) SaveThrottle(ctx context.Context, key string, st ThrottleState, expires time.Time) error {
	_, err := c.exec(ctx, `UPDATE throttles SET tat = $2, n = $3, last = $4, expires_at = $5 WHERE key = $1`,
		key, throttleTS(st.TAT), st.N, throttleTS(st.Last), ts(expires))
	return err
}

// ReadThrottle returns key's counters (zero when it has none).
func (c *Conn) ReadThrottle(ctx context.Context, key string) (ThrottleState, error) {
	var st ThrottleState
	var tat, last int64
	err := c.q.QueryRowContext(ctx, `SELECT tat, n, last FROM throttles WHERE key = $1`, key).Scan(&tat, &st.N, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, c.wrap(err, "read throttle")
	}
	st.TAT, st.Last = throttleTime(tat), throttleTime(last)
	return st, nil
}

// DeleteThrottle forgets key's counters.
func (c *Conn) DeleteThrottle(ctx context.Context, key string) error {
	_, err := c.exec(ctx, `DELETE FROM throttles WHERE key = $1`, key)
	return err
}
