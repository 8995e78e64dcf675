package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Settings → Single sign-on: the organization's SSO connections (OpenID
// Connect or SAML), listed with the addresses the identity provider's
// administrator needs; created, edited (secrets never shown back, left
// empty to keep), enforced or not, deleted. Reading needs settings read,
// every change settings write, as the API (service/ssoconn.go).

func (h *Handler) registerSSOConnections(mux *http.ServeMux) {
	h.handle(mux, "GET /settings/sso", h.inOrg(h.ssoConnectionsPage))
	h.handle(mux, "POST /settings/sso", h.inOrg(h.createSSOConnection))
	h.handle(mux, "GET /settings/sso/{id}", h.inOrg(h.ssoConnectionPage))
	h.handle(mux, "POST /settings/sso/{id}", h.inOrg(h.updateSSOConnection))
	h.handle(mux, "POST /settings/sso/{id}/enforced", h.inOrg(h.setSSOEnforced))
	h.handle(mux, "POST /settings/sso/{id}/delete", h.inOrg(h.deleteSSOConnection))
}

// ssoConnView is a connection with what its identity provider is given.
type ssoConnView struct {
	*gatehouse.SSOConnection
	TypeName    string
	DomainsText string
	RedirectURI string // OIDC
	SPEntityID  string // SAML: the metadata URL doubles as entity ID
	ACSURL      string // SAML
	SignInURL   string
}

type ssoData struct {
	Conns    []ssoConnView
	Conn     *ssoConnView // the edit page's
	CanWrite bool
	// What a new connection's provider is given before it exists.
	RedirectURI, ACSURL string
}

func (h *Handler) ssoView(c *gatehouse.SSOConnection) ssoConnView {
	v := ssoConnView{SSOConnection: c, TypeName: "OpenID Connect", DomainsText: strings.Join(c.Domains, ", "),
		SignInURL: h.cfg.BaseURL + "/v1/auth/sso?connection_id=" + url.QueryEscape(c.ID)}
	if c.Type == gatehouse.SSOTypeSAML {
		v.TypeName, v.SPEntityID, v.ACSURL = "SAML", h.svc.SSO.SAMLMetadataURL(c.ID), h.svc.SSO.SAMLACSURL()
	} else {
		v.RedirectURI = h.svc.SSO.OIDCCallbackURL()
	}
	return v
}

// ssoLabels name the connection form's fields in messages.
var ssoLabels = map[string]string{
	"name": "Name", "type": "Type", "domains": "Email domains", "issuer": "Issuer URL", "client_id": "Client ID",
	"client_secret": "Client secret", "idp_metadata_url": "Metadata URL", "idp_metadata_xml": "Metadata XML",
}

// ssoFormFields are the form's inputs (the secret is never shown back).
var ssoFormFields = []string{"type", "name", "domains", "enforced", "issuer", "client_id", "idp_metadata_url", "idp_metadata_xml"}

// ssoApply puts a service error on the connection form: each field's
// message beside its input (a domain by what was typed), the rest on top;
// it returns the status to answer with.
func ssoApply(f *form, err error, domains []string) int {
	e := gatehouse.AsError(err)
	if e.Reason == "provider_unavailable" && f.Get("idp_metadata_url") != "" {
		// Fetching the SAML metadata failed: beside its field, not a 5xx page.
		f.Set("idp_metadata_url", "The metadata could not be fetched ("+e.Message+") Paste the XML below instead.")
		f.Error = "Please correct the fields marked below."
		return statusOf(e.Code)
	}
	if statusOf(e.Code) >= 500 {
		return f.apply(err)
	}
	rest := *e
	rest.Fields = nil
	for _, fe := range e.Fields {
		name, msg := fe.Field, fe.Message
		if i, ok := strings.CutPrefix(name, "domains["); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(i, "]"))
			name, msg = "domains", "the domain “"+domains[min(max(n, 0), len(domains)-1)]+"” is not an email domain such as example.com"
		}
		if e.Code == gatehouse.EINVALID && e.Reason == "idp_metadata_unreachable" {
			name = "idp_metadata_url"
		}
		label, ok := ssoLabels[name]
		if !ok {
			rest.Fields = append(rest.Fields, fe)
			continue
		}
		if f.Err(name) == "" {
			f.Set(name, messageFor(label, msg))
		}
	}
	switch {
	case e.Reason == "domain_taken":
		f.Set("domains", e.Message)
	case e.Reason == "idp_metadata_unreachable" && len(e.Fields) == 0:
		f.Set("idp_metadata_url", e.Message)
	}
	if len(rest.Fields) > 0 || len(f.Errors) == 0 {
		return f.apply(&rest)
	}
	f.Error = "Please correct the fields marked below."
	return statusOf(e.Code)
}

// splitDomains reads the domains field: names separated by commas or spaces.
func splitDomains(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ';' })
}

func (h *Handler) ssoConnectionsPage(rc *reqCtx) {
	h.showSSOConnections(rc, newForm(url.Values{"type": {gatehouse.SSOTypeOIDC}}), http.StatusOK)
}

func (h *Handler) showSSOConnections(rc *reqCtx, f *form, status int) {
	p := rc.page("Single sign-on", "settings")
	if !p.Can.Settings {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN,
			Message: "You need settings read permission on " + rc.Org.Name + " to see its single sign-on connections. Ask an owner or admin."})
		return
	}
	conns, err := h.svc.SSO.Connections(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d := ssoData{CanWrite: p.Can.SettingsWrite, RedirectURI: h.svc.SSO.OIDCCallbackURL(), ACSURL: h.svc.SSO.SAMLACSURL()}
	for _, c := range conns {
		d.Conns = append(d.Conns, h.ssoView(c))
	}
	f.Values.Del("client_secret")
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, rc.r, status, "sso-connections", p)
}

// ssoInput reads the form into the service's input: only the chosen
// type's fields; on an edit (old set) a secret or metadata left empty, or
// a metadata URL unchanged, keeps what is stored.
func ssoInput(f *form, typ string, old *gatehouse.SSOConnection) (service.SSOConnectionInput, []string) {
	opt := func(name string, keepEmpty bool) *string {
		v := f.Get(name)
		if keepEmpty && strings.TrimSpace(v) == "" {
			return nil
		}
		return &v
	}
	domains := splitDomains(f.Get("domains"))
	enforced := f.Get("enforced") == "on"
	in := service.SSOConnectionInput{Name: opt("name", false), Domains: &domains, Enforced: &enforced}
	if old == nil {
		in.Type = &typ
	}
	switch typ {
	case gatehouse.SSOTypeOIDC:
		in.Issuer, in.ClientID, in.ClientSecret = opt("issuer", old == nil), opt("client_id", false), opt("client_secret", old != nil)
	case gatehouse.SSOTypeSAML:
		in.IdPMetadataXML = opt("idp_metadata_xml", true)
		in.IdPMetadataURL = opt("idp_metadata_url", true)
		if old != nil && in.IdPMetadataURL != nil && strings.TrimRight(strings.TrimSpace(*in.IdPMetadataURL), "/") == old.IdPMetadataURL {
			in.IdPMetadataURL = nil
		}
	}
	return in, domains
}

func (h *Handler) createSSOConnection(rc *reqCtx) {
	if !h.needSettingsWrite(rc) {
		return
	}
	f := newForm(formValues(rc.r, append(ssoFormFields, "client_secret")...))
	typ := f.Get("type")
	if typ != gatehouse.SSOTypeOIDC && typ != gatehouse.SSOTypeSAML {
		f.Set("type", "Choose OpenID Connect or SAML.")
		f.Error = "Please correct the fields marked below."
		h.showSSOConnections(rc, f, http.StatusBadRequest)
		return
	}
	in, domains := ssoInput(f, typ, nil)
	c, err := h.svc.SSO.CreateConnection(rc.r.Context(), rc.Caller, in)
	if err != nil {
		if statusOf(gatehouse.ErrorCode(err)) == http.StatusForbidden {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		h.showSSOConnections(rc, f, ssoApply(f, err, domains))
		return
	}
	rc.done("/settings/sso/"+url.PathEscape(c.ID), "Connection "+c.Name+" created. Give your identity provider the addresses below.")
}

// ssoConnection loads the connection of the page's path; false when it
// answered (403 without settings write, 404 for another organization's).
func (h *Handler) ssoConnection(rc *reqCtx) (*gatehouse.SSOConnection, bool) {
	if !h.needSettingsWrite(rc) {
		return nil, false
	}
	c, err := h.svc.SSO.Connection(rc.r.Context(), rc.Caller, rc.r.PathValue("id"))
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, false
	}
	return c, true
}

func (h *Handler) ssoConnectionPage(rc *reqCtx) {
	c, ok := h.ssoConnection(rc)
	if !ok {
		return
	}
	f := newForm(url.Values{"name": {c.Name}, "domains": {strings.Join(c.Domains, ", ")}, "issuer": {c.Issuer},
		"client_id": {c.ClientID}, "idp_metadata_url": {c.IdPMetadataURL}})
	if c.Enforced {
		f.Values.Set("enforced", "on")
	}
	h.showSSOConnection(rc, c, f, http.StatusOK)
}

func (h *Handler) showSSOConnection(rc *reqCtx, c *gatehouse.SSOConnection, f *form, status int) {
	p := rc.page("Single sign-on: "+c.Name, "settings")
	v := h.ssoView(c)
	f.Values.Del("client_secret")
	p.Form, p.Data = f, ssoData{Conn: &v, CanWrite: true}
	h.renderStatus(rc.w, rc.r, status, "sso-connection", p)
}

func (h *Handler) updateSSOConnection(rc *reqCtx) {
	c, ok := h.ssoConnection(rc)
	if !ok {
		return
	}
	f := newForm(formValues(rc.r, append(ssoFormFields, "client_secret")...))
	in, domains := ssoInput(f, c.Type, c)
	up, err := h.svc.SSO.UpdateConnection(rc.r.Context(), rc.Caller, c.ID, in)
	if err != nil {
		if st := statusOf(gatehouse.ErrorCode(err)); st == http.StatusForbidden || st == http.StatusNotFound {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		h.showSSOConnection(rc, c, f, ssoApply(f, err, domains))
		return
	}
	rc.done("/settings/sso", "Connection "+up.Name+" saved.")
}

func (h *Handler) setSSOEnforced(rc *reqCtx) {
	c, ok := h.ssoConnection(rc)
	if !ok {
		return
	}
	on := rc.r.PostFormValue("enforced") == "true"
	if _, err := h.svc.SSO.UpdateConnection(rc.r.Context(), rc.Caller, c.ID, service.SSOConnectionInput{Enforced: &on}); err != nil {
		rc.fail("/settings/sso", err)
		return
	}
	if on {
		rc.done("/settings/sso", "Single sign-on through "+c.Name+" is now required for "+strings.Join(c.Domains, ", ")+": passwords and other sign-in methods are refused for those addresses.")
		return
	}
	rc.done("/settings/sso", c.Name+" is no longer required: people at "+strings.Join(c.Domains, ", ")+" may sign in other ways too.")
}

func (h *Handler) deleteSSOConnection(rc *reqCtx) {
	c, ok := h.ssoConnection(rc)
	if !ok {
		return
	}
	if err := h.svc.SSO.DeleteConnection(rc.r.Context(), rc.Caller, c.ID); err != nil {
		rc.fail("/settings/sso", err)
		return
	}
	rc.done("/settings/sso", "Connection "+c.Name+" deleted: people at "+strings.Join(c.Domains, ", ")+" sign in with a password or another method again.")
}

// copyFieldView is a read-only address with a Copy button.
type copyFieldView struct{ ID, Label, Value string }

func init() {
	funcs["copyField"] = func(id, label, value string) copyFieldView { return copyFieldView{id, label, value} }
}
