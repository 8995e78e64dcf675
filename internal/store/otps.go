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
}

// CreateOTP stores a new code.
func (c *Conn) CreateOTP(ctx context.Context, o *OTP) error {
	_, err := c.exec(ctx, `INSERT INTO otps (id, email_norm, purpose, code_hash, attempts, expires_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $6)`,
		o.ID, o.Email, o.Purpose, o.CodeHash, ts(o.ExpiresAt), ts(o.CreatedAt))
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
