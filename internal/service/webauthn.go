package service

// The WebAuthn relying party (go-webauthn) and its ceremonies' challenges,
// kept in the database (as hashes) so that any process can finish what
// another began.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// PasskeyChallengeTTL bounds a WebAuthn ceremony: its challenge dies after it.
const PasskeyChallengeTTL = 5 * time.Minute

// Ceremony purposes.
const (
	purposeRegister = "register"
	purposeLogin    = "login"
	purposeMFA      = "mfa"
)

// RelyingParty derives the WebAuthn relying party from the base URL: its
// host is the RP id and its origin the one origin allowed, unless rpID or
// origins say otherwise.
func RelyingParty(baseURL, rpID string, origins []string) (id string, allowed []string, err error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("base URL %q has no host", baseURL)
	}
	id = rpID
	if id == "" {
		id = u.Hostname()
	}
	allowed = origins
	if len(allowed) == 0 {
		allowed = []string{u.Scheme + "://" + u.Host}
	}
	if err := protocol.ValidateRPID(id); err != nil {
		return "", nil, fmt.Errorf("WebAuthn relying party id %q is not a domain: %v", id, err)
	}
	for _, o := range allowed {
		ou, err := url.Parse(o)
		if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || ou.Host == "" || (ou.Path != "" && ou.Path != "/") {
			return "", nil, fmt.Errorf("WebAuthn origin %q must be scheme://host[:port]", o)
		}
		if h := ou.Hostname(); h != id && !strings.HasSuffix(h, "."+id) {
			return "", nil, fmt.Errorf("WebAuthn origin %q is not on the relying party id %q", o, id)
		}
	}
	return id, allowed, nil
}

func newWebAuthn(cfg Config) (*webauthn.WebAuthn, error) {
	id, origins, err := RelyingParty(cfg.BaseURL, cfg.WebAuthnRPID, cfg.WebAuthnOrigins)
	if err != nil {
		return nil, err
	}
	return webauthn.New(&webauthn.Config{
		RPID: id, RPDisplayName: TOTPIssuer, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: PasskeyChallengeTTL, TimeoutUVD: PasskeyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: PasskeyChallengeTTL, TimeoutUVD: PasskeyChallengeTTL},
		},
	})
}

var errNoWebAuthn = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Reason: "passkeys_unavailable",
	Message: "Passkeys are not available: the WebAuthn relying party is misconfigured (GATEHOUSE_WEBAUTHN_RP_ID, GATEHOUSE_WEBAUTHN_ORIGINS)."}

func (a *Auth) relyingParty() (*webauthn.WebAuthn, error) {
	if a.webauthn == nil {
		return nil, errNoWebAuthn
	}
	return a.webauthn, nil
}

// waUser is a user as go-webauthn sees one: the user handle is the user id.
type waUser struct {
	u     *gatehouse.User
	keys  []*store.Passkey
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Email }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// loadWAUser reads a user and their passkeys.
func loadWAUser(ctx context.Context, c *store.Conn, userID string) (*waUser, error) {
	u, err := c.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	keys, err := c.UserPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	w := &waUser{u: u, keys: keys}
	for _, k := range keys {
		var cred webauthn.Credential
		if err := json.Unmarshal([]byte(k.Credential), &cred); err != nil {
			return nil, gatehouse.Internal(fmt.Errorf("passkey %s: %w", k.ID, err))
		}
		cred.Authenticator.SignCount = k.SignCount
		w.creds = append(w.creds, cred)
	}
	return w, nil
}

// credentialID is how a credential id is stored: base64url, no padding.
func credentialID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// saveChallenge stores a ceremony's session data under the hash of its
// challenge; the challenge itself is not stored.
func (a *Auth) saveChallenge(ctx context.Context, tx *store.Conn, purpose, userID string, sd *webauthn.SessionData) error {
	challenge := sd.Challenge
	rest := *sd
	rest.Challenge, rest.Expires = "", time.Time{}
	raw, err := json.Marshal(rest)
	if err != nil {
		return gatehouse.Internal(err)
	}
	now := a.now()
	return tx.CreateWebAuthnChallenge(ctx, &store.WebAuthnChallenge{Hash: challengeHash(challenge), Purpose: purpose,
		UserID: userID, Session: string(raw), Expires: now.Add(PasskeyChallengeTTL)}, now)
}

func challengeHash(challenge string) string { return secret.HashToken("webauthn:" + challenge) }

// takeChallenge spends the live challenge of purpose that the client's
// data names, and answers the session data to verify against (with the
// challenge put back) and the user it was made for ("" when discoverable);
// nil when it is unknown, used, expired or of another purpose.
func (a *Auth) takeChallenge(ctx context.Context, tx *store.Conn, purpose, challenge string) (*webauthn.SessionData, string, error) {
	if challenge == "" || len(challenge) > 1024 || !storableText(challenge) {
		return nil, "", nil
	}
	ch, err := tx.UseWebAuthnChallenge(ctx, challengeHash(challenge), purpose, a.now())
	if err != nil || ch == nil {
		return nil, "", err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(ch.Session), &sd); err != nil {
		return nil, "", gatehouse.Internal(err)
	}
	sd.Challenge = challenge
	return &sd, ch.UserID, nil
}

// webauthnDetail is the reason go-webauthn gave for refusing a response,
// for the client (it names no secret).
func webauthnDetail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return truncate(pe.Details, 200)
	}
	return "it did not verify"
}

// passkeyAMR is the amr value a passkey proves (RFC 8176): "swk" for a
// synced (backup-eligible) credential, "hwk" for one bound to its device.
func passkeyAMR(cred *webauthn.Credential) string {
	if cred.Flags.BackupEligible {
		return "swk"
	}
	return "hwk"
}
