package api_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

var volatileFields = regexp.MustCompile(`"request_id":"[^"]*"`)

// answer is a response as an enumerator compares them.
func answer(r *apptest.Response) string {
	return fmt.Sprintf("%d %s %s", r.Status, r.Header.Get("Retry-After"), volatileFields.ReplaceAll(r.Body, nil))
}

// Whether an address is registered shows in no answer of the code flows.
func TestOTPAnswersAlike(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		srv.Must(201, apptest.Post("/v1/auth/register", "name", "Ada", "email", "ada@example.com", "password", apptest.TestPassword))
		srv.SignUpTokens("Bob", "bob@example.com", "")
		srv.Clock.Advance(2 * time.Minute)

		t.Run("OKResendRightAfterRegistration", func(t *testing.T) {
			srv.Must(201, apptest.Post("/v1/auth/register", "name", "Cy", "email", "cy@example.com", "password", apptest.TestPassword))
			for _, purpose := range []string{"verify_email", "reset_password"} {
				reg := srv.Do(apptest.Post("/v1/auth/resend-otp", "email", "cy@example.com", "purpose", purpose))
				unk := srv.Do(apptest.Post("/v1/auth/resend-otp", "email", "nobody@example.com", "purpose", purpose))
				if answer(reg) != answer(unk) {
					t.Fatalf("%s: registered answers %q, unknown %q", purpose, answer(reg), answer(unk))
				}
			}
		})
		t.Run("OKWrongResetCodes", func(t *testing.T) {
			for _, email := range []string{"bob@example.com", "ghost@example.com"} {
				srv.Must(202, apptest.Post("/v1/auth/forgot-password", "email", email))
			}
			for i := range 6 {
				code := fmt.Sprintf("%06d", 100000+i) // not the mailed code (its mail says)
				if code == srv.LastCode("bob@example.com") {
					continue
				}
				reg := srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "bob@example.com", "otp", code))
				unk := srv.Do(apptest.Post("/v1/auth/forgot-password/verify", "email", "ghost@example.com", "otp", code))
				if answer(reg) != answer(unk) {
					t.Fatalf("wrong code %d: registered answers %q, unknown %q", i+1, answer(reg), answer(unk))
				}
			}
		})
		t.Run("OKWrongVerifyCodes", func(t *testing.T) {
			srv.Clock.Advance(2 * time.Minute)
			for _, email := range []string{"ada@example.com", "nobody2@example.com"} {
				srv.Must(202, apptest.Post("/v1/auth/resend-otp", "email", email, "purpose", "verify_email"))
			}
			for i := range 6 {
				code := fmt.Sprintf("%06d", 200000+i)
				if code == srv.LastCode("ada@example.com") {
					continue
				}
				reg := srv.Do(apptest.Post("/v1/auth/verify-email", "email", "ada@example.com", "otp", code))
				unk := srv.Do(apptest.Post("/v1/auth/verify-email", "email", "nobody2@example.com", "otp", code))
				if answer(reg) != answer(unk) {
					t.Fatalf("wrong code %d: registered answers %q, unknown %q", i+1, answer(reg), answer(unk))
				}
			}
		})
	})
}
