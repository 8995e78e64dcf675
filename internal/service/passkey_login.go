package service

// Signing in with a passkey: alone (passwordless, amr hwk or swk), or as
// the second factor of a password sign-in.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

var (
	errPasskeyCeremony = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_challenge",
		Message: "This passkey sign-in is unknown, expired or was already finished; ask for new options and try again."}
	errPasskeyCloned = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "passkey_counter_regressed",
		Message: "The passkey's signature counter went backwards, a sign of a cloned authenticator: it was refused. Sign in another way and check your passkeys."}
)

func passkeyRejected(detail string) error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_passkey", Message: "The passkey was refused: " + detail + "."}
}

// parseAssertion reads an AuthenticationResponseJSON.
func parseAssertion(credential json.RawMessage) (*protocol.ParsedCredentialAssertionData, error) {
	if len(credential) == 0 || string(credential) == "null" {
		return nil, fields(&gatehouse.FieldError{Field: "credential", Message: "is required"})
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, badCredential("is not a WebAuthn authentication response (" + webauthnDetail(err) + ")")
	}
	return parsed, nil
}

// PasskeyRequestOptions begins a passkey sign-in: the request options for
// navigator.credentials.get ({"publicKey": …}). With an email of an
// account with passkeys they list its credentials; otherwise (no email, an
// unknown one, or one without passkeys) they ask for a discoverable
// credential, so the answer says little about the address. Each call
// stores a challenge, so calls are throttled per client address (30, then
// one per 2 s), and look-ups by email more (as account look-ups are).
func (a *Auth) PasskeyRequestOptions(ctx context.Context, actor gatehouse.Actor, email string) (*protocol.CredentialAssertion, error) {
	wa, err := a.relyingParty()
	if err != nil {
		return nil, err
	}
	if err := a.passkeyByIP.Take(ctx, actor.IP, "Too many passkey sign-ins from this address; try again later."); err != nil {
		return nil, err
	}
	var user *waUser
	if email != "" {
		email, eerr := ValidateEmail("email", email)
		if err := fields(eerr); err != nil {
			return nil, err
		}
		if err := a.existsByIP.Take(ctx, actor.IP, "Too many account look-ups from this address; try again later."); err != nil {
			return nil, err
		}
		u, err := a.store.R().UserByEmail(ctx, email)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return nil, err
		}
		if u != nil {
			if user, err = loadWAUser(ctx, a.store.R(), u.ID); err != nil {
				return nil, err
			}
		}
	}
	var assertion *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	userID := ""
	if user != nil && len(user.creds) > 0 {
		assertion, sd, err = wa.BeginLogin(user)
		userID = user.u.ID
	} else {
		assertion, sd, err = wa.BeginDiscoverableLogin()
	}
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	err = a.store.Tx(ctx, func(tx *store.Conn) error { return a.saveChallenge(ctx, tx, purposeLogin, userID, sd) })
	if err != nil {
		return nil, err
	}
	return assertion, nil
}

// PasskeyLogin signs in with a passkey alone; it answers what a password
// sign-in answers, with amr hwk or swk.
func (a *Auth) PasskeyLogin(ctx context.Context, actor gatehouse.Actor, credential json.RawMessage) (*gatehouse.Tokens, *gatehouse.User, error) {
	wa, err := a.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	parsed, err := parseAssertion(credential)
	if err != nil {
		return nil, nil, err
	}
	var tokens *gatehouse.Tokens
	var u *gatehouse.User
	err = a.committed(ctx, func(tx *store.Conn) (error, error) {
		sd, boundUser, err := a.takeChallenge(ctx, tx, purposeLogin, parsed.Response.CollectedClientData.Challenge)
		if err != nil || sd == nil {
			return errPasskeyCeremony, err
		}
		user, amr, refusal, err := a.verifyAssertion(ctx, tx, actor, wa, sd, boundUser, parsed)
		if refusal != nil || err != nil {
			return refusal, err
		}
		u = user.u
		if !u.EmailVerified {
			return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "email_not_verified", Message: "Verify your email address first."}, nil
		}
		if err := a.enforcedSSOIn(ctx, tx, u); err != nil {
			return err, nil
		}
		tokens, err = a.openSessionAMR(ctx, tx, actor, u, []string{amr})
		return nil, err
	})
	if err != nil {
		return nil, nil, err
	}
	return tokens, u, nil
}

// VerifyMFAPasskey finishes a password sign-in with a passkey as its
// second factor (the options came with the mfa_required answer).
func (a *Auth) VerifyMFAPasskey(ctx context.Context, actor gatehouse.Actor, mfaToken string, credential json.RawMessage) (*gatehouse.Tokens, *gatehouse.User, error) {
	if mfaToken == "" {
		return nil, nil, fields(&gatehouse.FieldError{Field: "mfa_token", Message: "is required"})
	}
	wa, err := a.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	parsed, err := parseAssertion(credential)
	if err != nil {
		return nil, nil, err
	}
	return a.finishMFA(ctx, actor, mfaToken, func(tx *store.Conn, userID string) (string, error, error) {
		sd, boundUser, err := a.takeChallenge(ctx, tx, purposeMFA, parsed.Response.CollectedClientData.Challenge)
		if err != nil || sd == nil || boundUser != userID {
			return "", errPasskeyCeremony, err
		}
		_, amr, refusal, err := a.verifyAssertion(ctx, tx, actor, wa, sd, userID, parsed)
		return amr, refusal, err
	})
}

// mfaPasskeyOptions makes the request options of a sign-in's second step
// for a user with passkeys (nil without).
func (a *Auth) mfaPasskeyOptions(ctx context.Context, tx *store.Conn, userID string) (*protocol.CredentialAssertion, error) {
	wa, err := a.relyingParty()
	if err != nil {
		return nil, nil // passkeys are off: the other factors remain
	}
	user, err := loadWAUser(ctx, tx, userID)
	if err != nil || len(user.creds) == 0 {
		return nil, err
	}
	assertion, sd, err := wa.BeginLogin(user)
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	return assertion, a.saveChallenge(ctx, tx, purposeMFA, userID, sd)
}

// verifyAssertion checks an assertion against a spent challenge: the
// passkey must exist (and be boundUser's when the challenge named one),
// the signature, origin, RP id and challenge must verify (go-webauthn),
// and the signature counter must move forward — a counter that goes back
// is refused and audited. It answers the passkey's owner and amr value.
func (a *Auth) verifyAssertion(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, wa *webauthn.WebAuthn, sd *webauthn.SessionData,
	boundUser string, parsed *protocol.ParsedCredentialAssertionData) (*waUser, string, error, error) {
	pk, err := tx.PasskeyByCredentialID(ctx, credentialID(parsed.RawID))
	if err != nil {
		return nil, "", nil, err
	}
	if pk == nil || (boundUser != "" && pk.UserID != boundUser) {
		return nil, "", passkeyRejected("it is not a registered passkey of this account"), nil
	}
	user, err := loadWAUser(ctx, tx, pk.UserID)
	if err != nil {
		return nil, "", nil, err
	}
	var cred *webauthn.Credential
	if len(sd.UserID) > 0 {
		cred, err = wa.ValidateLogin(user, *sd, parsed)
	} else {
		_, cred, err = wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, user.WebAuthnID()) {
				return nil, fmt.Errorf("the user handle is not the passkey's owner")
			}
			return user, nil
		}, *sd, parsed)
	}
	if err != nil {
		return nil, "", passkeyRejected(webauthnDetail(err)), nil
	}
	actor.Kind, actor.ID, actor.Name = gatehouse.PrincipalUser, user.u.ID, user.u.Name
	regressed := func() (*waUser, string, error, error) {
		return nil, "", errPasskeyCloned, a.audit(ctx, tx, actor, "", "passkey.counter_regressed", "passkey", pk.ID,
			map[string]any{"name": pk.Name, "stored_count": pk.SignCount, "presented_count": parsed.Response.AuthenticatorData.Counter})
	}
	if cred.Authenticator.CloneWarning {
		return regressed()
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, "", nil, gatehouse.Internal(err)
	}
	ok, err := tx.UsePasskey(ctx, pk.ID, cred.Authenticator.SignCount, string(raw), a.now())
	if err != nil {
		return nil, "", nil, err
	}
	if !ok { // a concurrent sign-in moved the counter past this one
		return regressed()
	}
	return user, passkeyAMR(cred), nil, nil
}

// mfaTokenValid reports whether s looks like an mfa_token at all.
func mfaTokenValid(s string) bool {
	return len(s) > len(MFATokenPrefix) && s[:len(MFATokenPrefix)] == MFATokenPrefix && storableText(s)
}
