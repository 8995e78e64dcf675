package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/service"
)

func TestLoadConfigWebAuthn(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name, wantVar string
		env           map[string]string
	}{
		{"RPIDIsURL", "GATEHOUSE_WEBAUTHN_RP_ID", map[string]string{"GATEHOUSE_WEBAUTHN_RP_ID": "https://example.com"}},
		{"RPIDIsIP", "GATEHOUSE_WEBAUTHN_RP_ID", map[string]string{"GATEHOUSE_WEBAUTHN_RP_ID": "10.0.0.1"}},
		{"OriginWithPath", "GATEHOUSE_WEBAUTHN_ORIGINS", map[string]string{"GATEHOUSE_WEBAUTHN_ORIGINS": "https://example.com/app"}},
		{"OriginNotHTTP", "GATEHOUSE_WEBAUTHN_ORIGINS", map[string]string{"GATEHOUSE_WEBAUTHN_ORIGINS": "ftp://example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(nil, env(tc.env), &bytes.Buffer{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantVar+":") {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantVar)
			}
		})
	}
	c, err := LoadConfig([]string{"-webauthn-rp-id", "Example.com", "-webauthn-origins", "https://example.com, https://app.example.com/"}, env(nil), &bytes.Buffer{})
	if err != nil || c.WebAuthnRPID != "example.com" || c.WebAuthnOrigins != "https://example.com,https://app.example.com" {
		t.Fatalf("%+v %v", c, err)
	}
	// The relying party: derived from the base URL, or overridden; an
	// origin off the RP id is refused.
	if id, o, err := service.RelyingParty("https://gatehouse.example.com:8443", "", nil); err != nil || id != "gatehouse.example.com" || o[0] != "https://gatehouse.example.com:8443" {
		t.Fatalf("derived: %s %v %v", id, o, err)
	}
	if _, _, err := service.RelyingParty("https://a.example.com", "example.com", []string{"https://b.example.com", "https://example.com"}); err != nil {
		t.Fatalf("subdomains: %v", err)
	}
	if _, _, err := service.RelyingParty("https://a.example.com", "example.com", []string{"https://example.org"}); err == nil {
		t.Fatal("an origin outside the RP id was accepted")
	}
	if _, _, err := service.RelyingParty("http://127.0.0.1:8080", "", nil); err == nil {
		t.Fatal("an IP address was accepted as RP id")
	}
}
