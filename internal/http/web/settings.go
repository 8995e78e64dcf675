package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The organization's settings: name and logo, the invitation policy, the
// second-factor requirement, SSO connections and webhooks (links), and,
// for owners, handing ownership on and deleting the organization.

func (h *Handler) registerSettings(mux *http.ServeMux) {
	h.handle(mux, "GET /settings", h.inOrg(h.settingsPage))
	h.handle(mux, "POST /settings/name", h.inOrg(h.updateOrg))
	h.handle(mux, "POST /settings/policy", h.inOrg(h.updatePolicy))
	h.handle(mux, "POST /settings/mfa", h.inOrg(h.updateMFAPolicy))
	h.handle(mux, "POST /settings/transfer", h.inOrg(h.transferOwnership))
	h.handle(mux, "POST /settings/delete", h.inOrg(h.deleteOrg))
	h.handle(mux, "POST /settings/logo", withUpload(service.MaxAvatarBytes, h.inOrg(h.uploadLogo)))
	h.handle(mux, "POST /settings/logo/remove", h.inOrg(h.removeLogo))
	h.handle(mux, "GET /org-logos/{id}", h.serveLogo)
}

type settingsData struct {
	RequireMFA  bool
	WithoutMFA  []store.MemberWithoutMFA
	SSO         []*gatehouse.SSOConnection
	Candidates  []memberRow // members who could become the owner
	MoreMembers bool
	MaxDays     int
	LogoURL     string // the uploaded logo, "" without one
	MaxLogoMB   int
}

// policyValues writes a policy as the form's values.
func policyValues(v url.Values, p service.Policy) {
	v.Set("allowed_domains", strings.Join(p.AllowedDomains, ", "))
	v.Set("invitations_per_day", strconv.Itoa(p.InvitationsPerDay))
	v.Set("default_expiry_days", strconv.Itoa(p.DefaultExpiryDays))
	v.Set("max_expiry_days", strconv.Itoa(p.MaxExpiryDays))
	v.Set("seat_limit", "")
	if p.SeatLimit != nil {
		v.Set("seat_limit", strconv.Itoa(*p.SeatLimit))
	}
	v.Set("who_can_invite", p.WhoCanInvite)
	v.Set("redirect_url", p.RedirectURL)
	v.Set("remind_after_days", "")
	if p.RemindAfterDays != nil {
		v.Set("remind_after_days", strconv.Itoa(*p.RemindAfterDays))
	}
}

func (h *Handler) settingsPage(rc *reqCtx) {
	h.showSettings(rc, newForm(nil), http.StatusOK)
}

// showSettings renders the page; fields f does not hold show what is stored.
func (h *Handler) showSettings(rc *reqCtx, f *form, status int) {
	ctx := rc.r.Context()
	p := rc.page("Organization settings", "settings")
	if !p.Can.Settings {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN,
			Message: "You need settings read permission on " + rc.Org.Name + " to see its settings. Ask an owner or admin."})
		return
	}
	stored := url.Values{"name": {rc.Org.Name}, "logo_url": {rc.Org.LogoURL}}
	pol, err := h.svc.Orgs.GetPolicy(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	policyValues(stored, pol)
	for k, v := range stored {
		if !f.Values.Has(k) {
			f.Values[k] = v
		}
	}
	d := settingsData{MaxDays: service.MaxInvitationDays, MaxLogoMB: service.MaxAvatarBytes >> 20}
	if v, err := h.svc.Orgs.LogoVersion(ctx, rc.Caller); err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	} else if v != 0 {
		d.LogoURL = "/org-logos/" + url.PathEscape(rc.Org.ID) + "?v=" + strconv.FormatInt(v, 10)
	}
	mfa, err := h.svc.Orgs.MFAPolicy(ctx, rc.Caller)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	d.RequireMFA, d.WithoutMFA = mfa.RequireMFA, mfa.WithoutMFA
	if d.SSO, err = h.svc.SSO.Connections(ctx, rc.Caller); err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return
	}
	if p.Can.Owner && p.Can.Members {
		ms, err := h.svc.Members.List(ctx, rc.Caller, "", gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
		if err != nil {
			h.failPage(rc.w, rc.r, rc, err)
			return
		}
		d.MoreMembers = ms.NextCursor != ""
		for _, m := range ms.Items {
			row, err := h.memberRow(rc, m, p.Can, false)
			if err != nil {
				h.failPage(rc.w, rc.r, rc, err)
				return
			}
			if !row.Owner && !row.Self {
				d.Candidates = append(d.Candidates, row)
			}
		}
	}
	p.Form = f
	p.Data = d
	h.renderStatus(rc.w, rc.r, status, "settings", p)
}

func (h *Handler) updateOrg(rc *reqCtx) {
	r := rc.r
	name, logo := r.PostFormValue("name"), r.PostFormValue("logo_url")
	o, err := h.svc.Orgs.Update(r.Context(), rc.Caller, &name, &logo)
	if err != nil {
		if statusOf(gatehouse.ErrorCode(err)) == http.StatusForbidden {
			h.failPage(rc.w, r, rc, err)
			return
		}
		f := newForm(url.Values{"name": {name}, "logo_url": {logo}})
		h.showSettings(rc, f, f.apply(err))
		return
	}
	rc.done("/settings", "Organization settings saved: it is called "+o.Name+".")
}

// number reads a whole number typed in a form field; ok is false (and the
// field marked) when it is not one.
func number(f *form, name, label string) (int, bool) {
	s := strings.TrimSpace(f.Get(name))
	n, err := strconv.Atoi(s)
	if err != nil {
		if s == "" {
			f.Set(name, label+" is required.")
		} else {
			f.Set(name, label+" must be a whole number.")
		}
		return 0, false
	}
	return n, true
}

// needSettingsWrite shows the 403 page unless the caller may change the
// organization's settings; ok says whether to go on.
func (h *Handler) needSettingsWrite(rc *reqCtx) bool {
	if rc.Can().SettingsWrite {
		return true
	}
	h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN,
		Message: "You need settings write permission to change the settings of " + rc.Org.Name + "."})
	return false
}

func (h *Handler) updatePolicy(rc *reqCtx) {
	r := rc.r
	if !h.needSettingsWrite(rc) {
		return
	}
	f := newForm(formValues(r, "allowed_domains", "invitations_per_day", "default_expiry_days", "max_expiry_days", "seat_limit", "who_can_invite", "redirect_url", "remind_after_days"))
	for _, k := range []string{"allowed_domains", "seat_limit", "redirect_url", "remind_after_days"} {
		if !f.Values.Has(k) {
			f.Values.Set(k, "")
		}
	}
	var patch service.PolicyPatch
	domains := append([]string{}, strings.FieldsFunc(f.Get("allowed_domains"), func(c rune) bool {
		return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t'
	})...)
	patch.AllowedDomains = &domains
	perDay, ok1 := number(f, "invitations_per_day", "Invitations per day")
	def, ok2 := number(f, "default_expiry_days", "Default expiry")
	maxDays, ok3 := number(f, "max_expiry_days", "Maximum expiry")
	patch.InvitationsPerDay, patch.DefaultExpiryDays, patch.MaxExpiryDays = &perDay, &def, &maxDays
	if strings.TrimSpace(f.Get("seat_limit")) == "" {
		patch.ClearSeatLimit = true
	} else if n, ok := number(f, "seat_limit", "Seat limit"); ok {
		patch.SeatLimit = &n
	}
	who := f.Get("who_can_invite")
	patch.WhoCanInvite = &who
	redirect := strings.TrimSpace(f.Get("redirect_url"))
	patch.RedirectURL = &redirect
	if strings.TrimSpace(f.Get("remind_after_days")) == "" {
		patch.ClearRemind = true
	} else if n, ok := number(f, "remind_after_days", "Reminder"); ok {
		patch.RemindAfterDays = &n
	}
	if !(ok1 && ok2 && ok3) || f.HasErrors() {
		f.Error = "Please correct the fields marked below."
		h.showSettings(rc, f, http.StatusBadRequest)
		return
	}
	if _, err := h.svc.Orgs.UpdatePolicy(r.Context(), rc.Caller, patch); err != nil {
		if statusOf(gatehouse.ErrorCode(err)) == http.StatusForbidden {
			h.failPage(rc.w, r, rc, err)
			return
		}
		// allowed_domains[2] is the text box as a whole here.
		if e := gatehouse.AsError(err); len(e.Fields) > 0 {
			for i, fe := range e.Fields {
				if strings.HasPrefix(fe.Field, "allowed_domains[") {
					n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(fe.Field, "allowed_domains["), "]"))
					e.Fields[i] = gatehouse.FieldError{Field: "allowed_domains", Message: "the domain “" + domains[min(n, len(domains)-1)] + "” is not a domain name such as example.com"}
				}
				e.Fields[i].Message = strings.ReplaceAll(e.Fields[i].Message, "max_expiry_days", "the maximum expiry")
			}
			err = e
		}
		h.showSettings(rc, f, f.apply(err))
		return
	}
	rc.done("/settings", "Invitation policy saved.")
}

func (h *Handler) updateMFAPolicy(rc *reqCtx) {
	if !h.needSettingsWrite(rc) {
		return
	}
	on := rc.r.PostFormValue("require_mfa") == "on"
	p, err := h.svc.Orgs.SetMFAPolicy(rc.r.Context(), rc.Caller, on)
	if err != nil {
		rc.fail("/settings#mfa", err)
		return
	}
	if !on {
		rc.done("/settings#mfa", "A second factor is no longer required in "+rc.Org.Name+".")
		return
	}
	msg := "Every member of " + rc.Org.Name + " now needs a second factor."
	if n := len(p.WithoutMFA); n > 0 {
		msg += " " + strconv.Itoa(n) + " member(s) without one are refused until they turn one on."
	}
	rc.done("/settings#mfa", msg)
}

func (h *Handler) transferOwnership(rc *reqCtx) {
	r := rc.r
	f := newForm(formValues(r, "user_id", "confirm_transfer"))
	if !rc.Can().Owner {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Only an owner can hand ownership of " + rc.Org.Name + " on."})
		return
	}
	if f.Get("confirm_transfer") != "on" {
		f.Set("confirm_transfer", "Tick the box to confirm that you become an admin.")
		if f.Get("user_id") == "" {
			f.Set("user_id", "Member is required.")
		}
		f.Error = "Please correct the fields marked below."
		h.showSettings(rc, f, http.StatusBadRequest)
		return
	}
	t, err := h.svc.Members.TransferOwnership(r.Context(), rc.Caller, r.PostFormValue("user_id"))
	if err != nil {
		e := gatehouse.AsError(err)
		if statusOf(e.Code) == http.StatusForbidden {
			h.failPage(rc.w, r, rc, err)
			return
		}
		status := f.apply(err)
		if e.Code == gatehouse.ENOTFOUND || (f.Err("user_id") == "" && f.Error != "") {
			f.Errors["user_id"] = e.Message
		}
		h.showSettings(rc, f, status)
		return
	}
	rc.done("/members", t.Owner.UserName+" is now the owner of "+rc.Org.Name+". You are an admin.")
}

func (h *Handler) deleteOrg(rc *reqCtx) {
	r := rc.r
	typed := r.PostFormValue("confirm_name")
	if !rc.Can().Owner {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "Only an owner can delete " + rc.Org.Name + "."})
		return
	}
	if strings.TrimSpace(typed) != rc.Org.Name {
		f := newForm(url.Values{"confirm_name": {typed}})
		if strings.TrimSpace(typed) == "" {
			f.Set("confirm_name", "Type the organization's name to confirm.")
		} else {
			f.Set("confirm_name", "That is not the organization's name. Type “"+rc.Org.Name+"” exactly.")
		}
		f.Error = "The organization was not deleted."
		h.showSettings(rc, f, http.StatusBadRequest)
		return
	}
	if err := h.svc.Orgs.Delete(r.Context(), rc.Caller); err != nil {
		rc.fail("/settings", err)
		return
	}
	msg := "Organization " + rc.Org.Name + " deleted, with its projects, members' access, invitations and keys."
	for _, o := range rc.Orgs {
		if o.ID == rc.Org.ID {
			continue
		}
		if next, err := h.svc.Orgs.Switch(r.Context(), rc.Actor(), rc.P, o.ID); err == nil {
			rc.done("/dashboard", msg+" You are now in "+next.Name+".")
			return
		}
	}
	rc.done("/orgs/new", msg)
}
