package service

// Passkeys (WebAuthn credentials): registering, listing, renaming and
// removing one's own. Signing in with them is in passkey_login.go.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxPasskeys bounds one user's passkeys.
const MaxPasskeys = 20

// Passkey is a user's passkey as shown to them.
type Passkey struct {
	ID         string
	Name       string
	Synced     bool // backup-eligible: the credential may be synced across devices
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

var (
	errPasskeyNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Passkey not found.")
	errBadCeremony     = &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalid_challenge",
		Message: "This passkey ceremony is unknown, expired or was already finished; ask for new options and try again.",
		Fields:  []gatehouse.FieldError{{Field: "credential", Message: "answers no live challenge"}}}
)

func badCredential(detail string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalid_credential", Message: "The passkey response was refused: " + detail + ".",
		Fields: []gatehouse.FieldError{{Field: "credential", Message: detail}}}
}

func passkeyOut(k *store.Passkey) *Passkey {
	out := &Passkey{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
	var cred webauthn.Credential
	if json.Unmarshal([]byte(k.Credential), &cred) == nil {
		out.Synced = cred.Flags.BackupEligible
	}
	return out
}

// PasskeyCreationOptions begins registering a passkey: the creation options
// for navigator.credentials.create, in the W3C JSON form ({"publicKey": …}).
// The caller's existing passkeys are excluded.
func (a *Auth) PasskeyCreationOptions(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) (*protocol.CredentialCreation, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	wa, err := a.relyingParty()
	if err != nil {
		return nil, err
	}
	user, err := loadWAUser(ctx, a.store.R(), p.UserID)
	if err != nil {
		return nil, err
	}
	if len(user.keys) >= MaxPasskeys {
		return nil, &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "too_many_passkeys", Message: "You have 20 passkeys; remove one first."}
	}
	creation, sd, err := wa.BeginRegistration(user, webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()))
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	err = a.store.Tx(ctx, func(tx *store.Conn) error { return a.saveChallenge(ctx, tx, purposeRegister, p.UserID, sd) })
	if err != nil {
		return nil, err
	}
	return creation, nil
}

// AddPasskey finishes a registration: it verifies the authenticator's
// response (RegistrationResponseJSON) against a live challenge of the
// caller's, and stores the credential. The challenge is spent even when
// the response is refused.
func (a *Auth) AddPasskey(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, name string, credential json.RawMessage) (*Passkey, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	name, nerr := validateName("name", name, false)
	if name == "" && nerr == nil {
		name = "Passkey"
	}
	var cerr *gatehouse.FieldError
	if len(credential) == 0 || string(credential) == "null" {
		cerr = &gatehouse.FieldError{Field: "credential", Message: "is required"}
	}
	if err := fields(nerr, cerr); err != nil {
		return nil, err
	}
	wa, err := a.relyingParty()
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, badCredential("is not a WebAuthn registration response (" + webauthnDetail(err) + ")")
	}
	var out *Passkey
	err = a.committed(ctx, func(tx *store.Conn) (error, error) {
		sd, userID, err := a.takeChallenge(ctx, tx, purposeRegister, parsed.Response.CollectedClientData.Challenge)
		if err != nil || sd == nil || userID != p.UserID {
			return errBadCeremony, err
		}
		user, err := loadWAUser(ctx, tx, p.UserID)
		if err != nil {
			return nil, err
		}
		if len(user.keys) >= MaxPasskeys {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "too_many_passkeys", Message: "You have 20 passkeys; remove one first."}, nil
		}
		cred, err := wa.CreateCredential(user, *sd, parsed)
		if err != nil {
			return badCredential(webauthnDetail(err)), nil
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return nil, gatehouse.Internal(err)
		}
		now := a.now()
		k := &store.Passkey{ID: newID(), UserID: p.UserID, CredentialID: credentialID(cred.ID), Name: name,
			Credential: string(raw), SignCount: cred.Authenticator.SignCount, CreatedAt: now}
		if existing, err := tx.PasskeyByCredentialID(ctx, k.CredentialID); err != nil || existing != nil {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "passkey_exists", Message: "This passkey is already registered."}, err
		}
		if err := tx.CreatePasskey(ctx, k); err != nil {
			return nil, err
		}
		out = passkeyOut(k)
		return nil, a.audit(ctx, tx, actor, "", "passkey.added", "passkey", k.ID,
			map[string]any{"name": name, "synced": out.Synced, "amr": passkeyAMR(cred)})
	})
	return out, err
}

// Passkeys lists the caller's passkeys, oldest first.
func (a *Auth) Passkeys(ctx context.Context, p *gatehouse.Principal) ([]*Passkey, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	keys, err := a.store.R().UserPasskeys(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]*Passkey, 0, len(keys))
	for _, k := range keys {
		out = append(out, passkeyOut(k))
	}
	return out, nil
}

// RenamePasskey renames one of the caller's passkeys; anyone else's is 404.
func (a *Auth) RenamePasskey(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id, name string) (*Passkey, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	name, nerr := validateName("name", name, true)
	if err := fields(nerr); err != nil {
		return nil, err
	}
	if !storableText(id) {
		return nil, errPasskeyNotFound
	}
	var out *Passkey
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		ok, err := tx.RenamePasskey(ctx, p.UserID, id, name)
		if err != nil {
			return err
		}
		if !ok {
			return errPasskeyNotFound
		}
		keys, err := tx.UserPasskeys(ctx, p.UserID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == id {
				out = passkeyOut(k)
			}
		}
		return a.audit(ctx, tx, actor, "", "passkey.renamed", "passkey", id, map[string]any{"name": name})
	})
	return out, err
}

// DeletePasskey removes one of the caller's passkeys; anyone else's is 404.
func (a *Auth) DeletePasskey(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, id string) error {
	if p.Kind != gatehouse.PrincipalUser {
		return errUserOnly
	}
	if !storableText(id) {
		return errPasskeyNotFound
	}
	return a.store.Tx(ctx, func(tx *store.Conn) error {
		ok, err := tx.DeletePasskey(ctx, p.UserID, id)
		if err != nil {
			return err
		}
		if !ok {
			return errPasskeyNotFound
		}
		return a.audit(ctx, tx, actor, "", "passkey.removed", "passkey", id, nil)
	})
}
