package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The organization's uploaded logo on the settings page.

func (h *Handler) uploadLogo(rc *reqCtx) {
	if !h.needSettingsWrite(rc) {
		return
	}
	data, msg := readUpload(rc.r, "logo", service.MaxAvatarBytes)
	if msg == "" {
		_, err := h.svc.Orgs.SetLogo(rc.r.Context(), rc.Caller, data)
		if err == nil {
			rc.done("/settings", "Logo updated.")
			return
		}
		e := gatehouse.AsError(err)
		if s := statusOf(e.Code); s >= 500 || s == http.StatusForbidden {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		msg = e.Message
	}
	f := newForm(nil)
	f.Set("logo", msg)
	f.Error = "The logo was not changed."
	status := http.StatusBadRequest
	if strings.Contains(msg, "larger") {
		status = http.StatusRequestEntityTooLarge
	}
	h.showSettings(rc, f, status)
}

func (h *Handler) removeLogo(rc *reqCtx) {
	if err := h.svc.Orgs.DeleteLogo(rc.r.Context(), rc.Caller); err != nil {
		if statusOf(gatehouse.ErrorCode(err)) == http.StatusForbidden {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		rc.fail("/settings", err)
		return
	}
	rc.done("/settings", "Logo removed.")
}

// serveLogo shows an organization's uploaded logo.
func (h *Handler) serveLogo(w http.ResponseWriter, r *http.Request) {
	ct, data, err := h.svc.Orgs.Logo(r.Context(), r.PathValue("id"))
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
