package web

// Shareable invitation links in the Members area (create with the same
// access picker as Invite Member, the link shown once; list with uses;
// revoke) and the public page a link opens, /invite-links/<token>, where a
// signed-in person joins.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (h *Handler) registerInviteLinks(mux *http.ServeMux) {
	h.handle(mux, "POST /members/invite/csv", h.inOrg(h.inviteCSV))
	h.handle(mux, "GET /members/invite-links", h.inOrg(h.inviteLinksPage))
	h.handle(mux, "POST /members/invite-links", h.inOrg(h.createInviteLink))
	h.handle(mux, "POST /members/invite-links/{id}/revoke", h.inOrg(h.revokeInviteLink))
	h.handle(mux, "GET /invite-links/{token}", h.inviteLinkPage)
	h.handle(mux, "POST /invite-links/{token}/join", h.joinInviteLink)
}

type linkRow struct {
	ID, State, Role string
	Access          []string
	Uses, MaxUses   int
	Domains         []string
	Created         time.Time
	Expires         time.Time
}

type inviteLinksData struct {
	Links  []linkRow
	Access accessView
	// On the page after creation: the link, shown once.
	URL     string
	Created *linkRow
}

func (h *Handler) linkRow(rc *reqCtx, v *service.LinkView) linkRow {
	return linkRow{ID: v.ID, State: v.State, Role: roleName(v.Role), Access: h.describe(rc, v.Role, v.Grants),
		Uses: v.Uses, MaxUses: v.MaxUses, Domains: v.AllowedDomains, Created: v.CreatedAt, Expires: v.ExpiresAt}
}

func (h *Handler) inviteLinksPage(rc *reqCtx) {
	f := newForm(url.Values{"max_uses": {"10"}, "expires_in_days": {"7"}})
	h.showInviteLinks(rc, f, newAccessState(), nil, http.StatusOK)
}

func (h *Handler) showInviteLinks(rc *reqCtx, f *form, st *accessState, errs map[string]string, status int) {
	p := rc.page("Invite links", "members")
	if !p.Can.Members {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members read permission to see the invite links of " + rc.Org.Name + "."})
		return
	}
	links, err := h.svc.Invitations.ListLinks(rc.r.Context(), rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d := inviteLinksData{}
	for _, l := range links {
		d.Links = append(d.Links, h.linkRow(rc, l))
	}
	if p.Can.Invite {
		if d.Access, err = h.accessPicker(rc, f, st, errs); err != nil {
			return
		}
	}
	p.Form, p.Data = f, d
	h.renderStatus(rc.w, rc.r, status, "invite-links", p)
}

// accessPicker is the access picker for the link form (a page was written
// when err is not nil).
func (h *Handler) accessPicker(rc *reqCtx, f *form, st *accessState, errs map[string]string) (accessView, error) {
	v, ok := h.pickerView(rc, f, st, errs, true)
	if !ok {
		return v, gatehouse.Errorf(gatehouse.EINTERNAL, "picker")
	}
	return v, nil
}

func (h *Handler) createInviteLink(rc *reqCtx) {
	r := rc.r
	f, st, cat, ok := h.readAccessForm(rc, true)
	if !ok {
		return
	}
	grants, errs := st.grants(cat)
	in := service.LinkInput{Role: st.Role, Grants: grants}
	maxUses, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("max_uses")))
	if err != nil {
		f.Set("max_uses", "Uses must be a whole number.")
	}
	in.MaxUses = maxUses
	if days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("expires_in_days"))); err == nil {
		in.ExpiresInDays = &days
	} else {
		f.Set("expires_in_days", "Expiry must be a number of days.")
	}
	if d := splitAddresses(r.PostFormValue("allowed_domains")); len(d) > 0 {
		in.AllowedDomains = d
	}
	if len(errs) > 0 || f.HasErrors() {
		f.Error = "Please correct the fields marked below."
		h.showInviteLinks(rc, f, st, errs, http.StatusBadRequest)
		return
	}
	v, err := h.svc.Invitations.CreateLink(r.Context(), rc.Caller, in)
	if err != nil {
		status := f.apply(err)
		h.showInviteLinks(rc, f, st, nil, status)
		return
	}
	p := rc.page("Invite link created", "members")
	row := h.linkRow(rc, v)
	p.Data = inviteLinksData{URL: h.cfg.BaseURL + "/invite-links/" + v.Token, Created: &row}
	h.render(rc.w, r, "invite-link-created", p)
}

func (h *Handler) revokeInviteLink(rc *reqCtx) {
	if err := h.svc.Invitations.RevokeLink(rc.r.Context(), rc.Caller, rc.r.PathValue("id")); err != nil {
		rc.fail("/members/invite-links", err)
		return
	}
	rc.done("/members/invite-links", "Invite link revoked: it no longer works.")
}

// The public link page.

type linkPageData struct {
	Token   string
	Preview *service.LinkPreview
	User    *gatehouse.User
	Member  bool
}

// showLink loads the link, or shows why it cannot be used.
func (h *Handler) showLink(w http.ResponseWriter, r *http.Request) (*service.LinkPreview, bool) {
	pv, err := h.svc.Invitations.ShowLink(r.Context(), r.PathValue("token"))
	if err == nil {
		pv.Access = capitalize(pv.Access)
		return pv, true
	}
	e := gatehouse.AsError(err)
	d := messageData{Link: "/", LinkText: "Go to Gatehouse", Tone: "warn"}
	switch e.Code {
	case gatehouse.ENOTFOUND:
		d.Heading = "This invite link is not valid"
		d.Text = "Check that you opened the whole link. If it still does not work, ask the organization for a new one."
	case gatehouse.EGONE:
		st, _ := e.Extra["link_status"].(string)
		d.Heading = map[string]string{
			"expired": "This invite link has expired",
			"revoked": "This invite link was revoked",
			"used_up": "This invite link has been used up",
		}[st]
		if d.Heading == "" {
			d.Heading = "This invite link can no longer be used"
		}
		d.Text = e.Message + " Ask the organization for a new link."
	default:
		h.failPage(w, r, nil, err)
		return nil, false
	}
	h.renderStatus(w, r, statusOf(e.Code), "message", &page{Title: d.Heading, Layout: "auth", Data: d})
	return nil, false
}

func (h *Handler) inviteLinkPage(w http.ResponseWriter, r *http.Request) {
	p, _ := h.principal(w, r)
	pv, ok := h.showLink(w, r)
	if !ok {
		return
	}
	h.renderLink(w, r, p, pv, newForm(nil), http.StatusOK)
}

func (h *Handler) renderLink(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, pv *service.LinkPreview, f *form, status int) {
	d := linkPageData{Token: r.PathValue("token"), Preview: pv}
	if p != nil {
		u, err := h.svc.Auth.Me(r.Context(), p)
		if err != nil {
			h.failPage(w, r, nil, err)
			return
		}
		d.User = u
		d.Member = h.isMember(r, p, pv.OrgID)
	}
	h.renderStatus(w, r, status, "invite-link", &page{Title: "Join " + pv.OrgName, Layout: "auth", Form: f, Data: d})
}

func (h *Handler) joinInviteLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	p, ok := h.principal(w, r)
	if !ok {
		h.toLogin(w, r, "/invite-links/"+url.PathEscape(token))
		return
	}
	pv, ok := h.showLink(w, r)
	if !ok {
		return
	}
	res, err := h.svc.Invitations.JoinLink(r.Context(), middleware.Actor(r, p), p, token)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EGONE {
			h.showLink(w, r)
			return
		}
		f := newForm(nil)
		status := f.apply(err)
		if f.Error == "" {
			f.Error = gatehouse.AsError(err).Message
		}
		h.renderLink(w, r, p, pv, f, status)
		return
	}
	if _, err := h.svc.Orgs.Switch(r.Context(), middleware.Actor(r, p), p, pv.OrgID); err != nil {
		h.cfg.Log.WarnContext(r.Context(), "web: switch after join", "err", err)
	}
	if res.RedirectURL != "" {
		h.continueTo(w, r, pv.OrgName, res.RedirectURL)
		return
	}
	h.setFlash(w, "success", "Welcome to "+pv.OrgName+"! You joined as "+res.User.Email+".")
	redirect(w, r, "/dashboard")
}
