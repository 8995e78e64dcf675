package service

import (
	"bufio"
	"context"
	_ "embed"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
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

//go:embed common_passwords.txt
var commonPasswordsFile string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// Auth signs people up and in, and keeps their sessions.
type Auth struct {
	*base
	loginByIP      *Throttle
	loginByAccount *Throttle
	existsByIP     *Throttle
	cache          *sessionCache
	touched        *touches
	keys           *Keys
	dummyHash      string
}

func newAuth(b *base) *Auth {
	a := &Auth{
		base:           b,
		loginByIP:      NewThrottle(6*time.Second, 20, b.now),
		loginByAccount: NewThrottle(time.Minute, 5, b.now),
		existsByIP:     NewThrottle(6*time.Second, 10, b.now),
		cache:          newSessionCache(b.cache),
		// One entry (id, time, map slot) is ~128 bytes: 1/64 of the budget.
		touched: newTouches(max(1024, int(b.cache.MaxBytes()/64/128))),
	}
	// Unknown emails are checked against this hash, so that they take as
	// long as a wrong password.
	a.dummyHash, _ = b.cfg.Hasher.Hash(context.Background(), secret.Token("", 16))
	return a
}

// ValidateEmail checks an address's shape and returns it trimmed.
func ValidateEmail(field, email string) (string, *gatehouse.FieldError) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", &gatehouse.FieldError{Field: field, Message: "is required"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", &gatehouse.FieldError{Field: field, Message: "must be an email address like name@example.com"}
	}
	return email, nil
}

// validatePassword checks length and the common-password list.
func validatePassword(field, pw string) *gatehouse.FieldError {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return &gatehouse.FieldError{Field: field, Message: "is required"}
	case n < PasswordMin:
		return &gatehouse.FieldError{Field: field, Message: "must be at least 10 characters"}
	case n > PasswordMax:
		return &gatehouse.FieldError{Field: field, Message: "must be at most 128 characters"}
	case commonPasswords[strings.ToLower(pw)]:
		return &gatehouse.FieldError{Field: field, Message: "is too common; choose a less guessable password"}
	}
	return nil
}

func validateName(field, name string, required bool) (string, *gatehouse.FieldError) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" && required:
		return "", &gatehouse.FieldError{Field: field, Message: "is required"}
	case utf8.RuneCountInString(name) > 100:
		return "", &gatehouse.FieldError{Field: field, Message: "must be at most 100 characters"}
	case strings.ContainsAny(name, "\x00\r\n"):
		return "", &gatehouse.FieldError{Field: field, Message: "must be one line of text"}
	}
	return name, nil
}

// fields collects field errors into one validation error, nil when none.
func fields(errs ...*gatehouse.FieldError) error {
	var out []gatehouse.FieldError
	for _, e := range errs {
		if e != nil {
			out = append(out, *e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return gatehouse.Invalid("The request has invalid fields.", out...)
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
		if _, err := a.issueOTP(ctx, tx, u, PurposeVerifyEmail); err != nil {
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

// issueOTP stores a fresh code for u (which may be nil for an unknown
// address: the row still counts toward resend limits, so limits answer alike
// whether or not an account exists) and mails it when u is set.
func (a *Auth) issueOTP(ctx context.Context, tx *store.Conn, u *gatehouse.User, purpose string) (string, error) {
	code := secret.Code(6)
	now := a.now()
	email := ""
	if u != nil {
		email = store.NormalizeEmail(u.Email)
	}
	o := &store.OTP{ID: newID(), Email: email, Purpose: purpose, CodeHash: a.cfg.Key.MAC("otp", email, purpose, code), ExpiresAt: now.Add(OTPTTL), CreatedAt: now}
	if err := tx.CreateOTP(ctx, o); err != nil {
		return "", err
	}
	if u == nil {
		return code, nil
	}
	tmpl := "verify_email"
	if purpose == PurposeResetPassword {
		tmpl = "reset_password"
	}
	m, err := mailer.Compose(tmpl, u.Email, map[string]any{"Name": u.Name, "Code": code, "ValidMinutes": int(OTPTTL.Minutes())})
	if err != nil {
		return "", gatehouse.Internal(err)
	}
	m.Kind, m.RefID = "user", u.ID
	return code, a.mail(ctx, tx, m)
}

// checkResendLimits allows one code a minute and five an hour per address and purpose.
func (a *Auth) checkResendLimits(ctx context.Context, tx *store.Conn, email, purpose string) error {
	now := a.now()
	// A code sent exactly an hour ago no longer counts, so that a client
	// honouring Retry-After succeeds (times are stored to the microsecond).
	times, err := tx.OTPsSince(ctx, store.NormalizeEmail(email), purpose, now.Add(-time.Hour+time.Microsecond))
	if err != nil {
		return err
	}
	if len(times) > 0 && now.Sub(times[0]) < time.Minute {
		return rateLimited("A code was sent less than a minute ago; wait before asking for another.", time.Minute-now.Sub(times[0]))
	}
	if len(times) >= 5 {
		oldest := times[len(times)-1]
		return rateLimited("Five codes were sent in the last hour; wait before asking for another.", time.Hour-now.Sub(oldest))
	}
	return nil
}

// ResendOTP mails a new code. It answers the same whether or not the
// account exists (or, for verify_email, is already verified).
func (a *Auth) ResendOTP(ctx context.Context, actor gatehouse.Actor, email, purpose string) error {
	email, eerr := ValidateEmail("email", email)
	var perr *gatehouse.FieldError
	if purpose != PurposeVerifyEmail && purpose != PurposeResetPassword {
		perr = &gatehouse.FieldError{Field: "purpose", Message: "must be verify_email or reset_password"}
	}
	if err := fields(eerr, perr); err != nil {
		return err
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error {
		if err := a.checkResendLimits(ctx, tx, email, purpose); err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, email)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (u != nil && purpose == PurposeVerifyEmail && u.EmailVerified) {
			u, err = nil, nil
		}
		if err != nil {
			return err
		}
		if u == nil {
			// Count the request against the address all the same.
			o := &store.OTP{ID: newID(), Email: store.NormalizeEmail(email), Purpose: purpose, CodeHash: a.cfg.Key.MAC("void", newID()), ExpiresAt: a.now(), CreatedAt: a.now()}
			return tx.CreateOTP(ctx, o)
		}
		_, err = a.issueOTP(ctx, tx, u, purpose)
		return err
	})
}

var errBadCode = gatehouse.Invalid("The code is wrong or has expired; request a new one if needed.",
	gatehouse.FieldError{Field: "otp", Message: "is wrong or has expired"})

// useOTP checks a code inside tx. A wrong code counts as a try that sticks
// (the caller commits refusals); the fifth wrong try kills the code.
func (a *Auth) useOTP(ctx context.Context, tx *store.Conn, email, purpose, code string) (refusal, err error) {
	o, err := tx.LatestOTP(ctx, store.NormalizeEmail(email), purpose)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if o == nil || o.Used || !now.Before(o.ExpiresAt) {
		return errBadCode, nil
	}
	if !secret.Equal(o.CodeHash, a.cfg.Key.MAC("otp", o.Email, purpose, code)) {
		attempts, err := tx.FailOTP(ctx, o.ID, OTPMaxAttempts, now)
		if err != nil {
			return nil, err
		}
		if attempts >= OTPMaxAttempts {
			return gatehouse.Invalid("Too many wrong codes: this code no longer works. Request a new one.",
				gatehouse.FieldError{Field: "otp", Message: "no longer works after 5 wrong tries; request a new code"}), nil
		}
		return errBadCode, nil
	}
	if ok, err := tx.UseOTP(ctx, o.ID, now); err != nil || !ok {
		return errBadCode, err
	}
	return nil, nil
}

func validateCode(code string) *gatehouse.FieldError {
	if code == "" {
		return &gatehouse.FieldError{Field: "otp", Message: "is required"}
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return &gatehouse.FieldError{Field: "otp", Message: "must be the 6-digit code from the email"}
	}
	return nil
}

// VerifyEmail marks the account's email verified with the mailed code.
func (a *Auth) VerifyEmail(ctx context.Context, actor gatehouse.Actor, email, code string) (*gatehouse.User, error) {
	email, eerr := ValidateEmail("email", email)
	if err := fields(eerr, validateCode(code)); err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		refusal, err := a.useOTP(ctx, tx, email, PurposeVerifyEmail, code)
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
		actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
		return nil, a.audit(ctx, tx, actor, "", "user.email_verified", "user", u.ID, nil)
	})
	return u, err
}

var errBadLogin = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_credentials", Message: "The email or password is wrong."}

// Login checks a password and opens a session. Unknown email and wrong
// password answer alike and take about as long; failures are throttled per
// IP and per account.
func (a *Auth) Login(ctx context.Context, actor gatehouse.Actor, email, password string) (*gatehouse.Tokens, *gatehouse.User, error) {
	email = strings.TrimSpace(email)
	var ferrs []*gatehouse.FieldError
	if email == "" {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "email", Message: "is required"})
	}
	if password == "" {
		ferrs = append(ferrs, &gatehouse.FieldError{Field: "password", Message: "is required"})
	}
	if err := fields(ferrs...); err != nil {
		return nil, nil, err
	}
	accountKey := store.NormalizeEmail(email)
	if err := a.loginByIP.Check(actor.IP, "Too many failed sign-ins from this address; try again later."); err != nil {
		return nil, nil, err
	}
	if err := a.loginByAccount.Check(accountKey, "Too many failed sign-ins for this account; try again later."); err != nil {
		return nil, nil, err
	}
	var u *gatehouse.User
	var err error
	if storableText(email) { // no account has any other address; PostgreSQL would refuse it
		u, err = a.store.R().UserByEmail(ctx, email)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, nil, err
		}
	}
	hash := a.dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := a.cfg.Hasher.Verify(ctx, password, hash)
	if err != nil {
		return nil, nil, gatehouse.Internal(err)
	}
	if u == nil || u.PasswordHash == "" || !ok {
		a.loginByIP.Use(actor.IP)
		a.loginByAccount.Use(accountKey)
		return nil, nil, errBadLogin
	}
	if !u.EmailVerified {
		return nil, nil, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified",
			Message: "Verify your email address first: enter the code we mailed you, or ask for a new one."}
	}
	var tokens *gatehouse.Tokens
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		tokens, err = a.openSession(ctx, tx, actor, u)
		return err
	})
	return tokens, u, err
}

// openSession creates a session for u inside tx and returns its tokens.
func (a *Auth) openSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) (*gatehouse.Tokens, error) {
	now := a.now()
	access, refresh := secret.Token(AccessTokenPrefix, 32), secret.Token(RefreshTokenPrefix, 32)
	s := &gatehouse.Session{
		ID: newID(), UserID: u.ID,
		AccessHash: secret.HashToken(access), AccessExpiresAt: now.Add(AccessTokenTTL),
		RefreshHash: secret.HashToken(refresh), RefreshExpiresAt: now.Add(RefreshTokenTTL),
		IP: actor.IP, UserAgent: truncate(actor.UserAgent, 512), CreatedAt: now, LastUsedAt: now,
	}
	if err := tx.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
	if err := a.audit(ctx, tx, actor, "", "session.created", "session", s.ID, nil); err != nil {
		return nil, err
	}
	return &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, SessionID: s.ID}, nil
}

// OpenSession signs u in (used where another proof replaced the password,
// such as accepting an invitation that created the account).
func (a *Auth) OpenSession(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User) (*gatehouse.Tokens, error) {
	return a.openSession(ctx, tx, actor, u)
}

var errBadRefresh = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_refresh_token", Message: "The refresh token is invalid or expired; sign in again."}

// Refresh rotates a session's tokens. Presenting a refresh token that was
// already rotated away is reuse, a sign of theft: it ends the whole session.
func (a *Auth) Refresh(ctx context.Context, actor gatehouse.Actor, refreshToken string) (*gatehouse.Tokens, *gatehouse.User, error) {
	if refreshToken == "" {
		return nil, nil, fields(&gatehouse.FieldError{Field: "refresh_token", Message: "is required"})
	}
	h := secret.HashToken(refreshToken)
	var tokens *gatehouse.Tokens
	var u *gatehouse.User
	var ended []string
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		now := a.now()
		s, err := tx.SessionByRefreshHash(ctx, h)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			sid, err := tx.UsedRefreshSession(ctx, h)
			if err != nil || sid == "" {
				return errBadRefresh, err
			}
			old, err := tx.SessionByID(ctx, sid)
			if err != nil {
				return errBadRefresh, nil
			}
			if _, err := tx.DeleteSession(ctx, sid); err != nil {
				return nil, err
			}
			ended = append(ended, sid)
			actor.Kind, actor.ID = gatehouse.PrincipalUser, old.UserID
			return errBadRefresh, a.audit(ctx, tx, actor, "", "session.revoked", "session", sid, map[string]any{"reason": "refresh_token_reuse"})
		}
		if err != nil {
			return nil, err
		}
		if !now.Before(s.RefreshExpiresAt) {
			if _, err := tx.DeleteSession(ctx, s.ID); err != nil {
				return nil, err
			}
			ended = append(ended, s.ID)
			return errBadRefresh, nil
		}
		if u, err = tx.UserByID(ctx, s.UserID); err != nil {
			return nil, err
		}
		access, refresh := secret.Token(AccessTokenPrefix, 32), secret.Token(RefreshTokenPrefix, 32)
		ended = append(ended, s.ID) // evict the old access token from caches
		s.AccessHash, s.AccessExpiresAt = secret.HashToken(access), now.Add(AccessTokenTTL)
		s.RefreshHash, s.RefreshExpiresAt = secret.HashToken(refresh), now.Add(RefreshTokenTTL)
		s.IP, s.UserAgent = actor.IP, truncate(actor.UserAgent, 512)
		if err := tx.RotateSession(ctx, s, h, now); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errBadRefresh, nil // lost a race with another rotation
			}
			return nil, err
		}
		tokens = &gatehouse.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: AccessTokenTTL, SessionID: s.ID}
		return nil, nil
	})
	a.ended(ctx, ended...)
	if err != nil {
		return nil, nil, err
	}
	return tokens, u, nil
}

var errBadToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_token", Message: "The access token is invalid or expired."}

// Authenticate resolves a bearer access token to its principal. A session
// seen in the last sessionCacheTTL is answered from memory.
func (a *Auth) Authenticate(ctx context.Context, token string) (*gatehouse.Principal, error) {
	if strings.HasPrefix(token, APIKeyPrefix) && a.keys != nil {
		return a.keys.Authenticate(ctx, token)
	}
	if !strings.HasPrefix(token, AccessTokenPrefix) {
		return nil, errBadToken
	}
	h := secret.HashToken(token)
	now := a.now()
	if p, ok := a.cache.get(h, now); ok {
		return p, nil
	}
	t := a.cache.begin(h)
	s, err := a.store.R().SessionByAccessHash(ctx, h)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(s.AccessExpiresAt) {
		return nil, errBadToken
	}
	u, err := a.store.R().UserByID(ctx, s.UserID)
	if err != nil {
		return nil, errBadToken
	}
	p := &gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: u.ID, SessionID: s.ID, Name: u.Name}
	// last_used_at is noted at most once per cache period per session, and
	// written in batches.
	if err := a.touch(ctx, s.ID, now); err != nil {
		return nil, err
	}
	a.cache.put(t, h, p, s.AccessExpiresAt, now)
	return p, nil
}

// Logout ends the caller's session: both its tokens stop working at once.
func (a *Auth) Logout(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := tx.DeleteSession(ctx, p.SessionID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "session.deleted", "session", p.SessionID, map[string]any{"reason": "logout"})
	})
	a.ended(ctx, p.SessionID)
	return err
}

// Sessions lists the caller's sessions.
func (a *Auth) Sessions(ctx context.Context, p *gatehouse.Principal, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Session], error) {
	if p.Kind != gatehouse.PrincipalUser {
		return gatehouse.Page[*gatehouse.Session]{}, errUserOnly
	}
	if page.After != nil && !storableText(page.After.ID) {
		return gatehouse.Page[*gatehouse.Session]{}, gatehouse.Invalid("Invalid cursor.",
			gatehouse.FieldError{Field: "cursor", Message: "is not a cursor returned by this list"})
	}
	if err := a.FlushLastUsed(ctx); err != nil { // show uses not yet written
		return gatehouse.Page[*gatehouse.Session]{}, err
	}
	ss, err := a.store.R().ListUserSessions(ctx, p.UserID, page)
	if err != nil {
		return gatehouse.Page[*gatehouse.Session]{}, err
	}
	return gatehouse.MakePage(ss, page, func(s *gatehouse.Session) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: s.CreatedAt, ID: s.ID}
	}), nil
}

// EndSession ends one of the caller's own sessions; anyone else's is 404.
func (a *Auth) EndSession(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	notFound := gatehouse.Errorf(gatehouse.ENOTFOUND, "Session not found.")
	if !storableText(id) {
		return notFound
	}
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		s, err := tx.SessionByID(ctx, id)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && s.UserID != p.UserID) {
			return notFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.DeleteSession(ctx, id); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "session.deleted", "session", id, nil)
	})
	a.ended(ctx, id)
	return err
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
		refusal, err := a.useOTP(ctx, tx, email, PurposeResetPassword, code)
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
	if err := a.loginByAccount.Check("user:"+p.UserID, "Too many wrong passwords; try again later."); err != nil {
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
		a.loginByAccount.Use("user:" + p.UserID)
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
	if err := a.existsByIP.Take(actor.IP, "Too many account look-ups from this address; try again later."); err != nil {
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

// sessionCache maps access-token hashes to principals for sessionCacheTTL
// at most, in a view of the bounded store; an ended session is dropped by
// its id.
type sessionCache struct {
	c *cache.Cache[*cachedSession]
}

type cachedSession struct {
	p        *gatehouse.Principal
	expires  time.Time // the access token's own expiry
	cachedAt time.Time
}

func newSessionCache(s *cache.Shared) *sessionCache {
	return &sessionCache{c: cache.NewCache(s, "sessions", cache.Options[*cachedSession]{
		Weigh: func(e *cachedSession) int { return 200 + len(e.p.UserID) + len(e.p.SessionID) + len(e.p.Name) },
		Index: func(e *cachedSession) string { return e.p.SessionID },
	})}
}

func (c *sessionCache) get(h string, now time.Time) (*gatehouse.Principal, bool) {
	e, ok := c.c.Get(h, "")
	if !ok || now.Sub(e.cachedAt) > sessionCacheTTL || !now.Before(e.expires) {
		return nil, false
	}
	return e.p, true
}

// begin is taken before reading a session, for put.
func (c *sessionCache) begin(h string) cache.Ticket { return c.c.Begin(h, "") }

// put caches a session read after t, unless one ended in between.
func (c *sessionCache) put(t cache.Ticket, h string, p *gatehouse.Principal, expires, now time.Time) {
	c.c.Fill(t, h, "", &cachedSession{p: p, expires: expires, cachedAt: now})
}

// evict forgets sessions, so their next request goes to the database.
func (c *sessionCache) evict(sessionIDs ...string) {
	for _, id := range sessionIDs {
		c.c.InvalidateIndex(id)
	}
}

// EvictSessions drops cached sessions (also called when another process
// reports that it ended them).
func (a *Auth) EvictSessions(ids ...string) { a.cache.evict(ids...) }
