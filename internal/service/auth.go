package service

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Token lifetimes and limits.
const (
	AccessTokenTTL  = 15 * time.Minute
	RefreshTokenTTL = 30 * 24 * time.Hour
	OTPTTL          = 10 * time.Minute
	OTPMaxAttempts  = 5
	ResetTokenTTL   = 15 * time.Minute
	PasswordMin     = 10
	PasswordMax     = 128

	// Token prefixes make leaked tokens recognisable to secret scanners.
	AccessTokenPrefix  = "gh_at_"
	RefreshTokenPrefix = "gh_rt_"
	ResetTokenPrefix   = "gh_rs_"

	// sessionCacheTTL bounds how long a process trusts a session it has
	// seen without asking the database; ending a session in this process
	// evicts it at once.
	sessionCacheTTL = 30 * time.Second
)

// OTP purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
)

// Auth signs people up and in, and keeps their sessions.
type Auth struct {
	*base
	login          *loginLimits
	passwordByUser *Throttle
	existsByIP     *Throttle
	passkeyByIP    *Throttle // passkey sign-in options (each stores a challenge)
	cache          *sessionCache
	touched        *touches
	keys           *Keys
	access         *Access
	dummyHash      string
	webauthn       *webauthn.WebAuthn // nil when the relying party is misconfigured
}

func newAuth(b *base, access *Access, keys *Keys) *Auth {
	a := &Auth{
		base:           b,
		access:         access,
		keys:           keys,
		login:          newLoginLimits(b),
		passwordByUser: b.throttle("password-user:", time.Minute, 5),
		existsByIP:     b.throttle("exists-ip:", 6*time.Second, 10),
		passkeyByIP:    b.throttle("passkey-options-ip:", 2*time.Second, 30),
		cache:          newSessionCache(b.cache),
		// One entry (id, time, map slot) is ~128 bytes: 1/64 of the budget.
		touched: newTouches(max(1024, int(b.cache.MaxBytes()/64/128))),
	}
	a.webauthn, _ = newWebAuthn(b.cfg) // the configuration was checked at start
	// Unknown emails are checked against this hash, so that they take as
	// long as a wrong password.
	a.dummyHash, _ = b.cfg.Hasher.Hash(context.Background(), secret.Token("", 16))
	return a
}

// RegisterInput is a sign-up.
type RegisterInput struct {
	Name     string
	Email    string
	Password string
}

// Register creates an unverified account and mails a verification code.
func (a *Auth) Register(ctx context.Context, actor gatehouse.Actor, in RegisterInput) (*gatehouse.User, error) {
	name, nerr := validateName("name", in.Name, true)
	email, eerr := ValidateEmail("email", in.Email)
	if err := fields(nerr, eerr, validatePassword("password", in.Password)); err != nil {
		return nil, err
	}
	hash, err := a.cfg.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	now := a.now()
	u := &gatehouse.User{ID: newID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := a.issueOTP(ctx, tx, u, PurposeVerifyEmail, actor.IP); err != nil {
			return err
		}
		actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
		return a.audit(ctx, tx, actor, "", "user.registered", "user", u.ID, map[string]any{"email": u.Email, "name": u.Name})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// VerifyEmail marks the account's email verified with the mailed code.
// The API answers with the user; signing in is a separate step there.
func (a *Auth) VerifyEmail(ctx context.Context, actor gatehouse.Actor, email, code string) (*gatehouse.User, error) {
	u, _, err := a.verifyEmail(ctx, actor, email, code, false)
	return u, err
}

// VerifyEmailAndSignIn verifies the email and opens a session at once: the
// dashboard, right after sign-up, does not ask for the password again (the
// code proves the mailbox, which could reset the password anyway).
func (a *Auth) VerifyEmailAndSignIn(ctx context.Context, actor gatehouse.Actor, email, code string) (*gatehouse.User, *gatehouse.Tokens, error) {
	return a.verifyEmail(ctx, actor, email, code, true)
}

func (a *Auth) verifyEmail(ctx context.Context, actor gatehouse.Actor, email, code string, signIn bool) (*gatehouse.User, *gatehouse.Tokens, error) {
	email, eerr := ValidateEmail("email", email)
	if err := fields(eerr, validateCode(code)); err != nil {
		return nil, nil, err
	}
	var u *gatehouse.User
	var tokens *gatehouse.Tokens
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		refusal, err := a.useOTP(ctx, tx, actor.IP, email, PurposeVerifyEmail, code)
		if refusal != nil || err != nil {
			return refusal, err
		}
		if u, err = tx.UserByEmail(ctx, email); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errBadCode, nil
			}
			return nil, err
		}
		if err := tx.MarkEmailVerified(ctx, u.ID, a.now()); err != nil {
			return nil, err
		}
		u.EmailVerified = true
		session := actor
		actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
		if err := a.audit(ctx, tx, actor, "", "user.email_verified", "user", u.ID, nil); err != nil {
			return nil, err
		}
		if signIn {
			tokens, err = a.openSession(ctx, tx, session, u)
		}
		return nil, err
	})
	if err != nil {
		return nil, nil, err
	}
	return u, tokens, nil
}

var errBadLogin = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_credentials", Message: "The email or password is wrong."}

// Login checks a password and opens a session. Unknown email and wrong
// password answer alike and take as long; failures are throttled per
// address, per (account, address) with backoff, and per account for
// addresses that failed (login_limits.go). An account with a second factor
// is refused here: it signs in through LoginStart and VerifyMFA.
func (a *Auth) Login(ctx context.Context, actor gatehouse.Actor, email, password string) (*gatehouse.Tokens, *gatehouse.User, error) {
	tokens, u, ch, err := a.LoginStart(ctx, actor, email, password)
	if err == nil && ch != nil {
		return nil, nil, errMFAOnlyAPI
	}
	return tokens, u, err
}

// LoginStart is Login that answers, for an account with a second factor,
// the challenge of the second step (mfa.go) instead of a session.
func (a *Auth) LoginStart(ctx context.Context, actor gatehouse.Actor, email, password string) (*gatehouse.Tokens, *gatehouse.User, *MFAChallenge, error) {
	u, err := a.checkPassword(ctx, actor, email, password)
	if err != nil {
		return nil, nil, nil, err
	}
	if ch, err := a.mfaChallenge(ctx, actor, u); err != nil || ch != nil {
		return nil, u, ch, err
	}
	var tokens *gatehouse.Tokens
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		tokens, err = a.openSession(ctx, tx, actor, u)
		return err
	})
	return tokens, u, nil, err
}

// checkPassword is the first step of a sign-in: the verified account whose
// password this is.
func (a *Auth) checkPassword(ctx context.Context, actor gatehouse.Actor, email, password string) (*gatehouse.User, error) {
	email = strings.TrimSpace(email)
	var ferrs []*gatehouse.FieldError
	if email == "" {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "email", Message: "is required"})
	}
	if password == "" {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "password", Message: "is required"})
	}
	if err := fields(ferrs...); err != nil {
		return nil, err
	}
	// Counters name the account by a hash: no address is stored in clear,
	// and any bytes a client sends make a valid key.
	accountKey := secret.HashToken(store.NormalizeEmail(email))
	if err := a.login.check(ctx, accountKey, actor.IP); err != nil {
		return nil, err
	}
	var u *gatehouse.User
	var err error
	if storableText(email) { // no account has any other address; PostgreSQL would refuse it
		u, err = a.store.R().UserByEmail(ctx, email)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, err
		}
	}
	// An unknown address is checked against a dummy hash of the same
	// parameters, so that it takes as long as a wrong password.
	hash := a.dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := a.cfg.Hasher.Verify(ctx, password, hash)
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	if u == nil || u.PasswordHash == "" || !ok {
		if err := a.login.failed(ctx, accountKey, actor.IP); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	if err := a.login.succeeded(ctx, accountKey, actor.IP); err != nil {
		return nil, err
	}
	if !u.EmailVerified {
		return nil, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified",
			Message: "Verify your email address first: enter the code we mailed you, or ask for a new one."}
	}
	if err := a.enforcedSSO(ctx, u); err != nil { // see ssoinvite.go
		return nil, err
	}
	return u, nil
}

// ForgotPassword mails a reset code when the account exists; it answers the
// same either way.
func (a *Auth) ForgotPassword(ctx context.Context, actor gatehouse.Actor, email string) error {
	return a.ResendOTP(ctx, actor, email, PurposeResetPassword)
}

// ForgotPasswordVerify trades a reset code for a single-use reset token.
func (a *Auth) ForgotPasswordVerify(ctx context.Context, actor gatehouse.Actor, email, code string) (string, error) {
	email, eerr := ValidateEmail("email", email)
	if err := fields(eerr, validateCode(code)); err != nil {
		return "", err
	}
	var token string
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		refusal, err := a.useOTP(ctx, tx, actor.IP, email, PurposeResetPassword, code)
		if refusal != nil || err != nil {
			return refusal, err
		}
		u, err := tx.UserByEmail(ctx, email)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return errBadCode, nil
		}
		if err != nil {
			return nil, err
		}
		now := a.now()
		token = secret.Token(ResetTokenPrefix, 32)
		return nil, tx.CreateResetToken(ctx, secret.HashToken(token), u.ID, now.Add(ResetTokenTTL), now)
	})
	return token, err
}

// ForgotPasswordSet sets a new password with a reset token and ends every
// session of the user.
func (a *Auth) ForgotPasswordSet(ctx context.Context, actor gatehouse.Actor, resetToken, password string) error {
	var terr *gatehouse.FieldError
	if resetToken == "" {
		terr = &gatehouse.FieldError{Field: "reset_token", Message: "is required"}
	}
	if err := fields(terr, validatePassword("password", password)); err != nil {
		return err
	}
	hash, err := a.cfg.Hasher.Hash(ctx, password)
	if err != nil {
		return gatehouse.Internal(err)
	}
	var ended []string
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		now := a.now()
		userID, err := tx.UseResetToken(ctx, secret.HashToken(resetToken), now)
		if err != nil {
			if e := gatehouse.AsError(err); e.Code == gatehouse.EINVALID {
				e.Fields = []gatehouse.FieldError{{Field: "reset_token", Message: "is invalid, expired or already used"}}
			}
			return err
		}
		if err := tx.SetUserPassword(ctx, userID, hash, now); err != nil {
			return err
		}
		// The code proved the mailbox too.
		if err := tx.MarkEmailVerified(ctx, userID, now); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, userID, ""); err != nil {
			return err
		}
		actor.Kind, actor.ID = gatehouse.PrincipalUser, userID
		return a.audit(ctx, tx, actor, "", "user.password_reset", "user", userID, map[string]any{"sessions_ended": len(ended)})
	})
	a.ended(ctx, ended...)
	return err
}

// SetPassword gives a password to a signed-in user who has none.
func (a *Auth) SetPassword(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, password string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	if err := fields(validatePassword("password", password)); err != nil {
		return err
	}
	hash, err := a.cfg.Hasher.Hash(ctx, password)
	if err != nil {
		return gatehouse.Internal(err)
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.HasPassword() {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "password_already_set", Message: "This account already has a password; change it with PUT /v1/auth/password."}
		}
		if err := tx.SetUserPassword(ctx, u.ID, hash, a.now()); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.password_set", "user", u.ID, nil)
	})
}

// ChangePassword replaces the password after checking the current one, and
// ends the user's other sessions.
func (a *Auth) ChangePassword(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, current, next string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	var cerr *gatehouse.FieldError
	if current == "" {
		cerr = &gatehouse.FieldError{Field: "current_password", Message: "is required"}
	}
	if err := fields(cerr, validatePassword("new_password", next)); err != nil {
		return err
	}
	if err := a.passwordByUser.Check(ctx, p.UserID, "Too many wrong passwords; try again later."); err != nil {
		return err
	}
	u, err := a.store.R().UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := a.cfg.Hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return gatehouse.Internal(err)
	}
	if !ok || !u.HasPassword() {
		if err := a.passwordByUser.Use(ctx, p.UserID); err != nil {
			return err
		}
		return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "wrong_password", Message: "The current password is wrong.",
			Fields: []gatehouse.FieldError{{Field: "current_password", Message: "is wrong"}}}
	}
	hash, err := a.cfg.Hasher.Hash(ctx, next)
	if err != nil {
		return gatehouse.Internal(err)
	}
	var ended []string
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.SetUserPassword(ctx, u.ID, hash, a.now()); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, p.SessionID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.password_changed", "user", u.ID, map[string]any{"sessions_ended": len(ended)})
	})
	a.ended(ctx, ended...)
	return err
}

// AccountExists tells whether an address has an account, rate-limited per IP
// because it answers exactly the question an enumerator asks.
func (a *Auth) AccountExists(ctx context.Context, actor gatehouse.Actor, email string) (bool, error) {
	email, eerr := ValidateEmail("email", email)
	if err := fields(eerr); err != nil {
		return false, err
	}
	if err := a.existsByIP.Take(ctx, actor.IP, "Too many account look-ups from this address; try again later."); err != nil {
		return false, err
	}
	_, err := a.store.R().UserByEmail(ctx, email)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

var errUserOnly = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "user_only", Message: "This endpoint is for signed-in users, not API keys."}

// storableText reports whether s can be a stored text value: valid UTF-8
// without NUL bytes (PostgreSQL refuses anything else with an error, which
// must not turn a client's bad input into a 500).
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
