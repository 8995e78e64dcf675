package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/scim"
)

// SCIM provisioning (Settings → SCIM): the base URL an identity provider
// is given, and its tokens (created and shown once, listed, revoked). Also
// the page behind the set-password link mailed to accounts SCIM creates.

func (h *Handler) registerSCIM(mux *http.ServeMux) {
	h.handle(mux, "GET /settings/scim", h.inOrg(h.scimPage))
	h.handle(mux, "POST /settings/scim/tokens", h.inOrg(h.createSCIMToken))
	h.handle(mux, "POST /settings/scim/tokens/{id}/revoke", h.inOrg(h.revokeSCIMToken))
	h.handle(mux, "GET /set-password", h.setPasswordPage)
}

type scimData struct {
	BaseURL  string
	Tokens   []*gatehouse.SCIMToken
	Next     string
	CanWrite bool
	// The page after creation shows the token once.
	Created *gatehouse.SCIMToken
	Secret  string
}

func (h *Handler) scimBaseURL() string { return h.cfg.BaseURL + scim.Prefix }

func (h *Handler) scimPage(rc *reqCtx) {
	h.showSCIM(rc, newForm(nil), http.StatusOK)
}

func (h *Handler) showSCIM(rc *reqCtx, f *form, status int) {
	r := rc.r
	p := rc.page("SCIM provisioning", "scim")
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	list, err := h.svc.SCIM.ListTokens(r.Context(), rc.Caller, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d := scimData{BaseURL: h.scimBaseURL(), Tokens: list.Items, Next: list.NextCursor}
	d.CanWrite, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Write)
	p.Form = f
	p.Data = d
	h.renderStatus(rc.w, r, status, "scim", p)
}

func (h *Handler) createSCIMToken(rc *reqCtx) {
	r := rc.r
	f := newForm(formValues(r, "name"))
	t, secretText, err := h.svc.SCIM.CreateToken(r.Context(), rc.Caller, r.PostFormValue("name"))
	if err != nil {
		status := f.apply(err)
		h.showSCIM(rc, f, status)
		return
	}
	// The token is shown on this response only: no redirect, no storage.
	p := rc.page("SCIM token created", "scim")
	p.Flash = &flash{Kind: "success", Text: "SCIM token " + t.Name + " created."}
	p.Data = scimData{BaseURL: h.scimBaseURL(), Created: t, Secret: secretText}
	h.render(rc.w, r, "scim-token-created", p)
}

func (h *Handler) revokeSCIMToken(rc *reqCtx) {
	if err := h.svc.SCIM.RevokeToken(rc.r.Context(), rc.Caller, rc.r.PathValue("id")); err != nil {
		rc.fail("/settings/scim", err)
		return
	}
	rc.done("/settings/scim", "SCIM token revoked: your identity provider can no longer use it.")
}

// setPasswordPage is where the link mailed to an account SCIM created
// lands: the reset form's last step, with the link's token.
func (h *Handler) setPasswordPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		redirect(w, r, "/forgot-password")
		return
	}
	p := h.authPage("Choose your password", newForm(url.Values{}))
	p.Data = forgotData{Step: "password", Token: token}
	h.render(w, r, "forgot", p)
}
