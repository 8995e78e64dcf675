package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

const identityColumns = `id, user_id, provider, subject, email, created_at, last_used_at`

func scanIdentity(row interface{ Scan(...any) error }) (*gatehouse.Identity, error) {
	var i gatehouse.Identity
	var created, used int64
	if err := row.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &created, &used); err != nil {
		return nil, err
	}
	i.CreatedAt, i.LastUsedAt = fromTS(created), fromTS(used)
	return &i, nil
}

// CreateIdentity links an outside account to a user; the same provider
// account linked twice is a conflict.
func (c *Conn) CreateIdentity(ctx context.Context, i *gatehouse.Identity) error {
	_, err := c.exec(ctx, `INSERT INTO user_identities (`+identityColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		i.ID, i.UserID, i.Provider, i.Subject, i.Email, ts(i.CreatedAt), ts(i.LastUsedAt))
	return err
}

// IdentityBySubject finds the link of one provider account, or not found.
func (c *Conn) IdentityBySubject(ctx context.Context, provider, subject string) (*gatehouse.Identity, error) {
	i, err := scanIdentity(c.q.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM user_identities WHERE provider = $1 AND subject = $2`, provider, subject))
	return i, notFound(c.wrap(err, "identity by subject"), "Identity")
}

// TouchIdentity records a sign-in through a link and the address it asserted.
func (c *Conn) TouchIdentity(ctx context.Context, id, email string, now time.Time) error {
	_, err := c.exec(ctx, `UPDATE user_identities SET email = $2, last_used_at = $3 WHERE id = $1`, id, email, ts(now))
	return err
}

// UserIdentities lists a user's links, oldest first.
func (c *Conn) UserIdentities(ctx context.Context, userID string) ([]*gatehouse.Identity, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+identityColumns+` FROM user_identities WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, c.wrap(err, "list identities")
	}
	defer rows.Close()
	var out []*gatehouse.Identity
	for rows.Next() {
		i, err := scanIdentity(rows)
		if err != nil {
			return nil, c.wrap(err, "scan identity")
		}
		out = append(out, i)
	}
	return out, c.wrap(rows.Err(), "identities rows")
}

// DeleteIdentity removes one of a user's links; it reports whether it existed.
func (c *Conn) DeleteIdentity(ctx context.Context, userID, id string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM user_identities WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AuthFlow is a sign-in with an outside provider under way.
type AuthFlow struct {
	StateHash    string
	Provider     string // "google", "github", "sso"
	ConnectionID string
	Nonce        string
	Verifier     string // PKCE verifier; sealed at rest
	RequestID    string // SAML AuthnRequest id
	RedirectTo   string
	Mode         string // "web" or "api"
	ExpiresAt    time.Time
	CreatedAt    time.Time
}

// CreateAuthFlow stores a flow, its PKCE verifier sealed by the store's Box.
// Expired flows are swept on the way.
func (c *Conn) CreateAuthFlow(ctx context.Context, f *AuthFlow) error {
	var sealed []byte
	if f.Verifier != "" {
		var err error
		if sealed, err = c.s.box.Seal([]byte(f.Verifier)); err != nil {
			return gatehouse.Internal(err)
		}
	}
	if _, err := c.exec(ctx, `DELETE FROM auth_flows WHERE expires_at < $1`, ts(f.CreatedAt.Add(-time.Hour))); err != nil {
		return err
	}
	_, err := c.exec(ctx, `INSERT INTO auth_flows (state_hash, provider, connection_id, nonce, verifier_sealed, request_id, redirect_to, mode, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		f.StateHash, f.Provider, f.ConnectionID, f.Nonce, sealed, f.RequestID, f.RedirectTo, f.Mode, ts(f.ExpiresAt), ts(f.CreatedAt))
	return err
}

// UseAuthFlow consumes a live flow once: a second use, an expired flow or an
// unknown state all answer not found.
func (c *Conn) UseAuthFlow(ctx context.Context, stateHash string, now time.Time) (*AuthFlow, error) {
	var f AuthFlow
	var sealed []byte
	var exp, created int64
	err := c.q.QueryRowContext(ctx, `UPDATE auth_flows SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING state_hash, provider, connection_id, nonce, verifier_sealed, request_id, redirect_to, mode, expires_at, created_at`,
		stateHash, ts(now)).Scan(&f.StateHash, &f.Provider, &f.ConnectionID, &f.Nonce, &sealed, &f.RequestID, &f.RedirectTo, &f.Mode, &exp, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Sign-in flow not found.")
	}
	if err != nil {
		return nil, c.wrap(err, "use auth flow")
	}
	if len(sealed) > 0 {
		plain, err := c.s.box.Open(sealed)
		if err != nil {
			return nil, gatehouse.Internal(err)
		}
		f.Verifier = string(plain)
	}
	f.ExpiresAt, f.CreatedAt = fromTS(exp), fromTS(created)
	return &f, nil
}

// PeekAuthFlow reads a flow without using it (to choose how to answer).
func (c *Conn) PeekAuthFlow(ctx context.Context, stateHash string) (mode, redirectTo string, err error) {
	err = c.q.QueryRowContext(ctx, `SELECT mode, redirect_to FROM auth_flows WHERE state_hash = $1`, stateHash).Scan(&mode, &redirectTo)
	return mode, redirectTo, notFound(c.wrap(err, "peek auth flow"), "Sign-in flow")
}
