package sso

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// GitHub signs in with GitHub's OAuth 2.0 apps: the identity comes from the
// API's /user and /user/emails (the primary, verified address).
type GitHub struct {
	ClientID     string
	ClientSecret string
	URL          string // https://github.com: /login/oauth/authorize, /login/oauth/access_token
	APIURL       string // https://api.github.com
}

func (g *GitHub) UsesNonce() bool { return false }

func (g *GitHub) config(redirectURI string) *oauth2.Config {
	base := strings.TrimRight(g.URL, "/")
	return &oauth2.Config{ClientID: g.ClientID, ClientSecret: g.ClientSecret, RedirectURL: redirectURI,
		Scopes: []string{"read:user", "user:email"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

func (g *GitHub) AuthURL(_ context.Context, state, _, verifier, redirectURI string) (string, error) {
	return g.config(redirectURI).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

func (g *GitHub) Finish(ctx context.Context, code, _, verifier, redirectURI string) (*Identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	cfg := g.config(redirectURI)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, errExchange(err)
	}
	hc := cfg.Client(ctx, tok)
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := g.get(ctx, hc, "/user", &user); err != nil {
		return nil, err
	}
	if user.ID == 0 {
		return nil, errUnavailable(fmt.Errorf("github /user: no id"))
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, hc, "/user/emails", &emails); err != nil {
		return nil, err
	}
	id := &Identity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if id.Name == "" {
		id.Name = user.Login
	}
	// Only the primary address counts, and only when GitHub verified it.
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified, id.EmailVerifiedSaid = e.Email, e.Verified, true
		}
	}
	return id, nil
}

func (g *GitHub) get(ctx context.Context, hc *http.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(g.APIURL, "/")+path, nil)
	if err != nil {
		return errUnavailable(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := hc.Do(req)
	if err != nil {
		return errUnavailable(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return errUnavailable(err)
	}
	if resp.StatusCode != http.StatusOK {
		return errUnavailable(fmt.Errorf("github %s: status %d", path, resp.StatusCode))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errUnavailable(fmt.Errorf("github %s: %w", path, err))
	}
	return nil
}
