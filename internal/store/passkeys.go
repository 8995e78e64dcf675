package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Passkey is a stored WebAuthn credential.
type Passkey struct {
	ID           string
	UserID       string
	CredentialID string // base64url of the authenticator's credential id
	Name         string
	Credential   string // go-webauthn's credential record, JSON
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero until first used
}

const passkeyColumns = `id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (*Passkey, error) {
	var p Passkey
	var count, created, used int64
	if err := sc.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &count, &created, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromTS(created), fromTS(used)
	return &p, nil
}

// CreatePasskey stores a new passkey; a credential id already stored (by
// anyone) is a conflict.
func (c *Conn) CreatePasskey(ctx context.Context, p *Passkey) error {
	_, err := c.exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.UserID, p.CredentialID, p.Name, p.Credential, int64(p.SignCount), ts(p.CreatedAt), ts(p.LastUsedAt))
	return err
}

// UserPasskeys lists a user's passkeys, oldest first.
func (c *Conn) UserPasskeys(ctx context.Context, userID string) ([]*Passkey, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, c.wrap(err, "user passkeys")
	}
	defer rows.Close()
	out := []*Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, c.wrap(err, "scan passkey")
		}
		out = append(out, p)
	}
	return out, c.wrap(rows.Err(), "passkey rows")
}

// CountPasskeys counts a user's passkeys.
func (c *Conn) CountPasskeys(ctx context.Context, userID string) (int, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE user_id = $1`, userID).Scan(&n)
	return n, c.wrap(err, "count passkeys")
}

// PasskeyByCredentialID finds a passkey by its credential id; nil when none.
func (c *Conn) PasskeyByCredentialID(ctx context.Context, credentialID string) (*Passkey, error) {
	p, err := scanPasskey(c.q.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return p, c.wrap(err, "passkey by credential")
}

// RenamePasskey renames one of a user's passkeys; false when the user has
// no passkey with that id.
func (c *Conn) RenamePasskey(ctx context.Context, userID, id, name string) (bool, error) {
	res, err := c.exec(ctx, `UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2`, id, userID, name)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeletePasskey deletes one of a user's passkeys; false when the user has
// no passkey with that id.
func (c *Conn) DeletePasskey(ctx context.Context, userID, id string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UsePasskey records a sign-in with a passkey whose authenticator reported
// count. The counter only moves forward: the update succeeds when count is
// above the stored one, or when both are 0 (authenticators that keep no
// counter). False means the counter went backwards (or stood still), the
// sign of a cloned authenticator — also when a concurrent sign-in got there
// first.
func (c *Conn) UsePasskey(ctx context.Context, id string, count uint32, credential string, now time.Time) (bool, error) {
	res, err := c.exec(ctx, `UPDATE passkeys SET sign_count = $2, credential = $3, last_used_at = $4
		WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))`, id, int64(count), credential, ts(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// WebAuthnChallenge is a WebAuthn ceremony in progress.
type WebAuthnChallenge struct {
	Hash    string // SHA-256 of the challenge
	Purpose string // register, login, mfa
	UserID  string // "" for a discoverable sign-in
	Session string // go-webauthn's session data without the challenge, JSON
	Expires time.Time
}

// CreateWebAuthnChallenge stores a ceremony's challenge (as its hash).
func (c *Conn) CreateWebAuthnChallenge(ctx context.Context, ch *WebAuthnChallenge, now time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO webauthn_challenges (hash, purpose, user_id, session, expires_at, used_at, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6)`, ch.Hash, ch.Purpose, ch.UserID, ch.Session, ts(ch.Expires), ts(now))
	return err
}

// UseWebAuthnChallenge spends a live challenge of the given purpose (unused
// and unexpired) and returns it; nil when there is none. One UPDATE decides,
// so of concurrent uses exactly one gets it.
func (c *Conn) UseWebAuthnChallenge(ctx context.Context, hash, purpose string, now time.Time) (*WebAuthnChallenge, error) {
	ch := WebAuthnChallenge{Hash: hash, Purpose: purpose}
	var expires int64
	err := c.q.QueryRowContext(ctx, `UPDATE webauthn_challenges SET used_at = $3
		WHERE hash = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3 RETURNING user_id, session, expires_at`,
		hash, purpose, ts(now)).Scan(&ch.UserID, &ch.Session, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err, "use webauthn challenge")
	}
	ch.Expires = fromTS(expires)
	return &ch, nil
}

// PurgeWebAuthnChallenges deletes (at most limit) challenges that expired
// before before, for the janitor.
func (c *Conn) PurgeWebAuthnChallenges(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batchDelete(ctx, "webauthn_challenges", "hash", `expires_at < $2`, limit, ts(before))
}

// SetMFAChallengeFirstFactor records what the first step of a sign-in
// proved (an amr value), for the session its second step opens.
func (c *Conn) SetMFAChallengeFirstFactor(ctx context.Context, hash, amr string) error {
	_, err := c.exec(ctx, `UPDATE mfa_challenges SET first_factor = $2 WHERE hash = $1`, hash, amr)
	return err
}

// MFAChallengeFirstFactor answers what the first step of a sign-in proved.
func (c *Conn) MFAChallengeFirstFactor(ctx context.Context, hash string) (string, error) {
	var amr string
	err := c.q.QueryRowContext(ctx, `SELECT first_factor FROM mfa_challenges WHERE hash = $1`, hash).Scan(&amr)
	return amr, notFound(c.wrap(err, "mfa first factor"), "Sign-in step")
}
