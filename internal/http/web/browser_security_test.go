package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/apptest"
)

// TestBrowserSecondFactors drives /profile/security in Chromium: the
// authenticator app turned on with a code computed from the page's secret
// (RFC 6238, pquerna/otp), the recovery codes shown once; a passkey
// registered with Chromium's virtual authenticator (the DevTools WebAuthn
// domain: CTAP2, internal transport, resident keys, user verification),
// renamed, used to sign in without a password and as the second factor of
// a password sign-in, then removed.
func TestBrowserSecondFactors(t *testing.T) {
	exe := chromium(t)
	// WebAuthn needs a domain (no IP address) in a secure context:
	// http://localhost is one.
	s := apptest.New(t, sqliteEngine(t), apptest.Options{RealBaseURL: true, Configure: func(c *app.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
	}})
	base := s.Config.BaseURL
	s.SignUpTokens("Ada Lovelace", "ada@example.com", pw)
	dir := screenshotDir(t)
	ada := newBrowser(t, exe, base, dir, "ada")
	ctx := ada.ctx
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	signInWithPassword := func() {
		ada.open("/login")
		ada.fill("#f-email", "ada@example.com")
		ada.fill("#f-password", pw)
		ada.submit(`form[action="/login"] button[type=submit]`)
	}
	signOut := func() {
		ada.open("/sessions")
		ada.submit(`form[action="/logout"] button[type=submit]`)
		ada.at("/login")
	}
	signInWithPassword()
	ada.at("/orgs/new")

	// The authenticator app: scan (here: read the key), type the code.
	ada.open("/profile/security")
	ada.see("Authenticator app", "Passkeys", "Set up an authenticator app")
	ada.submit("#totp-start")
	secret := strings.TrimSpace(ada.eval(`document.querySelector("#totp-secret").innerText`))
	if !strings.HasPrefix(ada.attr("img.qr", "src"), "data:image/png;base64,") || len(secret) != 32 {
		t.Fatalf("enrollment shows secret %q and QR %.40s", secret, ada.attr("img.qr", "src"))
	}
	ada.shot("60-security-totp-qr", true)
	ada.fill("#f-totp-code", "000000")
	if st := ada.submit(`#totp-confirm button[type=submit]`); st != 401 {
		t.Fatalf("a wrong code: status %d, want 401", st)
	}
	ada.see("wrong") // and the QR code is still there to retry
	code, err := totp.GenerateCode(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ada.fill("#f-totp-code", code)
	ada.submit(`#totp-confirm button[type=submit]`)
	ada.see("Save your recovery codes now", "Download .txt")
	codes := strings.Fields(ada.eval(`document.querySelector("#codes").value`))
	if len(codes) != 10 || !strings.HasPrefix(ada.attr(`a[download]`, "href"), "data:text/plain") ||
		!strings.Contains(ada.attr(`a[download]`, "href"), codes[0]) || ada.attr(`a[download]`, "download") != "gatehouse-recovery-codes.txt" {
		t.Fatalf("recovery codes %v, download %.80s", codes, ada.attr(`a[download]`, "href"))
	}
	ada.shot("61-security-recovery-codes", false)
	// Shown once: the page again shows only how many are left.
	ada.open("/profile/security")
	ada.see("10 recovery codes left")
	ada.notSee(codes[0])
	ada.submit("#regenerate-codes")
	if fresh := strings.Fields(ada.eval(`document.querySelector("#codes").value`)); len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("regenerated codes %v", fresh)
	}

	// A passkey, through navigator.credentials.create.
	ada.open("/profile/security")
	ada.fill("#f-passkey-name", "Laptop")
	ada.submit("[data-passkey-register]")
	ada.at("/profile/security")
	ada.see("Passkey “Laptop” added")
	if n := ada.eval(`String(document.querySelectorAll("tr[data-passkey]").length)`); n != "1" {
		t.Fatalf("%s passkeys listed", n)
	}
	id := ada.attr("tr[data-passkey]", "data-passkey")
	ada.click(`tr[data-passkey] details.confirm summary`)
	ada.fill("#f-rename-"+id, "Work laptop")
	ada.submit(`form[action="/profile/security/passkeys/` + id + `/rename"] button`)
	ada.see("Passkey renamed to “Work laptop”.")
	ada.shot("62-security-passkeys", true)

	// Sign in with the passkey alone.
	signOut()
	ada.see("Sign in with a passkey")
	ada.shot("63-sign-in-passkey", false)
	ada.submit("[data-passkey-login]")
	ada.at("/orgs/new")
	ada.open("/sessions")
	ada.see("Signed in with passkey")

	// A password sign-in now asks for the second factor: the app's code, or
	// the passkey.
	signOut()
	signInWithPassword()
	ada.see("Two-factor sign-in", "Use a passkey", "Enter the 6-digit code")
	ada.shot("64-second-factor-passkey", true)
	ada.submit("[data-passkey-mfa]")
	ada.at("/orgs/new")
	ada.open("/sessions")
	ada.see("Signed in with password and passkey")

	// Remove the passkey: the list is empty again.
	ada.open("/profile/security")
	ada.click(`tr[data-passkey] details.confirm:nth-of-type(2) summary`)
	ada.submit(`form[action="/profile/security/passkeys/` + id + `/delete"] button`)
	ada.see("Passkey removed.")
	if n := ada.eval(`String(document.querySelectorAll("tr[data-passkey]").length)`); n != "0" {
		t.Fatalf("%s passkeys listed after removal", n)
	}
	if n := len(s.AuditEvents("", "passkey.added")) + len(s.AuditEvents("", "passkey.renamed")) + len(s.AuditEvents("", "passkey.removed")); n != 3 {
		t.Fatalf("%d passkey audit events, want 3", n)
	}
}
