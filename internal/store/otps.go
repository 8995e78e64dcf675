package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

// OTP is a one-time code as stored: only its keyed hash.
type OTP struct {
	ID        string
	Email     string // normalised
	Purpose   string
	CodeHash  string
	Attempts  int
	ExpiresAt time.Time
	Used      bool
	CreatedAt time.Time
	Client    string // the client address that asked for it
}

// CreateOTP stores a new code.
func (c *Conn) CreateOTP(ctx context.Context, o *OTP) error {
	_, err := c.exec(ctx, `INSERT INTO otps (id, email_norm, purpose, code_hash, attempts, expires_at, created_at, client) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)`,
		o.ID, o.Email, o.Purpose, o.CodeHash, ts(o.ExpiresAt), ts(o.CreatedAt), o.Client)
	return err
}

// LatestOTP returns the newest code for an address and purpose, or nil.
func (c *Conn) LatestOTP(ctx context.Context, email, purpose string) (*OTP, error) {
	var o OTP
	var exp, created int64
	var used sql.NullInt64
	err := c.q.QueryRowContext(ctx, `SELECT id, email_norm, purpose, code_hash, attempts, expires_at, used_at, created_at FROM otps
		WHERE email_norm = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, email, purpose).
		Scan(&o.ID, &o.Email, &o.Purpose, &o.CodeHash, &o.Attempts, &exp, &used, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err, "latest otp")
	}
	o.ExpiresAt, o.Used, o.CreatedAt = fromTS(exp), used.Valid, fromTS(created)
	return &o, nil
}

// OTPsSince lists creation times of codes for an address and purpose since t,
// newest first (for resend limits).
func (c *Conn) OTPsSince(ctx context.Context, email, purpose string, since time.Time) ([]time.Time, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT created_at FROM otps WHERE email_norm = $1 AND purpose = $2 AND created_at >= $3 ORDER BY created_at DESC`,
		email, purpose, ts(since))
	if err != nil {
		return nil, c.wrap(err, "otps since")
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, c.wrap(err, "scan otp")
		}
		out = append(out, fromTS(v))
	}
	return out, c.wrap(rows.Err(), "otps rows")
}

// OTPRequest is when a code was asked for, and by which client address.
type OTPRequest struct {
	At     time.Time
	Client string
}

// OTPRequestsSince lists the code requests for an address and purpose since
// t, newest first, with their client addresses (for per-client quotas).
func (c *Conn) OTPRequestsSince(ctx context.Context, email, purpose string, since time.Time) ([]OTPRequest, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT created_at, client FROM otps WHERE email_norm = $1 AND purpose = $2 AND created_at >= $3
		ORDER BY created_at DESC`, email, purpose, ts(since))
	if err != nil {
		return nil, c.wrap(err, "otp requests since")
	}
	defer rows.Close()
	var out []OTPRequest
	for rows.Next() {
		var v int64
		var r OTPRequest
		if err := rows.Scan(&v, &r.Client); err != nil {
			return nil, c.wrap(err, "scan otp request")
		}
		r.At = fromTS(v)
		out = append(out, r)
	}
	return out, c.wrap(rows.Err(), "otp requests rows")
}

// LockGuessClient takes a client address's lock on code checks until the
// transaction ends, so that its parallel checks count one after the other
// (the row's lock on PostgreSQL; SQLite's single writer already does).
func (c *Conn) LockGuessClient(ctx context.Context, client string, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO otp_guess_clients (client, seen_at) VALUES ($1, $2)
		ON CONFLICT (client) DO UPDATE SET seen_at = excluded.seen_at`, client, ts(now))
	return err
}

// WrongCodesSince counts a client address's wrong codes since t and returns
// the oldest of them (zero when none).
func (c *Conn) WrongCodesSince(ctx context.Context, client string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM otp_wrong_codes WHERE client = $1 AND at >= $2`, client, ts(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, c.wrap(err, "wrong codes since")
	}
	return n, fromNullTS(oldest), nil
}

// RecordWrongCode counts one wrong code from a client address, and forgets
// every client's wrong codes older than keep.
func (c *Conn) RecordWrongCode(ctx context.Context, id, client string, at time.Time, keep time.Duration) error {
	if _, err := c.exec(ctx, `DELETE FROM otp_wrong_codes WHERE at < $1`, ts(at.Add(-keep))); err != nil {
		return err
	}
	if _, err := c.exec(ctx, `DELETE FROM otp_guess_clients WHERE seen_at < $1`, ts(at.Add(-keep))); err != nil {
		return err
	}
	_, err := c.exec(ctx, `INSERT INTO otp_wrong_codes (id, client, at) VALUES ($1, $2, $3)`, id, client, ts(at))
	return err
}

// FailOTP counts a wrong try; the code dies (is marked used) at maxAttempts.
func (c *Conn) FailOTP(ctx context.Context, id string, maxAttempts int, now time.Time) (attempts int, err error) {
	err = c.q.QueryRowContext(ctx, `UPDATE otps SET attempts = attempts + 1,
		used_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE used_at END WHERE id = $1 RETURNING attempts`, id, maxAttempts, ts(now)).Scan(&attempts)
	return attempts, c.wrap(err, "fail otp")
}

// UseOTP consumes a code once; false when it was already used.
func (c *Conn) UseOTP(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE otps SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CreateResetToken stores the hash of a password-reset token.
func (c *Conn) CreateResetToken(ctx context.Context, hash, userID string, expires, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO reset_tokens (hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`, hash, userID, ts(expires), ts(now))
	return err
}

// UseResetToken consumes a live reset token and returns its user's id.
func (c *Conn) UseResetToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var userID string
	err := c.q.QueryRowContext(ctx, `UPDATE reset_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id`,
		hash, ts(now)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gatehouse.Errorf(gatehouse.EINVALID, "The reset token is invalid, expired or already used.")
	}
	return userID, c.wrap(err, "use reset token")
}
