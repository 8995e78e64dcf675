package app

import (
	"bytes"
	"strings"
	"testing"
)

// providerDefaults adds the social sign-in defaults to an expected Config.
func providerDefaults(c Config) Config {
	c.GoogleIssuer, c.GitHubURL, c.GitHubAPIURL = "https://accounts.google.com", "https://github.com", "https://api.github.com"
	return c
}

func TestLoadConfigSocial(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name, wantVar string
		env           map[string]string
	}{
		{"GoogleIDWithoutSecret", "GATEHOUSE_GOOGLE_CLIENT_SECRET", map[string]string{"GATEHOUSE_GOOGLE_CLIENT_ID": "id"}},
		{"GitHubIDWithoutSecret", "GATEHOUSE_GITHUB_CLIENT_SECRET", map[string]string{"GATEHOUSE_GITHUB_CLIENT_ID": "id"}},
		{"IssuerNotURL", "GATEHOUSE_GOOGLE_ISSUER", map[string]string{"GATEHOUSE_GOOGLE_ISSUER": "accounts.google.com"}},
		{"GitHubAPINotURL", "GATEHOUSE_GITHUB_API_URL", map[string]string{"GATEHOUSE_GITHUB_API_URL": "ftp://x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(nil, env(tc.env), &bytes.Buffer{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantVar+":") {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantVar)
			}
		})
	}
	c, err := LoadConfig([]string{"-google-client-id", "gid", "-google-client-secret", "gsec", "-github-url", "https://ghe.example.com/"}, env(nil), &bytes.Buffer{})
	if err != nil || c.GoogleClientID != "gid" || c.GoogleClientSecret != "gsec" || c.GitHubURL != "https://ghe.example.com" {
		t.Fatalf("%+v %v", c, err)
	}
}
