package store

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// NormalizeEmail is the form emails are compared in: trimmed, lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const userColumns = `id, email, name, password_hash, email_verified, avatar_type, avatar_version, COALESCE(current_org_id, ''), created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*gatehouse.User, error) {
	var u gatehouse.User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.EmailVerified, &u.AvatarType, &u.AvatarVersion, &u.CurrentOrgID, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	return &u, nil
}

// CreateUser inserts a user; an email already registered is a conflict.
func (c *Conn) CreateUser(ctx context.Context, u *gatehouse.User) error {
	_, err := c.exec(ctx, `INSERT INTO users (id, email, email_norm, name, password_hash, email_verified, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
		u.ID, strings.TrimSpace(u.Email), NormalizeEmail(u.Email), u.Name, u.PasswordHash, u.EmailVerified, ts(u.CreatedAt))
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "email_taken", Message: "An account with this email already exists.", Cause: err}
	}
	return err
}

// UserByID returns a user or a not-found error.
func (c *Conn) UserByID(ctx context.Context, id string) (*gatehouse.User, error) {
	u, err := scanUser(c.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, notFound(c.wrap(err, "user by id"), "User")
}

// UserByEmail finds a user by email, compared case-insensitively.
func (c *Conn) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	u, err := scanUser(c.q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_norm = $1`, NormalizeEmail(email)))
	return u, notFound(c.wrap(err, "user by email"), "User")
}

// UpdateUserProfile sets the user's name.
func (c *Conn) UpdateUserProfile(ctx context.Context, id, name string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE users SET name = $2, updated_at = $3 WHERE id = $1`, id, name, ts(now))
	return err
}

// SetUserPassword stores a new password hash.
func (c *Conn) SetUserPassword(ctx context.Context, id, hash string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, id, hash, ts(now))
	return err
}

// MarkEmailVerified records that the user proved their mailbox.
func (c *Conn) MarkEmailVerified(ctx context.Context, id string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE id = $1`, id, ts(now))
	return err
}

// SetCurrentOrg sets (or, with "", clears) the user's current organization.
func (c *Conn) SetCurrentOrg(ctx context.Context, userID, orgID string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE users SET current_org_id = $2, updated_at = $3 WHERE id = $1`, userID, nullStr(orgID), ts(now))
	return err
}

// SetAvatar stores the user's avatar image and bumps its version.
func (c *Conn) SetAvatar(ctx context.Context, id, contentType string, data []byte, now time.Time) (int64, error) {
	var version int64
	err := c.q.QueryRowContext(ctx, `UPDATE users SET avatar = $2, avatar_type = $3, avatar_version = avatar_version + 1, updated_at = $4
		WHERE id = $1 RETURNING avatar_version`, id, data, contentType, ts(now)).Scan(&version)
	return version, notFound(c.wrap(err, "set avatar"), "User")
}

// Avatar returns the user's avatar image, or not found.
func (c *Conn) Avatar(ctx context.Context, id string) (contentType string, data []byte, version int64, err error) {
	err = c.q.QueryRowContext(ctx, `SELECT avatar_type, avatar, avatar_version FROM users WHERE id = $1 AND avatar IS NOT NULL`, id).Scan(&contentType, &data, &version)
	return contentType, data, version, notFound(c.wrap(err, "avatar"), "Avatar")
}

// ClearAvatar removes the user's avatar and bumps its version.
func (c *Conn) ClearAvatar(ctx context.Context, id string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE users SET avatar = NULL, avatar_type = '', avatar_version = avatar_version + 1, updated_at = $2 WHERE id = $1`, id, ts(now))
	return err
}
