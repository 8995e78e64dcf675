package web

// /profile/security: the user's second factors — the authenticator app
// (QR code, recovery codes shown once, regenerate, turn off) and passkeys
// (add through the browser's WebAuthn API, rename, remove).

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

const securityPath = "/profile/security"

func (h *Handler) registerSecurity(mux *http.ServeMux) {
	h.handle(mux, "GET "+securityPath, h.authed(h.securityPage))
	h.handle(mux, "POST "+securityPath+"/totp", h.authed(h.startTOTP))
	h.handle(mux, "POST "+securityPath+"/totp/confirm", h.authed(h.confirmTOTP))
	h.handle(mux, "POST "+securityPath+"/totp/disable", h.authed(h.disableTOTP))
	h.handle(mux, "POST "+securityPath+"/recovery-codes", h.authed(h.newRecoveryCodes))
	h.handle(mux, "POST "+securityPath+"/passkeys/options", h.authed(h.passkeyOptions))
	h.handle(mux, "POST "+securityPath+"/passkeys", h.authed(h.addPasskey))
	h.handle(mux, "POST "+securityPath+"/passkeys/{id}/rename", h.authed(h.renamePasskey))
	h.handle(mux, "POST "+securityPath+"/passkeys/{id}/delete", h.authed(h.deletePasskey))
}

type securityData struct {
	MFA      *service.MFAStatus
	Passkeys []*service.Passkey
	// Enrolling: the secret and QR code of an enrollment just started
	// (carried through the confirm form, so a wrong code can be retried).
	Secret string
	QRCode template.URL // a data: URL of a PNG made here
	// RecoveryCodes were just made: shown this once.
	RecoveryCodes []string
	// CodesFile is a data: URL of the codes as a .txt file.
	CodesFile template.URL
}

func (h *Handler) renderSecurity(rc *reqCtx, status int, d securityData, f *form) {
	st, err := h.svc.Auth.MFA(rc.r.Context(), rc.P)
	if err == nil {
		d.MFA = st
		d.Passkeys, err = h.svc.Auth.Passkeys(rc.r.Context(), rc.P)
	}
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	if len(d.RecoveryCodes) > 0 {
		d.CodesFile = template.URL("data:text/plain;charset=utf-8," + url.PathEscape("Gatehouse recovery codes for "+rc.User.Email+
			"\nEach code works once.\n\n"+strings.Join(d.RecoveryCodes, "\n")+"\n"))
	}
	rc.w.Header().Set("Cache-Control", "no-store")
	p := rc.page("Security", "security")
	p.Data, p.Form = d, f
	if p.Form == nil {
		p.Form = newForm(nil)
	}
	h.renderStatus(rc.w, rc.r, status, "security", p)
}

func (h *Handler) securityPage(rc *reqCtx) { h.renderSecurity(rc, http.StatusOK, securityData{}, nil) }

func (h *Handler) startTOTP(rc *reqCtx) {
	e, err := h.svc.Auth.StartTOTP(rc.r.Context(), rc.Actor(), rc.P)
	if err != nil {
		rc.fail(securityPath, err)
		return
	}
	h.renderSecurity(rc, http.StatusOK, securityData{Secret: e.Secret, QRCode: template.URL(e.QRCode)}, nil)
}

func (h *Handler) confirmTOTP(rc *reqCtx) {
	codes, err := h.svc.Auth.ConfirmTOTP(rc.r.Context(), rc.Actor(), rc.P, strings.TrimSpace(rc.r.PostFormValue("code")))
	if err != nil {
		if gatehouse.AsError(err).Reason == "totp_not_pending" {
			rc.fail(securityPath, err)
			return
		}
		f := newForm(nil)
		status := f.apply(err)
		// The page's own QR code comes back through the form: shown again
		// only when it is a PNG data URL and nothing else.
		var qr template.URL
		if b64, ok := strings.CutPrefix(rc.r.PostFormValue("qr_code"), "data:image/png;base64,"); ok && len(b64) < 64<<10 {
			if _, err := base64.StdEncoding.DecodeString(b64); err == nil {
				qr = template.URL("data:image/png;base64," + b64)
			}
		}
		h.renderSecurity(rc, status, securityData{Secret: rc.r.PostFormValue("secret"), QRCode: qr}, f)
		return
	}
	h.renderSecurity(rc, http.StatusOK, securityData{RecoveryCodes: codes}, nil)
}

func (h *Handler) newRecoveryCodes(rc *reqCtx) {
	codes, err := h.svc.Auth.NewRecoveryCodes(rc.r.Context(), rc.Actor(), rc.P)
	if err != nil {
		rc.fail(securityPath, err)
		return
	}
	h.renderSecurity(rc, http.StatusOK, securityData{RecoveryCodes: codes}, nil)
}

func (h *Handler) disableTOTP(rc *reqCtx) {
	err := h.svc.Auth.DisableTOTP(rc.r.Context(), rc.Actor(), rc.P, strings.TrimSpace(rc.r.PostFormValue("code")), rc.r.PostFormValue("password"))
	if err != nil {
		rc.fail(securityPath, err)
		return
	}
	rc.done(securityPath, "The authenticator app is off, and its recovery codes with it.")
}

// passkeyOptions answers the creation options as JSON, for the page's
// script (fetch from this origin: cross-origin protection applies).
func (h *Handler) passkeyOptions(rc *reqCtx) {
	w := rc.w
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	opts, err := h.svc.Auth.PasskeyCreationOptions(rc.r.Context(), rc.Actor(), rc.P)
	if err != nil {
		e := gatehouse.AsError(err)
		w.WriteHeader(statusOf(e.Code))
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(opts)
}

func (h *Handler) addPasskey(rc *reqCtx) {
	k, err := h.svc.Auth.AddPasskey(rc.r.Context(), rc.Actor(), rc.P, rc.r.PostFormValue("name"), json.RawMessage(rc.r.PostFormValue("credential")))
	if err != nil {
		rc.fail(securityPath, err)
		return
	}
	rc.done(securityPath, "Passkey “"+k.Name+"” added: you can sign in with it.")
}

func (h *Handler) renamePasskey(rc *reqCtx) {
	k, err := h.svc.Auth.RenamePasskey(rc.r.Context(), rc.Actor(), rc.P, rc.r.PathValue("id"), rc.r.PostFormValue("name"))
	if err != nil {
		rc.fail(securityPath, err)
		return
	}
	rc.done(securityPath, "Passkey renamed to “"+k.Name+"”.")
}

func (h *Handler) deletePasskey(rc *reqCtx) {
	if err := h.svc.Auth.DeletePasskey(rc.r.Context(), rc.Actor(), rc.P, rc.r.PathValue("id")); err != nil {
		rc.fail(securityPath, err)
		return
	}
	rc.done(securityPath, "Passkey removed.")
}
