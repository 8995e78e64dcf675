package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

// FlowTTL bounds a sign-in with an outside provider: the state cookie and
// the stored flow both die after it.
const FlowTTL = 10 * time.Minute

// AMRSocial is the amr value of a sign-in with Google or GitHub (not in
// RFC 8176, like "fed"): a first factor only.
const AMRSocial = "ext"

// Flow modes: how the callback answers.
const (
	ModeWeb = "web" // dashboard: session cookies, then a redirect
	ModeAPI = "api" // API client: the JSON body of POST /v1/auth/login
)

// Social signs people in with Google and GitHub, and keeps the identities
// linked to their accounts.
type Social struct {
	*base
	auth      *Auth
	providers map[string]sso.Provider
}

// SignIn is a finished sign-in with an outside provider.
type SignIn struct {
	Tokens     *gatehouse.Tokens
	User       *gatehouse.User
	RedirectTo string
	Mode       string
	Created    bool // the account was created by this sign-in
	// MFA, instead of Tokens, when the account has a second factor: the
	// sign-in finishes with it (VerifyMFA), as a password sign-in does.
	MFA *MFAChallenge
}

// Enabled reports whether a social provider is configured (one without a
// client id is off: its endpoints answer 404).
func (s *Social) Enabled(provider string) bool { return s.providers[provider] != nil }

// Providers lists the configured social providers, sorted.
func (s *Social) Providers() []string {
	var out []string
	for name := range s.providers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

var errNoProvider = gatehouse.Errorf(gatehouse.ENOTFOUND, "No such sign-in provider is configured.")

// SafeRedirect decides where a finished sign-in may send the browser: only a
// path on GATEHOUSE_BASE_URL (given as a path, or as an absolute URL of the
// same origin). Anything else is refused, so the endpoint is no open redirect.
func SafeRedirect(baseURL, raw string) (string, error) {
	if raw == "" {
		return "/", nil
	}
	bad := gatehouse.Invalid("redirect_to must be a path on this service.",
		gatehouse.FieldError{Field: "redirect_to", Message: "must be a path on " + baseURL})
	if len(raw) > 2048 || !storableText(raw) || strings.ContainsAny(raw, "\\\r\n\t") {
		return "", bad
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil {
		base, err := url.Parse(baseURL)
		if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) || u.User != nil {
			return "", bad
		}
		u.Scheme, u.Host = "", ""
	}
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || u.Opaque != "" {
		return "", bad
	}
	u.Fragment = ""
	return u.RequestURI(), nil
}

func stateHash(state string) string {
	h := sha256.Sum256([]byte("auth-flow:" + state))
	return hex.EncodeToString(h[:])
}

// CallbackURL is where a provider sends the browser back.
func (s *Social) CallbackURL(provider string) string {
	return s.cfg.BaseURL + "/v1/auth/oauth/" + provider + "/callback"
}

func validMode(mode string) (string, error) {
	switch mode {
	case "", ModeWeb:
		return ModeWeb, nil
	case ModeAPI:
		return ModeAPI, nil
	}
	return "", gatehouse.Invalid("mode must be web or api.", gatehouse.FieldError{Field: "mode", Message: "must be web or api"})
}

// Start begins a sign-in: it stores the flow (state hash, nonce, sealed PKCE
// verifier) and returns the provider URL and the state, which the caller
// binds to the browser with a short-lived cookie.
func (s *Social) Start(ctx context.Context, provider, redirectTo, mode string) (authURL, state string, err error) {
	p := s.providers[provider]
	if p == nil {
		return "", "", errNoProvider
	}
	if redirectTo, err = SafeRedirect(s.cfg.BaseURL, redirectTo); err != nil {
		return "", "", err
	}
	if mode, err = validMode(mode); err != nil {
		return "", "", err
	}
	state, verifier := secret.Token("", 32), secret.Token("", 48)
	nonce := ""
	if p.UsesNonce() {
		nonce = secret.Token("", 24)
	}
	now := s.now()
	f := &store.AuthFlow{StateHash: stateHash(state), Provider: provider, Nonce: nonce, Verifier: verifier,
		RedirectTo: redirectTo, Mode: mode, ExpiresAt: now.Add(FlowTTL), CreatedAt: now}
	if err := s.store.Tx(ctx, func(tx *store.Conn) error { return tx.CreateAuthFlow(ctx, f) }); err != nil {
		return "", "", err
	}
	authURL, err = p.AuthURL(ctx, state, nonce, verifier, s.CallbackURL(provider))
	return authURL, state, err
}

// Callback is what a provider's redirect back carries.
type Callback struct {
	State       string // ?state=
	CookieState string // the state cookie of this browser
	Code        string
	Error       string // ?error= (such as access_denied)
}

var errBadState = &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalid_state",
	Message: "This sign-in link is invalid, expired or was already used, or was started in another browser; start again."}

// FlowMode tells how a callback should answer (page or JSON) before the flow
// is used; unknown states answer "".
func (s *Social) FlowMode(ctx context.Context, state string) string {
	if state == "" || !storableText(state) {
		return ""
	}
	mode, _, err := s.store.R().PeekAuthFlow(ctx, stateHash(state))
	if err != nil {
		return ""
	}
	return mode
}

// useFlow checks the state against the browser's cookie and uses the flow
// once: a replayed, expired, foreign or cookie-less state is refused. The
// flow is used in its own transaction, so a failure later still burns it.
func (b *base) useFlow(ctx context.Context, cb Callback, provider string) (*store.AuthFlow, error) {
	if cb.State == "" || cb.CookieState == "" || !secret.Equal(cb.State, cb.CookieState) || !storableText(cb.State) {
		return nil, errBadState
	}
	var f *store.AuthFlow
	err := b.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		f, err = tx.UseAuthFlow(ctx, stateHash(cb.State), b.now())
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && f.Provider != provider) {
		return nil, errBadState
	}
	if err != nil {
		return nil, err
	}
	if cb.Error != "" {
		return f, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "access_denied",
			Message: "The identity provider did not sign you in (" + truncate(cb.Error, 64) + ")."}
	}
	if cb.Code == "" {
		return f, gatehouse.Invalid("The provider sent no code.", gatehouse.FieldError{Field: "code", Message: "is required"})
	}
	return f, nil
}

// Finish completes a sign-in: state, code exchange, identity verification,
// then the account (linked or created) and a new session.
func (s *Social) Finish(ctx context.Context, actor gatehouse.Actor, provider string, cb Callback) (*SignIn, error) {
	p := s.providers[provider]
	if p == nil {
		return nil, errNoProvider
	}
	f, err := s.useFlow(ctx, cb, provider)
	if err != nil {
		return nil, err
	}
	id, err := p.Finish(ctx, cb.Code, f.Nonce, f.Verifier, s.CallbackURL(provider))
	if err != nil {
		return nil, err
	}
	out := &SignIn{RedirectTo: f.RedirectTo, Mode: f.Mode}
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		out.User, out.Created, err = s.auth.userForIdentity(ctx, tx, actor, provider, id, nil)
		if err != nil {
			return err
		}
		// An enforced connection of the user's organization replaces
		// Google and GitHub too.
		if err := s.auth.enforcedSSOIn(ctx, tx, out.User); err != nil {
			return err
		}
		// Google and GitHub answer for the first factor only: an account
		// with a second factor is asked for it.
		if out.MFA, err = s.auth.mfaChallengeIn(ctx, tx, actor, out.User, AMRSocial); err != nil || out.MFA != nil {
			return err
		}
		out.Tokens, err = s.auth.openSessionAMR(ctx, tx, actor, out.User, []string{AMRSocial})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
