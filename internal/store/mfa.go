package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// TOTP is a user's authenticator-app secret as stored: sealed.
type TOTP struct {
	UserID       string
	SecretSealed string // base64 of the secret key's box
	ConfirmedAt  time.Time
	LastStep     int64
	CreatedAt    time.Time
}

// Confirmed reports whether the secret has been proven with a code.
func (t *TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// UserTOTP returns a user's TOTP row, or nil when there is none.
func (c *Conn) UserTOTP(ctx context.Context, userID string) (*TOTP, error) {
	var t TOTP
	var confirmed, created int64
	err := c.q.QueryRowContext(ctx, `SELECT user_id, secret_sealed, confirmed_at, last_step, created_at FROM user_totp WHERE user_id = $1`, userID).
		Scan(&t.UserID, &t.SecretSealed, &confirmed, &t.LastStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err, "user totp")
	}
	t.ConfirmedAt, t.CreatedAt = fromTS(confirmed), fromTS(created)
	return &t, nil
}

// PutPendingTOTP stores a new unconfirmed secret, replacing an unconfirmed
// one; it reports false (and changes nothing) when a confirmed one exists.
func (c *Conn) PutPendingTOTP(ctx context.Context, userID, sealed string, now time.Time) (bool, error) {
	if _, err := c.exec(ctx, `DELETE FROM user_totp WHERE user_id = $1 AND confirmed_at = 0`, userID); err != nil {
		return false, err
	}
	res, err := c.exec(ctx, `INSERT INTO user_totp (user_id, secret_sealed, confirmed_at, last_step, created_at) VALUES ($1, $2, 0, 0, $3)
		ON CONFLICT (user_id) DO NOTHING`, userID, sealed, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ConfirmTOTP turns a pending secret on; false when it was not pending.
func (c *Conn) ConfirmTOTP(ctx context.Context, userID string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE user_totp SET confirmed_at = $2 WHERE user_id = $1 AND confirmed_at = 0`, userID, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseTOTPStep records that the code of step was accepted. It succeeds only
// when step is newer than every step accepted before, so that a code (or
// an older one) is never accepted twice, even by concurrent requests.
func (c *Conn) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := c.exec(ctx, `UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2`, userID, step)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteTOTP removes a user's TOTP secret and recovery codes; it reports
// whether a secret existed.
func (c *Conn) DeleteTOTP(ctx context.Context, userID string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM user_totp WHERE user_id = $1`, userID)
	if err != nil {
		return false, err
	}
	if _, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReplaceRecoveryCodes drops a user's recovery codes and stores new hashes.
func (c *Conn) ReplaceRecoveryCodes(ctx context.Context, userID string, ids, hashes []string, now time.Time) error {
	if _, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for i, h := range hashes {
		if _, err := c.exec(ctx, `INSERT INTO recovery_codes (id, user_id, code_hash, used_at, created_at) VALUES ($1, $2, $3, 0, $4)`,
			ids[i], userID, h, ts(now)); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode marks an unused code of the user with hash h used; false
// when there is none.
func (c *Conn) UseRecoveryCode(ctx context.Context, userID, h string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at = 0`, userID, h, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UnusedRecoveryCodes counts a user's unused recovery codes.
func (c *Conn) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at = 0`, userID).Scan(&n)
	return n, c.wrap(err, "count recovery codes")
}

// CreateMFAChallenge stores the hash of a sign-in's mfa_token.
func (c *Conn) CreateMFAChallenge(ctx context.Context, hash, userID string, expires, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO mfa_challenges (hash, user_id, attempts, expires_at, used_at, created_at) VALUES ($1, $2, 0, $3, 0, $4)`,
		hash, userID, ts(expires), ts(now))
	return err
}

// TakeMFAAttempt spends one attempt of a live challenge (unused, unexpired,
// fewer than max attempts) and returns its user; "" when the challenge is
// not live. The update locks the row, so concurrent attempts queue.
func (c *Conn) TakeMFAAttempt(ctx context.Context, hash string, max int, now time.Time) (string, error) {
	var userID string
	err := c.q.QueryRowContext(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1
		WHERE hash = $1 AND used_at = 0 AND expires_at > $2 AND attempts < $3 RETURNING user_id`, hash, ts(now), max).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return userID, c.wrap(err, "take mfa attempt")
}

// UseMFAChallenge marks a challenge used; false when it already was.
func (c *Conn) UseMFAChallenge(ctx context.Context, hash string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE mfa_challenges SET used_at = $2 WHERE hash = $1 AND used_at = 0`, hash, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PurgeMFAChallenges deletes (at most limit) challenges that expired before
// before, for the janitor.
func (c *Conn) PurgeMFAChallenges(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batchDelete(ctx, "mfa_challenges", "hash", `expires_at < $2`, limit, ts(before))
}
