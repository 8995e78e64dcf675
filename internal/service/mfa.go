package service

// Second factors: authenticator-app codes (TOTP, RFC 6238) and recovery
// codes, and the second step of a password sign-in.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"image/png"
	"math/big"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Second-factor limits.
const (
	MFATokenTTL         = 5 * time.Minute
	MFAMaxAttempts      = 5
	MFATokenPrefix      = "gh_mfa_"
	RecoveryCodeCount   = 10
	TOTPIssuer          = "Gatehouse"
	totpPeriod          = 30
	recoveryCodeAlpha   = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryCodeLetters = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrollment is what starting an enrollment answers, once.
type TOTPEnrollment struct {
	Secret     string // base32
	OTPAuthURL string
	QRCode     string // a data: URL of a PNG of OTPAuthURL
}

// MFAStatus is a user's second factors.
type MFAStatus struct {
	TOTP              bool
	RecoveryCodesLeft int
	Passkeys          int
	Methods           []string
}

// MFAChallenge is a password sign-in that needs its second factor.
type MFAChallenge struct {
	Token     string
	Methods   []string
	ExpiresIn time.Duration
	// PasskeyOptions are the request options for a passkey (W3C JSON
	// form), when "passkey" is among Methods.
	PasskeyOptions *protocol.CredentialAssertion
}

var (
	errTOTPEnabled    = &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "totp_already_enabled", Message: "An authenticator app is already on; turn it off first to enroll another."}
	errTOTPNotPending = &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "totp_not_pending", Message: "Start the enrollment first (POST /v1/me/mfa/totp)."}
	errTOTPNotEnabled = &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "totp_not_enabled", Message: "No authenticator app is on."}
	errBadMFACode     = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_mfa_code", Message: "The code is wrong or was already used.",
		Fields: []gatehouse.FieldError{{Field: "code", Message: "is wrong or already used"}}}
	errBadMFAToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_mfa_token",
		Message: "The sign-in step expired, was used, or saw too many wrong codes; sign in again."}
	errMFAOnlyAPI = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "mfa_required",
		Message: "This account has a second factor: sign in with POST /v1/auth/login and finish with POST /v1/auth/mfa/verify."}
)

// MFA answers a user's second factors.
func (a *Auth) MFA(ctx context.Context, p *gatehouse.Principal) (*MFAStatus, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	return a.mfaStatus(ctx, a.store.R(), p.UserID)
}

func (a *Auth) mfaStatus(ctx context.Context, c *store.Conn, userID string) (*MFAStatus, error) {
	t, err := c.UserTOTP(ctx, userID)
	if err != nil {
		return nil, err
	}
	st := &MFAStatus{Methods: []string{}}
	if t != nil && t.Confirmed() {
		st.TOTP = true
		st.Methods = append(st.Methods, "totp", "recovery_code")
		if st.RecoveryCodesLeft, err = c.UnusedRecoveryCodes(ctx, userID); err != nil {
			return nil, err
		}
	}
	if st.Passkeys, err = c.CountPasskeys(ctx, userID); err != nil {
		return nil, err
	}
	if st.Passkeys > 0 {
		st.Methods = append(st.Methods, "passkey")
	}
	return st, nil
}

// StartTOTP makes a new secret for the caller's authenticator app. It
// replaces an unconfirmed one; with a confirmed one it is a conflict.
func (a *Auth) StartTOTP(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) (*TOTPEnrollment, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	u, err := a.store.R().UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	sealed, err := a.cfg.Key.Seal([]byte(key.Secret()))
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		ok, err := tx.PutPendingTOTP(ctx, u.ID, base64.StdEncoding.EncodeToString(sealed), a.now())
		if err != nil {
			return err
		}
		if !ok {
			return errTOTPEnabled
		}
		return a.audit(ctx, tx, actor, "", "mfa.totp_enrollment_started", "user", u.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	out := &TOTPEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}
	if img, err := key.Image(240, 240); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			out.QRCode = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	return out, nil
}

// ConfirmTOTP turns the pending secret on with a code from the app, and
// answers the first recovery codes (shown this once).
func (a *Auth) ConfirmTOTP(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, code string) ([]string, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	if err := fields(validateTOTPCode(code)); err != nil {
		return nil, err
	}
	var codes []string
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		t, err := tx.UserTOTP(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if t == nil || t.Confirmed() {
			return errTOTPNotPending, nil
		}
		ok, err := a.checkTOTP(ctx, tx, t, code)
		if err != nil || !ok {
			return errBadMFACode, err
		}
		if ok, err := tx.ConfirmTOTP(ctx, p.UserID, a.now()); err != nil || !ok {
			return errTOTPNotPending, err
		}
		if codes, err = a.newRecoveryCodes(ctx, tx, p.UserID); err != nil {
			return nil, err
		}
		return nil, a.audit(ctx, tx, actor, "", "mfa.totp_enabled", "user", p.UserID, nil)
	})
	return codes, err
}

// NewRecoveryCodes replaces the caller's recovery codes (the old ones stop
// working); it needs an authenticator app on.
func (a *Auth) NewRecoveryCodes(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) ([]string, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	var codes []string
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		t, err := tx.UserTOTP(ctx, p.UserID)
		if err != nil {
			return err
		}
		if t == nil || !t.Confirmed() {
			return errTOTPNotEnabled
		}
		if codes, err = a.newRecoveryCodes(ctx, tx, p.UserID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "mfa.recovery_codes_replaced", "user", p.UserID, nil)
	})
	return codes, err
}

// DisableTOTP turns the authenticator app off, proven by a current code or
// the password; wrong proofs are throttled like wrong passwords.
func (a *Auth) DisableTOTP(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, code, password string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	if code == "" && password == "" {
		return fields(&gatehouse.FieldError{Field: "code", Message: "is required (or password)"})
	}
	if err := a.passwordByUser.Check(ctx, p.UserID, "Too many wrong codes or passwords; try again later."); err != nil {
		return err
	}
	wrong := &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "wrong_proof", Message: "The code or password is wrong."}
	if code == "" {
		u, err := a.store.R().UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		ok, err := a.cfg.Hasher.Verify(ctx, password, a.hashOrDummy(u))
		if err != nil {
			return gatehouse.Internal(err)
		}
		if !ok || !u.HasPassword() {
			if err := a.passwordByUser.Use(ctx, p.UserID); err != nil {
				return err
			}
			return wrong
		}
	}
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		t, err := tx.UserTOTP(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if t == nil || !t.Confirmed() {
			return errTOTPNotEnabled, nil
		}
		if code != "" {
			ok, err := a.checkTOTP(ctx, tx, t, code)
			if err != nil {
				return nil, err
			}
			if !ok {
				return wrong, nil
			}
		}
		if _, err := tx.DeleteTOTP(ctx, p.UserID); err != nil {
			return nil, err
		}
		return nil, a.audit(ctx, tx, actor, "", "mfa.totp_disabled", "user", p.UserID, nil)
	})
	if err == wrong {
		if uerr := a.passwordByUser.Use(ctx, p.UserID); uerr != nil {
			return uerr
		}
	}
	return err
}

func (a *Auth) hashOrDummy(u *gatehouse.User) string {
	if u.HasPassword() {
		return u.PasswordHash
	}
	return a.dummyHash
}

// mfaChallenge starts the second step of u's sign-in when u has a second
// factor; nil when u has none.
func (a *Auth) mfaChallenge(ctx context.Context, actor gatehouse.Actor, u *gatehouse.User) (*MFAChallenge, error) {
	var ch *MFAChallenge
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		ch, err = a.mfaChallengeIn(ctx, tx, actor, u, "pwd")
		return err
	})
	return ch, err
}

// mfaChallengeIn is mfaChallenge inside tx; firstFactor is the amr value
// of the step that came first (pwd, or AMRSocial).
func (a *Auth) mfaChallengeIn(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, u *gatehouse.User, firstFactor string) (*MFAChallenge, error) {
	st, err := a.mfaStatus(ctx, tx, u.ID)
	if err != nil || len(st.Methods) == 0 {
		return nil, err
	}
	token := secret.Token(MFATokenPrefix, 32)
	now := a.now()
	if err := tx.CreateMFAChallenge(ctx, secret.HashToken(token), u.ID, now.Add(MFATokenTTL), now); err != nil {
		return nil, err
	}
	if firstFactor != "pwd" {
		if err := tx.SetMFAChallengeFirstFactor(ctx, secret.HashToken(token), firstFactor); err != nil {
			return nil, err
		}
	}
	var options *protocol.CredentialAssertion
	if st.Passkeys > 0 {
		if options, err = a.mfaPasskeyOptions(ctx, tx, u.ID); err != nil {
			return nil, err
		}
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, u.ID, u.Name
	if err := a.audit(ctx, tx, actor, "", "mfa.challenge_started", "user", u.ID, map[string]any{"methods": st.Methods}); err != nil {
		return nil, err
	}
	return &MFAChallenge{Token: token, Methods: st.Methods, ExpiresIn: MFATokenTTL, PasskeyOptions: options}, nil
}

// VerifyMFA finishes a sign-in with a TOTP or recovery code. Each call
// spends one of the token's five attempts; the right code spends the token.
func (a *Auth) VerifyMFA(ctx context.Context, actor gatehouse.Actor, mfaToken, code string) (*gatehouse.Tokens, *gatehouse.User, error) {
	var terr, cerr *gatehouse.FieldError
	if mfaToken == "" {
		terr = &gatehouse.FieldError{Field: "mfa_token", Message: "is required"}
	}
	if strings.TrimSpace(code) == "" {
		cerr = &gatehouse.FieldError{Field: "code", Message: "is required"}
	}
	if err := fields(terr, cerr); err != nil {
		return nil, nil, err
	}
	return a.finishMFA(ctx, actor, mfaToken, func(tx *store.Conn, userID string) (string, error, error) {
		amr, ok, err := a.checkSecondFactor(ctx, tx, userID, code)
		if err != nil || ok {
			return amr, nil, err
		}
		return "", errBadMFACode, nil
	})
}

// finishMFA spends one attempt of the sign-in step mfaToken names, checks
// the second factor with check (which answers the amr value it proves, or
// a refusal), and on success spends the token and opens the session.
func (a *Auth) finishMFA(ctx context.Context, actor gatehouse.Actor, mfaToken string,
	check func(tx *store.Conn, userID string) (amr string, refusal, err error)) (*gatehouse.Tokens, *gatehouse.User, error) {
	if !mfaTokenValid(mfaToken) {
		return nil, nil, errBadMFAToken
	}
	h := secret.HashToken(mfaToken)
	var tokens *gatehouse.Tokens
	var u *gatehouse.User
	err := a.committed(ctx, func(tx *store.Conn) (error, error) {
		now := a.now()
		userID, err := tx.TakeMFAAttempt(ctx, h, MFAMaxAttempts, now)
		if err != nil || userID == "" {
			return errBadMFAToken, err
		}
		amr, refusal, err := check(tx, userID)
		if err != nil {
			return nil, err
		}
		if refusal != nil {
			actor.Kind, actor.ID = gatehouse.PrincipalUser, userID
			return refusal, a.audit(ctx, tx, actor, "", "mfa.code_rejected", "user", userID, map[string]any{"reason": gatehouse.AsError(refusal).Reason})
		}
		if used, err := tx.UseMFAChallenge(ctx, h, now); err != nil || !used {
			return errBadMFAToken, err
		}
		first, err := tx.MFAChallengeFirstFactor(ctx, h)
		if err != nil {
			return nil, err
		}
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return nil, err
		}
		tokens, err = a.openSessionAMR(ctx, tx, actor, u, []string{first, amr})
		return nil, err
	})
	if err != nil {
		return nil, nil, err
	}
	return tokens, u, nil
}

// checkSecondFactor checks code as the user's TOTP code (6 digits) or else
// one of their recovery codes, and answers the amr value it proves.
func (a *Auth) checkSecondFactor(ctx context.Context, tx *store.Conn, userID, code string) (string, bool, error) {
	code = strings.TrimSpace(code)
	t, err := tx.UserTOTP(ctx, userID)
	if err != nil || t == nil || !t.Confirmed() {
		return "", false, err
	}
	if validateTOTPCode(code) == nil {
		ok, err := a.checkTOTP(ctx, tx, t, code)
		return "otp", ok, err
	}
	norm := normalizeRecoveryCode(code)
	if len(norm) != recoveryCodeLetters {
		return "", false, nil
	}
	ok, err := tx.UseRecoveryCode(ctx, userID, a.recoveryHash(userID, norm), a.now())
	return "otp", ok, err
}

// checkTOTP accepts the code of the current 30-second step or of one step
// either side (clock skew), once: the step must be newer than every step
// accepted before.
func (a *Auth) checkTOTP(ctx context.Context, tx *store.Conn, t *store.TOTP, code string) (bool, error) {
	raw, err := base64.StdEncoding.DecodeString(t.SecretSealed)
	if err != nil {
		return false, gatehouse.Internal(err)
	}
	key, err := a.cfg.Key.Open(raw)
	if err != nil {
		return false, gatehouse.Internal(err)
	}
	step := a.now().Unix() / totpPeriod
	for s := step - 1; s <= step+1; s++ {
		want, err := totp.GenerateCodeCustom(string(key), time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil {
			return false, gatehouse.Internal(err)
		}
		if secret.Equal(code, want) {
			return tx.UseTOTPStep(ctx, t.UserID, s)
		}
	}
	return false, nil
}

func (a *Auth) newRecoveryCodes(ctx context.Context, tx *store.Conn, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	ids := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		raw := randomFrom(recoveryCodeAlpha, recoveryCodeLetters)
		codes[i] = raw[:5] + "-" + raw[5:]
		ids[i], hashes[i] = newID(), a.recoveryHash(userID, raw)
	}
	return codes, tx.ReplaceRecoveryCodes(ctx, userID, ids, hashes, a.now())
}

// recoveryHash keys a recovery code's hash with the secret key (and the
// user), so that a copy of the database does not reveal the codes.
func (a *Auth) recoveryHash(userID, norm string) string {
	return a.cfg.Key.MAC("recovery", userID, norm)
}

func normalizeRecoveryCode(s string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(s))
}

func validateTOTPCode(code string) *gatehouse.FieldError {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return &gatehouse.FieldError{Field: "code", Message: "must be the 6 digits the app shows"}
	}
	return nil
}

// randomFrom returns n characters drawn uniformly from alphabet.
func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[d.Int64()]
	}
	return string(b)
}
