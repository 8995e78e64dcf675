package web

// The invitation email editor, /settings/email-templates: the
// organization's subject, text and HTML (or the built-in ones), a preview
// rendered with sample data (the HTML shown in a sandboxed frame, never as
// part of this page), a test send to oneself, and a way back to the
// built-in template. Saving a template with an unknown variable or bad
// syntax shows the problem beside the field.

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
)

const emailTemplatesPath = "/settings/email-templates"

func (h *Handler) registerEmailTemplates(mux *http.ServeMux) {
	h.handle(mux, "GET "+emailTemplatesPath, h.inOrg(h.emailTemplatesPage))
	h.handle(mux, "POST "+emailTemplatesPath, h.inOrg(h.saveEmailTemplate))
	h.handle(mux, "POST "+emailTemplatesPath+"/preview", h.inOrg(h.previewEmailTemplate))
	h.handle(mux, "POST "+emailTemplatesPath+"/test", h.inOrg(h.testEmailTemplate))
	h.handle(mux, "POST "+emailTemplatesPath+"/reset", h.inOrg(h.resetEmailTemplate))
}

type emailTemplatesData struct {
	Custom    bool
	CanWrite  bool
	Variables []string
	Preview   *gatehouse.MailMessage
}

func (h *Handler) emailTemplatesPage(rc *reqCtx) {
	v, err := h.svc.EmailTemplates.Get(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	f := newForm(url.Values{"subject": {v.Subject}, "text": {v.Text}, "html": {v.HTML}})
	h.showEmailTemplates(rc, f, v.Custom, nil, http.StatusOK)
}

func (h *Handler) showEmailTemplates(rc *reqCtx, f *form, custom bool, preview *gatehouse.MailMessage, status int) {
	p := rc.page("Invitation email", "settings")
	d := emailTemplatesData{Custom: custom, Variables: mailer.InvitationVariables, Preview: preview}
	d.CanWrite, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgSettings, authz.Write)
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, rc.r, status, "email-templates", p)
}

// templateForm reads the editor's fields.
func (h *Handler) templateForm(rc *reqCtx) (*form, mailer.Template, bool) {
	if err := rc.r.ParseForm(); err != nil {
		h.failPage(rc.w, rc.r, rc, gatehouse.Invalid("The form could not be read."))
		return nil, mailer.Template{}, false
	}
	f := newForm(formValues(rc.r, "subject", "text", "html"))
	return f, mailer.Template{Subject: f.Get("subject"), Text: f.Get("text"), HTML: f.Get("html")}, true
}

// custom reports whether the organization has a template of its own now.
func (h *Handler) custom(rc *reqCtx) bool {
	v, err := h.svc.EmailTemplates.Get(rc.r.Context(), rc.Caller)
	return err == nil && v.Custom
}

func (h *Handler) saveEmailTemplate(rc *reqCtx) {
	f, t, ok := h.templateForm(rc)
	if !ok {
		return
	}
	if _, err := h.svc.EmailTemplates.Put(rc.r.Context(), rc.Caller, t); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN || gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		status := f.apply(err)
		h.showEmailTemplates(rc, f, h.custom(rc), nil, status)
		return
	}
	rc.done(emailTemplatesPath, "Invitation email saved: new invitations use it.")
}

func (h *Handler) previewEmailTemplate(rc *reqCtx) {
	f, t, ok := h.templateForm(rc)
	if !ok {
		return
	}
	m, err := h.svc.EmailTemplates.Preview(rc.r.Context(), rc.Caller, &t, nil)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		status := f.apply(err)
		h.showEmailTemplates(rc, f, h.custom(rc), nil, status)
		return
	}
	h.showEmailTemplates(rc, f, h.custom(rc), &m, http.StatusOK)
}

func (h *Handler) testEmailTemplate(rc *reqCtx) {
	f, t, ok := h.templateForm(rc)
	if !ok {
		return
	}
	to, err := h.svc.EmailTemplates.TestSend(rc.r.Context(), rc.Caller, &t, nil)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		status := f.apply(err)
		h.showEmailTemplates(rc, f, h.custom(rc), nil, status)
		return
	}
	// The page again with what was typed (not saved yet).
	p := rc.page("Invitation email", "settings")
	p.Flash = &flash{Kind: "success", Text: "Test email sent to " + to + " (the template is not saved until you save it)."}
	d := emailTemplatesData{Custom: h.custom(rc), Variables: mailer.InvitationVariables}
	d.CanWrite = true
	p.Form, p.Data = f, d
	h.render(rc.w, rc.r, "email-templates", p)
}

func (h *Handler) resetEmailTemplate(rc *reqCtx) {
	if err := h.svc.EmailTemplates.Delete(rc.r.Context(), rc.Caller); err != nil {
		rc.fail(emailTemplatesPath, err)
		return
	}
	rc.done(emailTemplatesPath, "Back to the built-in invitation email.")
}
