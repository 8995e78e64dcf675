package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The page an invitation email links to: /invitations/<token>. It says who
// invites whom to what, in words, before anything is typed; then, as the
// case may be, accept or decline, sign in on the spot, or create the
// account (the email is the invitation's). Dead links (expired, revoked,
// used, declined), unknown links and a signed-in wrong account each get a
// page of their own. The token is only ever in this page's path and its
// forms' actions; Referrer-Policy no-referrer keeps it from leaving.

// Accept page cases.
const (
	caseAccept   = "accept"   // signed in as the invitee
	caseSignIn   = "signin"   // not signed in; the invitee has an account
	caseRegister = "register" // not signed in; no account yet
	caseWrong    = "wrong"    // signed in as someone else
	caseMember   = "member"   // signed in as the invitee, already a member
)

type acceptData struct {
	Token   string
	Case    string
	Preview *service.Preview
	User    *gatehouse.User
	// SSO is the connection an `authentication: sso` invitation is accepted
	// through; SSOSession whether this session came through it.
	SSO        *gatehouse.SSOConnection
	SSOSession bool
}

// showInvitation loads the link's invitation, or shows why it cannot be
// used; ok is false when a page was written.
func (h *Handler) showInvitation(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) (*service.Preview, bool) {
	pv, err := h.svc.Invitations.Show(r.Context(), middleware.Actor(r, p), r.PathValue("token"))
	if err == nil {
		return pv, true
	}
	e := gatehouse.AsError(err)
	d := messageData{Link: "/", LinkText: "Go to Gatehouse", Tone: "warn"}
	switch e.Code {
	case gatehouse.ENOTFOUND:
		d.Heading = "This invitation link is not valid"
		d.Text = "Check that you opened the whole link from the email. If it still does not work, ask the person who invited you to send a new invitation."
	case gatehouse.EGONE:
		st, _ := e.Extra["invitation_status"].(string)
		d.Heading = map[string]string{
			gatehouse.InvitationExpired:  "This invitation has expired",
			gatehouse.InvitationRevoked:  "This invitation was cancelled",
			gatehouse.InvitationAccepted: "This invitation has already been used",
			gatehouse.InvitationRejected: "This invitation was declined",
			"superseded":                 "A newer invitation was sent",
		}[st]
		d.Text = map[string]string{
			gatehouse.InvitationExpired:  "Invitation links work for a limited time, and this one has run out. Ask the person who invited you to send a new one.",
			gatehouse.InvitationRevoked:  "The organization cancelled it, so the link no longer works. If you still need access, ask them for a new invitation.",
			gatehouse.InvitationAccepted: "It was accepted already, so the link no longer works. If you accepted it, sign in to open the organization.",
			gatehouse.InvitationRejected: "It was declined, so the link no longer works. If that was a mistake, ask for a new invitation.",
			"superseded":                 "This invitation was sent again, with a new link, so this one no longer works. Open the link in the newest invitation email.",
		}[st]
		if d.Text == "" {
			d.Text = e.Message
		}
		if st == gatehouse.InvitationAccepted {
			d.Link, d.LinkText = "/login", "Sign in"
		}
		if d.Heading == "" {
			d.Heading = "This invitation can no longer be used"
		}
	case gatehouse.ERATELIMITED:
		d.Heading = "Too many attempts"
		d.Text = e.Message
	default:
		h.failPage(w, r, nil, err)
		return nil, false
	}
	h.renderStatus(w, r, statusOf(e.Code), "message", &page{Title: d.Heading, Layout: "auth", Data: d})
	return nil, false
}

func sameEmail(a, b string) bool { return store.NormalizeEmail(a) == store.NormalizeEmail(b) }

func (h *Handler) acceptPage(w http.ResponseWriter, r *http.Request) {
	p, _ := h.principal(w, r)
	pv, ok := h.showInvitation(w, r, p)
	if !ok {
		return
	}
	h.renderAccept(w, r, p, pv, newForm(nil), http.StatusOK)
}

// renderAccept picks the page's case from who is signed in.
func (h *Handler) renderAccept(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, pv *service.Preview, f *form, status int) {
	pv.Access = capitalize(pv.Access)
	d := acceptData{Token: r.PathValue("token"), Preview: pv}
	switch {
	case p != nil:
		u, err := h.svc.Auth.Me(r.Context(), p)
		if err != nil {
			h.failPage(w, r, nil, err)
			return
		}
		d.User = u
		d.Case = caseAccept
		if !sameEmail(u.Email, pv.Invitation.Email) {
			d.Case = caseWrong
			if status == http.StatusOK {
				status = http.StatusForbidden
			}
		} else if h.isMember(r, p, pv.Invitation.OrgID) {
			d.Case = caseMember
		}
	case pv.AccountExists:
		d.Case = caseSignIn
	default:
		d.Case = caseRegister
	}
	h.ssoAccept(r, p, &d)
	title := "Join " + pv.OrgName
	h.renderStatus(w, r, status, "accept", &page{Title: title, Layout: "auth", Form: f, Data: d})
}

func (h *Handler) isMember(r *http.Request, p *gatehouse.Principal, orgID string) bool {
	orgs, err := h.svc.Orgs.ListMine(r.Context(), p, gatehouse.PageRequest{Limit: gatehouse.MaxPageLimit})
	if err != nil {
		return false
	}
	for _, o := range orgs.Items {
		if o.ID == orgID {
			return true
		}
	}
	return false
}

// joined switches the new member to the organization and says welcome.
// With a redirect_url (the invitation's or the organization's, its origin
// allowed by GATEHOUSE_ALLOWED_REDIRECT_ORIGINS) the browser goes there.
func (h *Handler) joined(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, pv *service.Preview, res *service.AcceptResult) {
	if _, err := h.svc.Orgs.Switch(r.Context(), middleware.Actor(r, p), p, pv.Invitation.OrgID); err != nil {
		h.cfg.Log.WarnContext(r.Context(), "web: switch after accept", "err", err)
	}
	if res != nil && res.RedirectURL != "" {
		h.continueTo(w, r, pv.OrgName, res.RedirectURL)
		return
	}
	h.setFlash(w, "success", "Welcome to "+pv.OrgName+"! You joined as "+pv.Invitation.Email+".")
	redirect(w, r, "/dashboard")
}

// acceptFailed shows an accept error on the page, or the dead-link page
// when the invitation died meanwhile.
func (h *Handler) acceptFailed(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, pv *service.Preview, f *form, err error) {
	if gatehouse.ErrorCode(err) == gatehouse.EGONE {
		h.showInvitation(w, r, p)
		return
	}
	status := f.apply(err)
	h.renderAccept(w, r, p, pv, f, status)
}

func (h *Handler) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		redirect(w, r, "/invitations/"+url.PathEscape(r.PathValue("token")))
		return
	}
	pv, ok := h.showInvitation(w, r, p)
	if !ok {
		return
	}
	res, err := h.svc.Invitations.Accept(r.Context(), middleware.Actor(r, p), p, r.PathValue("token"), service.AcceptInput{})
	if err != nil {
		h.acceptFailed(w, r, p, pv, newForm(nil), err)
		return
	}
	h.joined(w, r, p, pv, res)
}

// acceptSignIn signs in as the invitee (the email is the invitation's,
// whatever the form says) and accepts.
func (h *Handler) acceptSignIn(w http.ResponseWriter, r *http.Request) {
	pv, ok := h.showInvitation(w, r, nil)
	if !ok {
		return
	}
	f := newForm(nil)
	t, _, err := h.svc.Auth.Login(r.Context(), middleware.Actor(r, nil), pv.Invitation.Email, r.PostFormValue("password"))
	if err != nil {
		e := gatehouse.AsError(err)
		if e.Reason == "invalid_credentials" || (len(e.Fields) == 0 && e.Code != gatehouse.EINTERNAL) {
			f.Set("password", e.Message)
			f.Error = "Please correct the fields marked below."
			h.renderAccept(w, r, nil, pv, f, statusOf(e.Code))
			return
		}
		h.acceptFailed(w, r, nil, pv, f, err)
		return
	}
	h.setSession(w, t)
	p, err := h.svc.Auth.Authenticate(r.Context(), t.AccessToken)
	if err != nil {
		h.failPage(w, r, nil, err)
		return
	}
	res, err := h.svc.Invitations.Accept(r.Context(), middleware.Actor(r, p), p, r.PathValue("token"), service.AcceptInput{})
	if err != nil {
		h.acceptFailed(w, r, p, pv, f, err)
		return
	}
	h.joined(w, r, p, pv, res)
}

// acceptRegister creates the invitee's account and accepts in one step.
func (h *Handler) acceptRegister(w http.ResponseWriter, r *http.Request) {
	pv, ok := h.showInvitation(w, r, nil)
	if !ok {
		return
	}
	f := newForm(formValues(r, "name"))
	password := r.PostFormValue("password")
	if password == "" {
		f.Set("password", "Password is required.")
	}
	if strings.TrimSpace(f.Get("name")) == "" {
		f.Set("name", "Name is required.")
	}
	if f.HasErrors() {
		f.Error = "Please correct the fields marked below."
		h.renderAccept(w, r, nil, pv, f, http.StatusBadRequest)
		return
	}
	res, err := h.svc.Invitations.Accept(r.Context(), middleware.Actor(r, nil), nil, r.PathValue("token"), service.AcceptInput{Name: f.Get("name"), Password: password})
	if err != nil {
		if gatehouse.AsError(err).Reason == "login_required" {
			pv.AccountExists = true
			f.Error = "An account already exists for " + pv.Invitation.Email + ": sign in to accept."
			h.renderAccept(w, r, nil, pv, f, http.StatusConflict)
			return
		}
		h.acceptFailed(w, r, nil, pv, f, err)
		return
	}
	h.setSession(w, res.Tokens)
	p, err := h.svc.Auth.Authenticate(r.Context(), res.Tokens.AccessToken)
	if err != nil {
		h.failPage(w, r, nil, err)
		return
	}
	h.joined(w, r, p, pv, res)
}

func (h *Handler) declineInvitation(w http.ResponseWriter, r *http.Request) {
	p, _ := h.principal(w, r)
	pv, ok := h.showInvitation(w, r, p)
	if !ok {
		return
	}
	if err := h.svc.Invitations.Reject(r.Context(), middleware.Actor(r, p), r.PathValue("token")); err != nil {
		h.acceptFailed(w, r, p, pv, newForm(nil), err)
		return
	}
	h.render(w, r, "message", &page{Title: "Invitation declined", Layout: "auth", Data: messageData{
		Heading: "Invitation declined",
		Text:    "You declined the invitation to " + pv.OrgName + ". Nothing was shared with you, and the link no longer works. If this was a mistake, ask " + inviterOr(pv) + " to invite you again.",
		Link:    "/", LinkText: "Go to Gatehouse",
	}})
}

func inviterOr(pv *service.Preview) string {
	if pv.InviterName != "" {
		return pv.InviterName
	}
	return "the organization"
}

// acceptSignOut signs the wrong account out and comes back to the link.
func (h *Handler) acceptSignOut(w http.ResponseWriter, r *http.Request) {
	if p, ok := h.principal(w, r); ok {
		if err := h.svc.Auth.Logout(r.Context(), middleware.Actor(r, p), p); err != nil {
			h.cfg.Log.WarnContext(r.Context(), "web: logout", "err", err)
		}
	}
	h.clearSession(w)
	redirect(w, r, "/invitations/"+url.PathEscape(r.PathValue("token")))
}

// continueTo welcomes a new member and sends the browser on to the
// redirect_url (whose origin the service checked against
// GATEHOUSE_ALLOWED_REDIRECT_ORIGINS), with a link for when it does not go.
func (h *Handler) continueTo(w http.ResponseWriter, r *http.Request, orgName, to string) {
	host := to
	if u, err := url.Parse(to); err == nil {
		host = u.Host
	}
	h.renderStatus(w, r, http.StatusOK, "message", &page{Title: "Welcome to " + orgName, Layout: "auth", Continue: to, Data: messageData{
		Heading: "Welcome to " + orgName + "!",
		Text:    "You joined. Taking you on to " + host + "…",
		Link:    to, LinkText: "Continue to " + host,
	}})
}
