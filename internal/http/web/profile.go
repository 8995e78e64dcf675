package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The profile: name, avatar, email, password, linked sign-in methods.

type profileData struct {
	HasPassword bool
	AvatarURL   string
	Identities  []*gatehouse.Identity
	MaxAvatarMB int
}

// avatarURL is where the dashboard shows a user's avatar ("" without one);
// the version makes each new upload a new address.
func avatarURL(u *gatehouse.User) string {
	if u == nil || u.AvatarType == "" {
		return ""
	}
	return "/avatars/" + url.PathEscape(u.ID) + "?v=" + strconv.FormatInt(u.AvatarVersion, 10)
}

// providerName names a sign-in method for people.
func providerName(i *gatehouse.Identity) string {
	switch {
	case i.Provider == "google":
		return "Google"
	case i.Provider == "github":
		return "GitHub"
	case strings.HasPrefix(i.Provider, "sso:"):
		if i.ConnectionName != "" {
			return i.ConnectionName + " (single sign-on)"
		}
		return "Single sign-on"
	}
	return i.Provider
}

func (h *Handler) profilePage(rc *reqCtx) {
	h.showProfile(rc, newForm(nil), http.StatusOK)
}

// orgNav fills in the user's current organization, when there is one, so
// that pages outside any organization (profile, sessions) show its sidebar
// too. Errors only leave the sidebar short.
func (h *Handler) orgNav(rc *reqCtx) {
	if rc.Caller != nil || rc.User.CurrentOrgID == "" {
		return
	}
	c, err := h.svc.Access.Caller(rc.r.Context(), rc.Actor(), rc.P, rc.User.CurrentOrgID)
	if err != nil {
		return
	}
	o, err := h.svc.Orgs.Get(rc.r.Context(), c)
	if err != nil {
		return
	}
	rc.Caller, rc.Org = c, o
}

// showProfile renders the profile with f's values and errors; the name
// field shows the current name unless f holds what was typed.
func (h *Handler) showProfile(rc *reqCtx, f *form, status int) {
	if !f.Values.Has("name") {
		f.Values.Set("name", rc.User.Name)
	}
	ids, err := h.svc.Auth.Identities(rc.r.Context(), rc.P)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	h.orgNav(rc)
	p := rc.page("Profile", "profile")
	p.Form = f
	p.Data = profileData{HasPassword: rc.User.HasPassword(), AvatarURL: avatarURL(rc.User), Identities: ids, MaxAvatarMB: service.MaxAvatarBytes >> 20}
	h.renderStatus(rc.w, rc.r, status, "profile", p)
}

func (h *Handler) updateName(rc *reqCtx) {
	name := rc.r.PostFormValue("name")
	if _, err := h.svc.Auth.UpdateMe(rc.r.Context(), rc.Actor(), rc.P, &name); err != nil {
		f := newForm(url.Values{"name": {name}})
		h.showProfile(rc, f, f.apply(err))
		return
	}
	rc.done("/profile", "Your name is now "+strings.TrimSpace(name)+".")
}

// uploadKey holds, in a request's context, why its upload could not be read.
type uploadKey struct{}

// withUpload reads a multipart form post of at most limit bytes (plus 64 KiB
// for the other fields) before next runs, so that nothing after it (the
// organization's form field) reads the body without a limit.
func withUpload(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
		if err := r.ParseMultipartForm(limit + 64<<10); err != nil {
			r = r.WithContext(context.WithValue(r.Context(), uploadKey{}, err))
		}
		next(w, r)
	}
}

// readUpload answers the file of a form post read by withUpload, at most
// limit bytes, or a message for the person when there is none.
func readUpload(r *http.Request, field string, limit int64) ([]byte, string) {
	large := "The image is larger than " + strconv.FormatInt(limit>>20, 10) + " MiB. Choose a smaller one."
	if err, _ := r.Context().Value(uploadKey{}).(error); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, large
		}
		return nil, "Choose an image file to upload."
	}
	if r.MultipartForm == nil {
		return nil, "Choose an image file to upload."
	}
	file, _, err := r.FormFile(field)
	if err != nil {
		return nil, "Choose an image file to upload."
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, limit+1))
	switch {
	case err != nil:
		return nil, "The upload was cut off. Try again."
	case int64(len(data)) > limit:
		return nil, large
	case len(data) == 0:
		return nil, "Choose an image file to upload."
	}
	return data, ""
}

func (h *Handler) uploadAvatar(rc *reqCtx) {
	data, msg := readUpload(rc.r, "avatar", service.MaxAvatarBytes)
	if msg == "" {
		_, err := h.svc.Auth.SetAvatar(rc.r.Context(), rc.Actor(), rc.P, data)
		if err == nil {
			rc.done("/profile", "Your picture is updated.")
			return
		}
		e := gatehouse.AsError(err)
		if statusOf(e.Code) >= 500 {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		msg = e.Message
	}
	f := newForm(nil)
	f.Set("avatar", msg)
	f.Error = "The picture was not changed."
	status := http.StatusBadRequest
	if strings.Contains(msg, "larger") {
		status = http.StatusRequestEntityTooLarge
	}
	h.showProfile(rc, f, status)
}

func (h *Handler) removeAvatar(rc *reqCtx) {
	if _, err := h.svc.Auth.DeleteAvatar(rc.r.Context(), rc.Actor(), rc.P); err != nil {
		rc.fail("/profile", err)
		return
	}
	rc.done("/profile", "Your picture is removed.")
}

// serveAvatar shows a user's avatar image (for the dashboard's own pages).
func (h *Handler) serveAvatar(w http.ResponseWriter, r *http.Request) {
	ct, data, err := h.svc.Auth.Avatar(r.Context(), r.PathValue("id"))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			h.NotFound(w, r)
			return
		}
		h.failPage(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(data)
}

// changePassword changes the password (the current one is required), or
// sets one for an account that signs in only through Google, GitHub or SSO.
func (h *Handler) changePassword(rc *reqCtx) {
	r := rc.r
	next := r.PostFormValue("password")
	var err error
	if rc.User.HasPassword() {
		err = h.svc.Auth.ChangePassword(r.Context(), rc.Actor(), rc.P, r.PostFormValue("current_password"), next)
	} else {
		err = h.svc.Auth.SetPassword(r.Context(), rc.Actor(), rc.P, next)
	}
	if err != nil {
		f := newForm(nil)
		status := f.apply(err)
		if e := gatehouse.AsError(err); e.Reason == "wrong_password" {
			f.Errors = map[string]string{"current_password": "The current password is wrong."}
			f.Error = "Please correct the fields marked below."
		}
		h.showProfile(rc, f, status)
		return
	}
	if rc.User.HasPassword() {
		rc.done("/profile", "Password changed. Your other sessions were signed out.")
		return
	}
	rc.done("/profile", "Password set: you can now sign in with your email and this password too.")
}

func (h *Handler) unlinkIdentity(rc *reqCtx) {
	err := h.svc.Auth.Unlink(rc.r.Context(), rc.Actor(), rc.P, rc.r.PathValue("id"))
	if err != nil {
		if gatehouse.AsError(err).Reason == "last_sign_in_method" {
			rc.fail("/profile", &gatehouse.Error{Code: gatehouse.ECONFLICT,
				Message: "This is your only way to sign in. Set a password below (or sign in once with another provider) before unlinking it."})
			return
		}
		rc.fail("/profile", err)
		return
	}
	rc.done("/profile", "Sign-in method unlinked: it no longer signs you in to this account.")
}
