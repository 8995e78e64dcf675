package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerInvitations() {
	for _, base := range []string{"/v1/members/invitations", "/v1/account/users/invitations"} {
		s.handle("POST "+base, s.scoped(s.handleCreateInvitation))
		s.handle("GET "+base, s.scoped(s.handleListInvitations))
		s.handle("GET "+base+"/{id}", s.scoped(s.handleGetInvitation))
		s.handle("DELETE "+base+"/{id}", s.scoped(s.handleRevokeInvitation))
		s.handle("POST "+base+"/{id}/resend", s.scoped(s.handleResendInvitation))
	}
	s.handle("GET /v1/invitations/{token}", s.handleShowInvitation)
	s.handle("POST /v1/invitations/{token}/accept", s.handleAcceptInvitation)
	s.handle("POST /v1/invitations/{token}/reject", s.handleRejectInvitation)
	s.handle("GET /v1/me/invitations", s.authed(s.handleMyInvitations))
	s.handle("POST /v1/me/invitations/{id}/accept", s.authed(s.handleAcceptMyInvitation))
	s.handle("POST /v1/me/invitations/{id}/reject", s.authed(s.handleRejectMyInvitation))
}

type roleRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type invitationJSON struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	Email          string            `json:"email"`
	Name           string            `json:"name"`
	Role           *roleRefJSON      `json:"role"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	Authentication string            `json:"authentication"`
	Status         string            `json:"status"`
	CreatedBy      string            `json:"created_by"`
	CreatedTime    time.Time         `json:"created_time"`
	UpdatedBy      *string           `json:"updated_by"`
	UpdatedTime    time.Time         `json:"updated_time"`
	ExpiresAt      time.Time         `json:"expires_at"`
	EmailStatus    *string           `json:"email_status"`
	RedirectURL    *string           `json:"redirect_url"`
}

func roleRef(r *gatehouse.Role) *roleRefJSON {
	if r == nil {
		return nil
	}
	return &roleRefJSON{ID: r.ID, Name: r.Name}
}

func toInvitationJSON(v *service.InvitationView) invitationJSON {
	out := invitationJSON{ID: v.ID, OrganizationID: v.OrgID, Email: v.Email, Name: v.Name, Role: roleRef(v.Role), Permissions: v.Grants,
		Authentication: v.Authentication, Status: v.CurrentStatus, CreatedBy: v.CreatedBy, CreatedTime: v.CreatedAt,
		UpdatedTime: v.UpdatedAt, ExpiresAt: v.ExpiresAt}
	if v.UpdatedBy != "" { // "" when no one signed in made the last change
		by := v.UpdatedBy
		out.UpdatedBy = &by
	}
	if out.Permissions == nil {
		out.Permissions = []gatehouse.Grant{}
	}
	if v.DeliveryStatus != "" {
		st := v.DeliveryStatus
		out.EmailStatus = &st
	}
	if v.RedirectURL != "" {
		u := v.RedirectURL
		out.RedirectURL = &u // null otherwise: the organization's applies
	}
	return out
}

func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Email          string            `json:"email"`
		Name           string            `json:"name"`
		Role           string            `json:"role"`
		Permissions    []gatehouse.Grant `json:"permissions"`
		Authentication string            `json:"authentication"`
		ExpiresInDays  *int              `json:"expires_in_days"`
		RedirectURL    string            `json:"redirect_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	v, err := s.Services.Invitations.Create(r.Context(), c, service.InviteInput{Email: in.Email, Name: in.Name, Role: in.Role,
		Grants: in.Permissions, Authentication: in.Authentication, ExpiresInDays: in.ExpiresInDays, RedirectURL: in.RedirectURL})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toInvitationJSON(v))
}

func (s *Server) handleListInvitations(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	q := r.URL.Query()
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*service.InvitationView], error) {
		return s.Services.Invitations.List(r.Context(), c, q.Get("status"), q.Get("email"), page)
	}, toInvitationJSON)
}

func (s *Server) handleGetInvitation(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	v, err := s.Services.Invitations.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toInvitationJSON(v))
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Invitations.Revoke(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleResendInvitation(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	v, err := s.Services.Invitations.Resend(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toInvitationJSON(v))
}

type previewJSON struct {
	ID               string            `json:"id"`
	OrganizationID   string            `json:"organization_id"`
	OrganizationName string            `json:"organization_name"`
	InviterName      string            `json:"inviter_name"`
	Email            string            `json:"email"`
	Name             string            `json:"name"`
	Role             *roleRefJSON      `json:"role"`
	Access           []string          `json:"access"`
	Permissions      []gatehouse.Grant `json:"permissions"`
	Authentication   string            `json:"authentication"`
	Status           string            `json:"status"`
	ExpiresAt        time.Time         `json:"expires_at"`
	AccountExists    bool              `json:"account_exists"`
}

func toPreviewJSON(p *service.Preview) previewJSON {
	inv := p.Invitation
	out := previewJSON{ID: inv.ID, OrganizationID: inv.OrgID, OrganizationName: p.OrgName, InviterName: p.InviterName, Email: inv.Email,
		Name: inv.Name, Role: roleRef(p.Role), Access: p.Access, Permissions: inv.Grants, Authentication: inv.Authentication,
		Status: p.Status, ExpiresAt: inv.ExpiresAt, AccountExists: p.AccountExists}
	if out.Permissions == nil {
		out.Permissions = []gatehouse.Grant{}
	}
	return out
}

// handleShowInvitation is public: the link's token is the credential.
func (s *Server) handleShowInvitation(w http.ResponseWriter, r *http.Request) {
	p, err := s.Services.Invitations.Show(r.Context(), middleware.Actor(r, nil), r.PathValue("token"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toPreviewJSON(p))
}

// optionalPrincipal authenticates when credentials are sent; bad ones are
// an error, none is fine.
func (s *Server) optionalPrincipal(r *http.Request) (*gatehouse.Principal, error) {
	token := bearer(r)
	if token == "" {
		return nil, nil
	}
	return s.Services.Auth.Authenticate(r.Context(), token)
}

type membershipJSON struct {
	OrganizationID string            `json:"organization_id"`
	UserID         string            `json:"user_id"`
	Role           *roleRefJSON      `json:"role"`
	Permissions    []gatehouse.Grant `json:"permissions"`
	JoinedAt       time.Time         `json:"joined_at"`
}

func (s *Server) acceptResponse(w http.ResponseWriter, r *http.Request, res *service.AcceptResult) {
	m := res.Membership
	body := map[string]any{"membership": membershipJSON{OrganizationID: m.OrgID, UserID: m.UserID, Permissions: m.Grants, JoinedAt: m.CreatedAt,
		Role: roleRef(res.Role)}, "user": s.userJSON(res.User)}
	body["redirect_url"] = nil
	if res.RedirectURL != "" {
		body["redirect_url"] = res.RedirectURL
	}
	if res.Tokens != nil {
		body["session"] = s.tokensJSON(res.Tokens, res.User)
		respond.JSON(w, http.StatusCreated, body)
		return
	}
	respond.JSON(w, http.StatusOK, body)
}

func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) {
	p, err := s.optionalPrincipal(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	res, err := s.Services.Invitations.Accept(r.Context(), middleware.Actor(r, p), p, r.PathValue("token"), service.AcceptInput{Name: in.Name, Password: in.Password})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	s.acceptResponse(w, r, res)
}

func (s *Server) handleRejectInvitation(w http.ResponseWriter, r *http.Request) {
	p, err := s.optionalPrincipal(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := s.Services.Invitations.Reject(r.Context(), middleware.Actor(r, p), r.PathValue("token")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"status": gatehouse.InvitationRejected})
}

func (s *Server) handleMyInvitations(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*service.Preview], error) {
		return s.Services.Invitations.Mine(r.Context(), p, page)
	}, toPreviewJSON)
}

func (s *Server) handleAcceptMyInvitation(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	res, err := s.Services.Invitations.AcceptByID(r.Context(), middleware.Actor(r, p), p, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	s.acceptResponse(w, r, res)
}

func (s *Server) handleRejectMyInvitation(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if err := s.Services.Invitations.RejectByID(r.Context(), middleware.Actor(r, p), p, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"status": gatehouse.InvitationRejected})
}
