package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Sign in, sign up, verify email, forgot password, sign out.

func (h *Handler) authPage(title string, f *form) *page {
	return &page{Title: title, Layout: "auth", Form: f}
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.principal(w, r); ok {
		redirect(w, r, h.after(r.URL.Query().Get("next")))
		return
	}
	q := r.URL.Query()
	f := newForm(url.Values{"email": {q.Get("email")}, "next": {safeNext(q.Get("next"))}})
	h.render(w, r, "login", h.authPage("Sign in", f))
}

// after is where a signed-in user goes: next when it is a local path.
func (h *Handler) after(next string) string {
	if next = safeNext(next); next != "" {
		return next
	}
	return "/dashboard"
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "email", "next"))
	t, _, ch, err := h.svc.Auth.LoginStart(r.Context(), middleware.Actor(r, nil), r.PostFormValue("email"), r.PostFormValue("password"))
	if err == nil && ch != nil { // the second factor comes next (mfa.go)
		h.loginMFAPage(w, r, ch, f.Get("next"), http.StatusOK)
		return
	}
	if err != nil {
		e := gatehouse.AsError(err)
		if e.Reason == "email_not_verified" {
			h.setFlash(w, "error", e.Message)
			redirect(w, r, "/verify?email="+url.QueryEscape(strings.TrimSpace(f.Get("email"))))
			return
		}
		if e.Reason == "sso_required" { // an enforced connection
			h.ssoContinue(w, r, http.StatusForbidden, e.Extra, f.Get("email"), h.after(f.Get("next")))
			return
		}
		status := f.apply(err)
		h.renderStatus(w, r, status, "login", h.authPage("Sign in", f))
		return
	}
	h.setSession(w, t)
	redirect(w, r, h.after(f.Get("next")))
}

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "register", h.authPage("Create your account", newForm(nil)))
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "name", "email"))
	u, err := h.svc.Auth.Register(r.Context(), middleware.Actor(r, nil), service.RegisterInput{
		Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Password: r.PostFormValue("password")})
	if err != nil {
		if e := gatehouse.AsError(err); e.Code == gatehouse.ECONFLICT {
			f.Set("email", "An account with this email already exists. Sign in, or reset its password.")
			f.Error = "Please correct the fields marked below."
			h.renderStatus(w, r, http.StatusConflict, "register", h.authPage("Create your account", f))
			return
		}
		status := f.apply(err)
		h.renderStatus(w, r, status, "register", h.authPage("Create your account", f))
		return
	}
	h.setFlash(w, "success", "Account created. We sent a 6-digit code to "+u.Email+": enter it to verify your email.")
	redirect(w, r, "/verify?email="+url.QueryEscape(u.Email))
}

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	f := newForm(url.Values{"email": {r.URL.Query().Get("email")}})
	h.render(w, r, "verify", h.authPage("Verify your email", f))
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "email", "otp"))
	_, t, err := h.svc.Auth.VerifyEmailAndSignIn(r.Context(), middleware.Actor(r, nil), r.PostFormValue("email"), strings.TrimSpace(r.PostFormValue("otp")))
	if err != nil {
		status := f.apply(err)
		h.renderStatus(w, r, status, "verify", h.authPage("Verify your email", f))
		return
	}
	// The right code signs the new user in: no second sign-in page.
	h.setSession(w, t)
	h.setFlash(w, "success", "Your email is verified. Welcome to Gatehouse!")
	redirect(w, r, "/dashboard")
}

func (h *Handler) resendCode(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "email"))
	err := h.svc.Auth.ResendOTP(r.Context(), middleware.Actor(r, nil), r.PostFormValue("email"), service.PurposeVerifyEmail)
	if err != nil {
		status := f.apply(err)
		h.renderStatus(w, r, status, "verify", h.authPage("Verify your email", f))
		return
	}
	h.setFlash(w, "success", "If an unverified account uses this address, a new code is on its way.")
	redirect(w, r, "/verify?email="+url.QueryEscape(strings.TrimSpace(f.Get("email"))))
}

// forgotData says which step of the reset the page is at: "email" (ask
// for a code), "code" (code and new password) or "password" (the code was
// right but the password was refused: the reset token waits in the page).
type forgotData struct {
	Step  string
	Token string
}

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	p := h.authPage("Reset your password", newForm(url.Values{"email": {r.URL.Query().Get("email")}}))
	p.Data = forgotData{Step: "email"}
	h.render(w, r, "forgot", p)
}

func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "email"))
	p := h.authPage("Reset your password", f)
	if err := h.svc.Auth.ForgotPassword(r.Context(), middleware.Actor(r, nil), r.PostFormValue("email")); err != nil {
		p.Data = forgotData{Step: "email"}
		status := f.apply(err)
		h.renderStatus(w, r, status, "forgot", p)
		return
	}
	p.Data = forgotData{Step: "code"}
	p.Flash = &flash{Kind: "success", Text: "If an account uses " + strings.TrimSpace(f.Get("email")) + ", we sent it a 6-digit code. Enter it below with your new password."}
	h.render(w, r, "forgot", p)
}

func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	f := newForm(formValues(r, "email", "otp"))
	p := h.authPage("Reset your password", f)
	p.Data = forgotData{Step: "code"}
	pw, token := r.PostFormValue("password"), r.PostFormValue("reset_token")
	if token == "" {
		if pw == "" { // say so before the code is spent
			f.Set("password", "Password is required.")
			f.Error = "Please correct the fields marked below."
			h.renderStatus(w, r, http.StatusBadRequest, "forgot", p)
			return
		}
		var err error
		token, err = h.svc.Auth.ForgotPasswordVerify(r.Context(), middleware.Actor(r, nil), r.PostFormValue("email"), strings.TrimSpace(r.PostFormValue("otp")))
		if err != nil {
			status := f.apply(err)
			h.renderStatus(w, r, status, "forgot", p)
			return
		}
	}
	if err := h.svc.Auth.ForgotPasswordSet(r.Context(), middleware.Actor(r, nil), token, pw); err != nil {
		status := f.apply(err)
		if f.Err("password") != "" {
			p.Data = forgotData{Step: "password", Token: token}
		} else {
			p.Data = forgotData{Step: "email"}
		}
		h.renderStatus(w, r, status, "forgot", p)
		return
	}
	h.clearSession(w)
	h.setFlash(w, "success", "Your password is changed and every session was signed out. Sign in with the new password.")
	redirect(w, r, "/login?email="+url.QueryEscape(strings.TrimSpace(f.Get("email"))))
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if p, ok := h.principal(w, r); ok {
		if err := h.svc.Auth.Logout(r.Context(), middleware.Actor(r, p), p); err != nil {
			h.cfg.Log.WarnContext(r.Context(), "web: logout", "err", err)
		}
	}
	h.clearSession(w)
	h.setFlash(w, "success", "You are signed out.")
	redirect(w, r, "/login")
}

// formValues keeps the named fields of a posted form (never passwords).
func formValues(r *http.Request, names ...string) url.Values {
	v := url.Values{}
	for _, n := range names {
		if s := r.PostFormValue(n); s != "" {
			v.Set(n, s)
		}
	}
	return v
}
