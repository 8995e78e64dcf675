package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// upload chooses a file in a file input.
func (b *browser) upload(sel, file string) {
	b.t.Helper()
	b.step("choose "+filepath.Base(file), chromedp.SetUploadFiles(chromedp.CSS(sel), []string{file}))
}

// linkGoogle links a Google identity to a user, as a sign-in with Google would.
func linkGoogle(t *testing.T, s *apptest.Server, userID, email string) {
	t.Helper()
	ctx := context.Background()
	now := s.Clock.Now().UTC().Truncate(time.Microsecond)
	err := s.Store.Tx(ctx, func(tx *store.Conn) error {
		return tx.CreateIdentity(ctx, &gatehouse.Identity{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Provider: "google",
			Subject: "google-" + userID, Email: email, CreatedAt: now, LastUsedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrowserProfile: the profile page. A name that is empty is refused
// beside the field; a picture that is not an image, or too large, is
// refused beside the file input; a photo is cropped to a 256 px square and
// can be removed; a wrong current password and a short new one are refused,
// the right change signs out the other sessions. An account with only
// Google sets a password, cannot unlink its only sign-in method, and can
// once it has a password.
func TestBrowserProfile(t *testing.T) {
	exe := chromium(t)
	s := apptest.New(t, sqliteEngine(t))
	dir := screenshotDir(t)
	files := t.TempDir()
	ada := s.SignUpTokens("Ada Lovelace", "ada@acme.test", "")
	s.CreateOrg(ada.Access, "Acme Video")

	b := newBrowser(t, exe, s.URL, dir, "ada")
	b.signInForm("ada@acme.test", apptest.TestPassword)
	elsewhere := newBrowser(t, exe, s.URL, dir, "ada elsewhere")
	elsewhere.signInForm("ada@acme.test", apptest.TestPassword)

	b.submit(`.nav a[href="/profile"]`)
	b.at("/profile")
	b.see("Profile", "ada@acme.test", "Verified", "Change password", "No linked accounts", "Your sessions")

	// The name: empty is refused beside the field.
	b.fill("#f-name", " ")
	if st := b.submit(`form[action="/profile/name"] button[type=submit]`); st != 400 {
		t.Fatalf("empty name: status %d, want 400", st)
	}
	b.see("Name is required.")
	if b.attr("#f-name", "aria-invalid") != "true" {
		t.Fatal("the name field is not marked invalid")
	}
	b.fill("#f-name", "Ada King")
	b.submit(`form[action="/profile/name"] button[type=submit]`)
	b.see("Your name is now Ada King.")
	if got := b.eval(`document.querySelector(".me-text strong").innerText`); got != "Ada King" {
		t.Fatalf("sidebar shows %q", got)
	}

	// The picture: not an image, too large, then a photo.
	txt := filepath.Join(files, "notes.txt")
	big := filepath.Join(files, "huge.png")
	photo := filepath.Join(files, "photo.png")
	for name, data := range map[string][]byte{
		txt:   []byte("these are notes, not a picture"),
		big:   append(apptest.PNG(20, 20), make([]byte, service.MaxAvatarBytes)...),
		photo: apptest.PNG(640, 400),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.upload("#f-avatar", txt)
	if st := b.submit(`form[action="/profile/avatar"] button[type=submit]`); st != 400 {
		t.Fatalf("text file: status %d, want 400", st)
	}
	b.see("The picture was not changed.", "The avatar must be a PNG, JPEG or WebP image.")
	if b.eval(`document.querySelector("#f-avatar-err") ? "yes" : "no"`) != "yes" {
		t.Fatal("the error is not beside the file input")
	}
	b.upload("#f-avatar", big)
	if st := b.submit(`form[action="/profile/avatar"] button[type=submit]`); st != 413 {
		t.Fatalf("3 MiB file: status %d, want 413", st)
	}
	b.see("The image is larger than 2 MiB. Choose a smaller one.")
	b.upload("#f-avatar", photo)
	b.submit(`form[action="/profile/avatar"] button[type=submit]`)
	b.see("Your picture is updated.", "Remove picture")
	b.step("picture loads", chromedp.WaitVisible(chromedp.CSS("img.avatar-lg")))
	if got := b.eval(`(() => { const i = document.querySelector("img.avatar-lg"); return i.complete ? i.naturalWidth + "x" + i.naturalHeight : "loading"; })()`); got != "256x256" {
		t.Fatalf("the stored picture is %s, want 256x256 (a 640x400 photo cropped to its centre)", got)
	}
	if b.eval(`document.querySelector(".me img.avatar") ? "yes" : "no"`) != "yes" {
		t.Fatal("the sidebar does not show the picture")
	}
	b.shot("30-profile", true)
	b.submit(`form[action="/profile/avatar/remove"] button[type=submit]`)
	b.see("Your picture is removed.")
	b.notSee("Remove picture")

	// The password: wrong current, too short, then right.
	b.fill("#f-current_password", "not my password at all")
	b.fill("#f-password", "a brand new passphrase")
	if st := b.submit(`form[action="/profile/password"] button[type=submit]`); st != 403 {
		t.Fatalf("wrong current password: status %d, want 403", st)
	}
	b.see("The current password is wrong.")
	if b.attr("#f-current_password", "aria-invalid") != "true" || b.eval(`document.querySelector("#f-current_password").value`) != "" {
		t.Fatal("the current password is not marked, or its value came back into the page")
	}
	b.fill("#f-current_password", apptest.TestPassword)
	b.fill("#f-password", "short")
	if st := b.submit(`form[action="/profile/password"] button[type=submit]`); st != 400 {
		t.Fatalf("short password: status %d, want 400", st)
	}
	b.see("Password must be at least 10 characters.")
	b.shot("31-profile-password-errors", false)
	b.fill("#f-current_password", apptest.TestPassword)
	b.fill("#f-password", "a brand new passphrase")
	b.submit(`form[action="/profile/password"] button[type=submit]`)
	b.see("Password changed. Your other sessions were signed out.")
	elsewhere.open("/profile")
	elsewhere.at("/login")
	elsewhere.signInForm("ada@acme.test", "a brand new passphrase")
	elsewhere.open("/profile")
	elsewhere.see("Ada King")

	// An account with Google only.
	grace := s.PasswordlessUser("Grace Hopper", "grace@acme.test")
	linkGoogle(t, s, grace.User["id"].(string), "grace@acme.test")
	g := newBrowser(t, exe, s.URL, dir, "grace")
	g.signInTokens(grace)
	g.open("/profile")
	g.see("Set a password", "Linked sign-in methods", "Google", "grace@acme.test")
	g.notSee("Current password")
	g.shot("32-profile-linked", true)
	g.click(`#identities details.confirm summary`)
	g.step("confirm step", chromedp.WaitVisible(chromedp.CSS(`#identities .confirm-box button`)))
	g.submit(`#identities .confirm-box button`)
	g.see("This is your only way to sign in.", "Google")
	g.fill("#f-password", "grace's own passphrase")
	g.submit(`form[action="/profile/password"] button[type=submit]`)
	g.see("Password set", "Change password")
	g.click(`#identities details.confirm summary`)
	g.step("confirm step", chromedp.WaitVisible(chromedp.CSS(`#identities .confirm-box button`)))
	g.submit(`#identities .confirm-box button`)
	g.see("Sign-in method unlinked", "No linked accounts")
}
