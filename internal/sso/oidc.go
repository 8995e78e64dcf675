package sso

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC is an OpenID Connect provider found by discovery at its issuer.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Now is the clock ID tokens are checked against.
	Now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
}

// NewOIDC returns an OpenID Connect provider; discovery happens on first use
// (and is retried until it succeeds).
func NewOIDC(issuer, clientID, clientSecret string, now func() time.Time) *OIDC {
	return &OIDC{Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret, Now: now}
}

func (o *OIDC) UsesNonce() bool { return true }

func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, errUnavailable(fmt.Errorf("oidc discovery %s: %w", o.Issuer, err))
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) config(p *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

func (o *OIDC) AuthURL(ctx context.Context, state, nonce, verifier, redirectURI string) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return o.config(p, redirectURI).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

func (o *OIDC) Finish(ctx context.Context, code, nonce, verifier, redirectURI string) (*Identity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, client)
	tok, err := o.config(p, redirectURI).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, errExchange(err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, badIDToken(errors.New("no id_token in the token response"))
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: o.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, badIDToken(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return nil, badIDToken(errors.New("nonce mismatch"))
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, badIDToken(err)
	}
	said := len(claims.EmailVerified) > 0 && string(claims.EmailVerified) != "null"
	return &Identity{Subject: idt.Subject, Email: claims.Email, EmailVerified: isTrue(claims.EmailVerified), EmailVerifiedSaid: said, Name: claims.Name}, nil
}

// isTrue reads a boolean claim that some providers send as a string.
func isTrue(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == "true"
}
