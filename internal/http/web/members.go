package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The Members tab: members with their access in words, edit, remove; the
// invite form; pending invitations with resend and cancel.

type memberRow struct {
	UserID, Name, Email, Role string
	Access                    []string
	Joined                    time.Time
	Self, Owner, LastOwner    bool
	CanEdit, CanRemove        bool
}

type invRow struct {
	ID, Email, Name, Status, Delivery, Role string
	Access                                  []string
	Created, Expires, Sent                  time.Time
	Pending                                 bool
	// ResendAt is when Resend is allowed again (a few minutes after a
	// send); until then the row says so instead of offering the button.
	ResendAt  time.Time
	CanResend bool
}

type membersData struct {
	Members     []memberRow
	Query       string
	Next        string
	Pending     []invRow
	PendingMore bool
	CanDelete   bool
}

func (h *Handler) describe(rc *reqCtx, role *gatehouse.Role, grants []gatehouse.Grant) []string {
	words, err := h.svc.Members.DescribeAccess(rc.r.Context(), rc.Caller, role, grants)
	if err != nil {
		h.cfg.Log.WarnContext(rc.r.Context(), "web: describe access", "err", err)
		return []string{"(could not be described)"}
	}
	return capitalize(words)
}

// capitalize starts each line of access in words with a capital.
func capitalize(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		out[i] = w
	}
	return out
}

func roleName(r *gatehouse.Role) string {
	if r == nil {
		return ""
	}
	return r.Name
}

func (h *Handler) memberRow(rc *reqCtx, m *service.MemberView, can caps, canDelete bool) (memberRow, error) {
	row := memberRow{UserID: m.UserID, Name: m.UserName, Email: m.UserEmail, Role: roleName(m.Role), Joined: m.CreatedAt,
		Self: m.UserID == rc.P.UserID}
	set, err := h.svc.Access.Compile(rc.r.Context(), service.CompileRequest{OrgID: rc.Caller.OrgID, RoleID: m.RoleID, Grants: m.Grants})
	if err != nil {
		return row, err
	}
	row.Owner, _ = set.Owner()
	row.Access = h.describe(rc, m.Role, m.Grants)
	holds := authz.Covers(rc.Caller.Rights, set)
	row.CanEdit = can.Invite && !row.Self && holds
	row.CanRemove = row.Self || (canDelete && holds)
	return row, nil
}

func (h *Handler) membersPage(rc *reqCtx) {
	ctx, r := rc.r.Context(), rc.r
	p := rc.page("Members", "members")
	if !p.Can.Members {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members read permission to see the members of " + rc.Org.Name + "."})
		return
	}
	q := r.URL.Query()
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	d := membersData{Query: strings.TrimSpace(q.Get("q"))}
	d.CanDelete, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Delete)
	ms, err := h.svc.Members.List(ctx, rc.Caller, d.Query, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d.Next = ms.NextCursor
	owners := 0
	for _, m := range ms.Items {
		row, err := h.memberRow(rc, m, p.Can, d.CanDelete)
		if err != nil {
			h.failPage(rc.w, r, rc, err)
			return
		}
		if row.Owner {
			owners++
		}
		d.Members = append(d.Members, row)
	}
	if owners == 1 && d.Query == "" && page.After == nil && d.Next == "" {
		for i := range d.Members {
			if d.Members[i].Owner {
				d.Members[i].LastOwner, d.Members[i].CanRemove = true, false
			}
		}
	}
	inv, err := h.svc.Invitations.List(ctx, rc.Caller, gatehouse.InvitationPending, "", gatehouse.PageRequest{Limit: 10})
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	for _, v := range inv.Items {
		d.Pending = append(d.Pending, h.invRow(rc, v))
	}
	d.PendingMore = inv.NextCursor != ""
	p.Data = d
	h.render(rc.w, r, "members", p)
}

func (h *Handler) invRow(rc *reqCtx, v *service.InvitationView) invRow {
	delivery := v.DeliveryStatus
	if delivery == "" {
		delivery = "unknown"
	}
	return invRow{ID: v.ID, Email: v.Email, Name: v.Name, Status: v.CurrentStatus, Delivery: delivery, Role: roleName(v.Role),
		Access: h.describe(rc, v.Role, v.Grants), Created: v.CreatedAt, Expires: v.ExpiresAt, Sent: v.SentAt,
		Pending:  v.CurrentStatus == gatehouse.InvitationPending,
		ResendAt: v.SentAt.Add(service.ResendInterval), CanResend: !h.cfg.Now().Before(v.SentAt.Add(service.ResendInterval))}
}

// The invite form.

type inviteData struct {
	Access accessView
}

var expiryChoices = []string{"1", "3", "7", "14", "30"}

func (h *Handler) invitePage(rc *reqCtx) {
	f := newForm(url.Values{"expires_in_days": {"7"}})
	h.showInvite(rc, f, newAccessState(), nil, http.StatusOK)
}

func (h *Handler) showInvite(rc *reqCtx, f *form, st *accessState, errs map[string]string, status int) {
	p := rc.page("Invite member", "members")
	if !p.Can.Invite {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members write permission to invite people to " + rc.Org.Name + "."})
		return
	}
	v, ok := h.pickerView(rc, f, st, errs, true)
	if !ok {
		return
	}
	p.Form = f
	p.Data = inviteData{Access: v}
	h.renderStatus(rc.w, rc.r, status, "invite", p)
}

func (h *Handler) invite(rc *reqCtx) {
	r := rc.r
	f, st, cat, ok := h.readAccessForm(rc, true)
	if !ok {
		return
	}
	grants, errs := st.grants(cat)
	in := service.InviteInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: st.Role, Grants: grants,
		Authentication: r.PostFormValue("authentication")}
	if days := r.PostFormValue("expires_in_days"); days != "" {
		n := 0
		for _, c := range days {
			if c < '0' || c > '9' || n > 1000 {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		in.ExpiresInDays = &n
	}
	// Many pasted addresses get the same access (bulkinvite.go).
	addrs := splitAddresses(r.PostFormValue("emails"))
	if len(addrs) > 0 && strings.TrimSpace(in.Email) != "" {
		addrs = append([]string{strings.TrimSpace(in.Email)}, addrs...)
	}
	if len(addrs) > 0 {
		if len(errs) > 0 {
			f.Error = "Please correct the fields marked below."
			h.showInvite(rc, f, st, errs, http.StatusBadRequest)
			return
		}
		h.inviteMany(rc, f, st, in, addrs)
		return
	}
	if len(errs) > 0 {
		// Check the rest too, so every mistake shows at once.
		if _, ferr := service.ValidateEmail("email", in.Email); ferr != nil {
			f.Set("email", messageFor("Email", ferr.Message))
		}
		f.Error = "Please correct the fields marked below."
		h.showInvite(rc, f, st, errs, http.StatusBadRequest)
		return
	}
	v, err := h.svc.Invitations.Create(r.Context(), rc.Caller, in)
	if err != nil {
		e := gatehouse.AsError(err)
		status := statusOf(e.Code)
		switch e.Reason {
		case "already_member", "invitation_pending":
			f.Set("email", e.Message)
			f.Error = "Please correct the fields marked below."
		default:
			status = f.apply(err)
		}
		h.showInvite(rc, f, st, nil, status)
		return
	}
	rc.done("/members", "Invitation sent to "+v.Email+". It expires on "+v.ExpiresAt.UTC().Format("2 Jan 2006")+".")
}

// Pending (and past) invitations.

type invitationsData struct {
	Status string
	Rows   []invRow
	Next   string
}

var invitationStatuses = []string{"", gatehouse.InvitationPending, gatehouse.InvitationAccepted, gatehouse.InvitationRejected, gatehouse.InvitationRevoked, gatehouse.InvitationExpired}

func (h *Handler) invitationsPage(rc *reqCtx) {
	r := rc.r
	p := rc.page("Invitations", "members")
	q := r.URL.Query()
	d := invitationsData{Status: q.Get("status")}
	if !r.URL.Query().Has("status") {
		d.Status = gatehouse.InvitationPending
	}
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	list, err := h.svc.Invitations.List(r.Context(), rc.Caller, d.Status, "", page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	for _, v := range list.Items {
		d.Rows = append(d.Rows, h.invRow(rc, v))
	}
	d.Next = list.NextCursor
	p.Data = d
	h.render(rc.w, r, "invitations", p)
}

// back is the local page a list form returns to.
func back(r *http.Request, def string) string {
	if b := safeNext(r.PostFormValue("back")); b != "" {
		return b
	}
	return def
}

func (h *Handler) resendInvitation(rc *reqCtx) {
	to := back(rc.r, "/members")
	v, err := h.svc.Invitations.Resend(rc.r.Context(), rc.Caller, rc.r.PathValue("id"))
	if err != nil {
		rc.fail(to, err)
		return
	}
	rc.done(to, "Invitation sent again to "+v.Email+" with a new link; the old link no longer works.")
}

func (h *Handler) cancelInvitation(rc *reqCtx) {
	to := back(rc.r, "/members")
	if err := h.svc.Invitations.Revoke(rc.r.Context(), rc.Caller, rc.r.PathValue("id")); err != nil {
		rc.fail(to, err)
		return
	}
	rc.done(to, "Invitation cancelled: its link no longer works.")
}

// Edit a member's access.

type editData struct {
	Member memberRow
	Access accessView
}

func (h *Handler) loadMember(rc *reqCtx) (*service.MemberView, memberRow, bool) {
	m, err := h.svc.Members.Get(rc.r.Context(), rc.Caller, rc.r.PathValue("user"))
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, memberRow{}, false
	}
	canDelete, _ := rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgMembers, authz.Delete)
	row, err := h.memberRow(rc, m, capsOf(rc.Caller), canDelete)
	if err != nil {
		h.failPage(rc.w, rc.r, rc, err)
		return nil, memberRow{}, false
	}
	return m, row, true
}

func (h *Handler) editMemberPage(rc *reqCtx) {
	m, row, ok := h.loadMember(rc)
	if !ok {
		return
	}
	h.showEdit(rc, row, newForm(nil), stateFromGrants(m.RoleID, m.Grants), nil, http.StatusOK)
}

func (h *Handler) showEdit(rc *reqCtx, row memberRow, f *form, st *accessState, errs map[string]string, status int) {
	p := rc.page("Edit "+row.Name, "members")
	if row.Self {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You cannot change your own permissions; ask another admin."})
		return
	}
	if !p.Can.Invite {
		h.failPage(rc.w, rc.r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need members write permission to change members' access."})
		return
	}
	v, ok := h.pickerView(rc, f, st, errs, true)
	if !ok {
		return
	}
	p.Form = f
	p.Data = editData{Member: row, Access: v}
	h.renderStatus(rc.w, rc.r, status, "member-edit", p)
}

func (h *Handler) editMember(rc *reqCtx) {
	r := rc.r
	_, row, ok := h.loadMember(rc)
	if !ok {
		return
	}
	f, st, cat, ok := h.readAccessForm(rc, true)
	if !ok {
		return
	}
	grants, errs := st.grants(cat)
	if len(errs) > 0 {
		f.Error = "Please correct the fields marked below."
		h.showEdit(rc, row, f, st, errs, http.StatusBadRequest)
		return
	}
	if _, err := h.svc.Members.UpdatePermissions(r.Context(), rc.Caller, row.UserID, service.UpdateInput{Role: st.Role, Grants: grants}); err != nil {
		status := f.apply(err)
		h.showEdit(rc, row, f, st, nil, status)
		return
	}
	rc.done("/members", "Access of "+row.Name+" updated.")
}

// Remove a member, after a confirmation page.

func (h *Handler) removeMemberPage(rc *reqCtx) {
	_, row, ok := h.loadMember(rc)
	if !ok {
		return
	}
	title := "Remove " + row.Name
	if row.Self {
		title = "Leave " + rc.Org.Name
	}
	p := rc.page(title, "members")
	p.Data = editData{Member: row}
	h.render(rc.w, rc.r, "member-remove", p)
}

func (h *Handler) removeMember(rc *reqCtx) {
	r := rc.r
	_, row, ok := h.loadMember(rc)
	if !ok {
		return
	}
	if err := h.svc.Members.Remove(r.Context(), rc.Caller, row.UserID); err != nil {
		rc.fail("/members", err)
		return
	}
	if row.Self {
		rc.done("/dashboard", "You left "+rc.Org.Name+".")
		return
	}
	rc.done("/members", row.Name+" ("+row.Email+") was removed from "+rc.Org.Name+".")
}

// messageFor writes a field message as a sentence: "Email is required."
func messageFor(label, msg string) string {
	for _, verb := range []string{"is ", "must ", "has ", "was ", "no longer "} {
		if strings.HasPrefix(msg, verb) {
			return label + " " + msg + "."
		}
	}
	if msg == "" {
		return label + " is not valid."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
