// Package sso speaks to outside identity providers: Google (OpenID Connect),
// GitHub (OAuth 2.0), and organizations' own OpenID Connect and SAML 2.0
// identity providers. It turns a provider's answer into a verified Identity;
// what an identity may sign in to is decided in internal/service.
//
// Tokens are verified with github.com/coreos/go-oidc/v3 (issuer, audience,
// expiry, signature from the provider's JWKS) and exchanged with
// golang.org/x/oauth2 (PKCE S256); SAML uses github.com/crewjam/saml.
package sso

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Identity is what a provider asserted about the person who signed in.
type Identity struct {
	Subject       string // the provider's stable id
	Email         string
	EmailVerified bool
	// EmailVerifiedSaid is whether the provider said anything about
	// verification (organization IdPs often leave the claim out).
	EmailVerifiedSaid bool
	Name              string
}

// Provider is a social sign-in provider (Google, GitHub).
type Provider interface {
	// AuthURL is where the browser goes to sign in. nonce is "" for plain
	// OAuth 2.0 providers.
	AuthURL(ctx context.Context, state, nonce, verifier, redirectURI string) (string, error)
	// Finish exchanges the code (with the PKCE verifier) and returns the
	// verified identity; for OpenID Connect it checks the ID token's nonce.
	Finish(ctx context.Context, code, nonce, verifier, redirectURI string) (*Identity, error)
	// UsesNonce reports whether the provider is OpenID Connect.
	UsesNonce() bool
}

// errExchange is a code the provider refused (used, expired, wrong PKCE
// verifier). Messages are safe to show; the cause is only logged.
func errExchange(cause error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "code_exchange_failed",
		Message: "The identity provider did not accept the sign-in code; start again.", Cause: cause}
}

// errUnavailable is a provider that could not be reached or answered nonsense.
func errUnavailable(cause error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Reason: "provider_unavailable",
		Message: "The identity provider could not be reached; try again later.", Cause: cause}
}

func badIDToken(cause error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_id_token",
		Message: "The identity provider's ID token is invalid (signature, issuer, audience, expiry or nonce); start again.", Cause: cause}
}

// client is the HTTP client for provider calls: bounded in time.
var client = &http.Client{Timeout: 10 * time.Second}
