package service

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// One-time code quotas.
const (
	// OTPPerClientHour codes an hour (and one a minute) per address,
	// purpose and client address.
	OTPPerClientHour = 5
	// OTPPerAddressHour codes an hour per address and purpose from all
	// clients together: a ceiling against mail floods.
	OTPPerAddressHour = 20
	// WrongCodesPerClient wrong codes per client address, across all
	// accounts, in WrongCodesWindow.
	WrongCodesPerClient = 30
	WrongCodesWindow    = 15 * time.Minute
)

// issueOTP stores a fresh code for u (which may be nil for an unknown
// address: the row still counts toward resend limits, so limits answer alike
// whether or not an account exists) and mails it when u is set.
func (a *Auth) issueOTP(ctx context.Context, tx *store.Conn, u *gatehouse.User, purpose, client string) (string, error) {
	code := secret.Code(6)
	now := a.now()
	email := ""
	if u != nil {
		email = store.NormalizeEmail(u.Email)
	}
	o := &store.OTP{ID: newID(), Email: email, Purpose: purpose, CodeHash: a.cfg.Key.MAC("otp", email, purpose, code), ExpiresAt: now.Add(OTPTTL), CreatedAt: now, Client: client}
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

// checkResendLimits decides whether a client may have a code sent to an
// address: one a minute and five an hour per (address, purpose, client
// address), so that a request from elsewhere never makes the owner wait;
// and at most OTPPerAddressHour an hour to the address from all clients
// together, which stops a mail flood.
func (a *Auth) checkResendLimits(ctx context.Context, tx *store.Conn, email, purpose, client string) error {
	now := a.now()
	// A code sent exactly an hour ago no longer counts, so that a client
	// honouring Retry-After succeeds (times are stored to the microsecond).
	reqs, err := tx.OTPRequestsSince(ctx, store.NormalizeEmail(email), purpose, now.Add(-time.Hour+time.Microsecond))
	if err != nil {
		return err
	}
	var mine []time.Time
	for _, r := range reqs {
		if r.Client == client {
			mine = append(mine, r.At)
		}
	}
	if len(mine) > 0 && now.Sub(mine[0]) < time.Minute {
		return rateLimited("A code was sent less than a minute ago; wait before asking for another.", time.Minute-now.Sub(mine[0]))
	}
	if len(mine) >= OTPPerClientHour {
		return rateLimited("Five codes were sent in the last hour; wait before asking for another.", time.Hour-now.Sub(mine[len(mine)-1]))
	}
	if len(reqs) >= OTPPerAddressHour {
		return rateLimited("Too many codes were sent to this address in the last hour; wait before asking for another.", time.Hour-now.Sub(reqs[len(reqs)-1].At))
	}
	return nil
}

// ResendOTP mails a new code. Its answer says nothing about the address:
// the same whether or not the account exists (or, for verify_email, is
// already verified), and the same when the limits of checkResendLimits hold
// the code back — then nothing is sent, silently, since refusing would tell
// that a code went out lately, say at sign-up.
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
		if err := a.checkResendLimits(ctx, tx, email, purpose, actor.IP); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ERATELIMITED {
				return nil
			}
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
			// A code that cannot match, live like a real one: it counts
			// against the address's limits and wrong tries at it count the
			// same, so nothing answers differently for an unknown address.
			now := a.now()
			o := &store.OTP{ID: newID(), Email: store.NormalizeEmail(email), Purpose: purpose, CodeHash: a.cfg.Key.MAC("void", newID()), ExpiresAt: now.Add(OTPTTL), CreatedAt: now, Client: actor.IP}
			return tx.CreateOTP(ctx, o)
		}
		_, err = a.issueOTP(ctx, tx, u, purpose, actor.IP)
		return err
	})
}

var errBadCode = gatehouse.Invalid("The code is wrong or has expired; request a new one if needed.",
	gatehouse.FieldError{Field: "otp", Message: "is wrong or has expired"})

// useOTP checks a code inside tx. A wrong code counts as a try that sticks
// (the caller commits refusals); the fifth wrong try kills the code. Wrong
// codes also count per client address across all accounts: past
// WrongCodesPerClient in WrongCodesWindow that client is refused with 429
// before its code is even looked at (the count is in the database, shared
// by every process).
func (a *Auth) useOTP(ctx context.Context, tx *store.Conn, client, email, purpose, code string) (refusal, err error) {
	now := a.now()
	if err := tx.LockGuessClient(ctx, client, now); err != nil {
		return nil, err
	}
	n, oldest, err := tx.WrongCodesSince(ctx, client, now.Add(-WrongCodesWindow+time.Microsecond))
	if err != nil {
		return nil, err
	}
	if n >= WrongCodesPerClient {
		return rateLimited("Too many wrong codes from this address; wait before trying again.", WrongCodesWindow-now.Sub(oldest)), nil
	}
	wrong := func() error { return tx.RecordWrongCode(ctx, newID(), client, now, WrongCodesWindow) }
	o, err := tx.LatestOTP(ctx, store.NormalizeEmail(email), purpose)
	if err != nil {
		return nil, err
	}
	if o == nil || o.Used || !now.Before(o.ExpiresAt) {
		return errBadCode, wrong()
	}
	if !secret.Equal(o.CodeHash, a.cfg.Key.MAC("otp", o.Email, purpose, code)) {
		if err := wrong(); err != nil {
			return nil, err
		}
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
