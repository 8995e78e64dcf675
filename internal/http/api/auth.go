package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

func (s *Server) registerAuth() {
	s.handle("POST /v1/auth/register", s.handleRegister)
	s.handle("POST /v1/auth/verify-email", s.handleVerifyEmail)
	s.handle("POST /v1/auth/resend-otp", s.handleResendOTP)
	s.handle("POST /v1/auth/login", s.handleLogin)
	s.handle("POST /v1/auth/refresh", s.handleRefresh)
	s.handle("POST /v1/auth/logout", s.authed(s.handleLogout))
	s.handle("POST /v1/auth/forgot-password", s.handleForgotPassword)
	s.handle("POST /v1/auth/forgot-password/verify", s.handleForgotPasswordVerify)
	s.handle("POST /v1/auth/forgot-password/set", s.handleForgotPasswordSet)
	s.handle("POST /v1/auth/set-password", s.authed(s.handleSetPassword))
	s.handle("PUT /v1/auth/password", s.authed(s.handleChangePassword))
	s.handle("POST /v1/auth/account-exists", s.handleAccountExists)
	s.handle("GET /v1/auth/sessions", s.authed(s.handleListSessions))
	s.handle("DELETE /v1/auth/sessions/{id}", s.authed(s.handleDeleteSession))
	s.handle("GET /v1/auth/api-access-check", s.authed(s.handleAPIAccessCheck))
}

// userJSON is a user as the API shows it.
type userJSON struct {
	ID                    string    `json:"id"`
	Email                 string    `json:"email"`
	Name                  string    `json:"name"`
	EmailVerified         bool      `json:"email_verified"`
	HasPassword           bool      `json:"has_password"`
	AvatarURL             *string   `json:"avatar_url"`
	CurrentOrganizationID *string   `json:"current_organization_id"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

func (s *Server) userJSON(u *gatehouse.User) userJSON {
	out := userJSON{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified, HasPassword: u.HasPassword(),
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.AvatarType != "" {
		url := s.BaseURL + "/v1/users/" + u.ID + "/avatar?v=" + itoa(u.AvatarVersion)
		out.AvatarURL = &url
	}
	if u.CurrentOrgID != "" {
		org := u.CurrentOrgID
		out.CurrentOrganizationID = &org
	}
	return out
}

type tokensJSON struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	SessionID    string   `json:"session_id"`
	User         userJSON `json:"user"`
}

func (s *Server) tokensJSON(t *gatehouse.Tokens, u *gatehouse.User) tokensJSON {
	return tokensJSON{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer",
		ExpiresIn: int(t.ExpiresIn.Seconds()), SessionID: t.SessionID, User: s.userJSON(u)}
}

// decode reads the body into v, answering the error itself; false means stop.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := respond.Decode(w, r, v); err != nil {
		respond.Error(w, r, err)
		return false
	}
	return true
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := s.Services.Auth.Register(r.Context(), middleware.Actor(r, nil), registerInput(in.Name, in.Email, in.Password))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"user": s.userJSON(u)})
}

func (s *Server) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		OTP   string `json:"otp"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := s.Services.Auth.VerifyEmail(r.Context(), middleware.Actor(r, nil), in.Email, in.OTP)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"user": s.userJSON(u)})
}

func (s *Server) handleResendOTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email   string `json:"email"`
		Purpose string `json:"purpose"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.ResendOTP(r.Context(), middleware.Actor(r, nil), in.Email, in.Purpose); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"status": "accepted",
		"detail": "If an account needs a code for this address, it is on its way."})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, u, ch, err := s.Services.Auth.LoginStart(r.Context(), middleware.Actor(r, nil), in.Email, in.Password)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if ch != nil { // the second factor comes next (mfa.go)
		respond.JSON(w, http.StatusOK, mfaRequiredJSON(ch))
		return
	}
	respond.JSON(w, http.StatusOK, s.tokensJSON(t, u))
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, u, err := s.Services.Auth.Refresh(r.Context(), middleware.Actor(r, nil), in.RefreshToken)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.tokensJSON(t, u))
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if err := s.Services.Auth.Logout(r.Context(), middleware.Actor(r, p), p); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.ForgotPassword(r.Context(), middleware.Actor(r, nil), in.Email); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"status": "accepted",
		"detail": "If an account exists for this address, a reset code is on its way."})
}

func (s *Server) handleForgotPasswordVerify(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		OTP   string `json:"otp"`
	}
	if !decode(w, r, &in) {
		return
	}
	token, err := s.Services.Auth.ForgotPasswordVerify(r.Context(), middleware.Actor(r, nil), in.Email, in.OTP)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"reset_token": token, "expires_in": 900})
}

func (s *Server) handleForgotPasswordSet(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ResetToken string `json:"reset_token"`
		Password   string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.ForgotPasswordSet(r.Context(), middleware.Actor(r, nil), in.ResetToken, in.Password); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.SetPassword(r.Context(), middleware.Actor(r, p), p, in.Password); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.ChangePassword(r.Context(), middleware.Actor(r, p), p, in.CurrentPassword, in.NewPassword); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleAccountExists(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if !decode(w, r, &in) {
		return
	}
	ok, err := s.Services.Auth.AccountExists(r.Context(), middleware.Actor(r, nil), in.Email)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]bool{"exists": ok})
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
	AMR        []string  `json:"amr"`
}

func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.Session], error) {
		return s.Services.Auth.Sessions(r.Context(), p, page)
	}, func(ss *gatehouse.Session) sessionJSON {
		return sessionJSON{ID: ss.ID, CreatedAt: ss.CreatedAt, LastUsedAt: ss.LastUsedAt, IP: ss.IP, UserAgent: ss.UserAgent, Current: ss.ID == p.SessionID, AMR: ss.AMR}
	})
}

func (s *Server) handleDeleteSession(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	if err := s.Services.Auth.EndSession(r.Context(), middleware.Actor(r, p), p, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleAPIAccessCheck(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	out := map[string]any{"kind": p.Kind, "id": p.ID(), "name": p.Name, "organization_id": nil}
	if p.Kind == gatehouse.PrincipalUser {
		u, err := s.Services.Auth.Me(r.Context(), p)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		out["email"], out["name"] = u.Email, u.Name
		if u.CurrentOrgID != "" {
			out["organization_id"] = u.CurrentOrgID
		}
	} else if p.OrgID != "" {
		out["organization_id"] = p.OrgID
	}
	respond.JSON(w, http.StatusOK, out)
}
