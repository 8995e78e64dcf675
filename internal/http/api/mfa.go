package api

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/middleware"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerMFA() {
	s.handle("GET /v1/me/mfa", s.authed(s.handleMFAStatus))
	s.handle("POST /v1/me/mfa/totp", s.authed(s.handleStartTOTP))
	s.handle("POST /v1/me/mfa/totp/confirm", s.authed(s.handleConfirmTOTP))
	s.handle("DELETE /v1/me/mfa/totp", s.authed(s.handleDisableTOTP))
	s.handle("POST /v1/me/mfa/recovery-codes", s.authed(s.handleRecoveryCodes))
	s.handle("POST /v1/auth/mfa/verify", s.handleVerifyMFA)
}

// mfaRequiredJSON is a password sign-in's answer when a second factor must follow.
func mfaRequiredJSON(ch *service.MFAChallenge) map[string]any {
	out := map[string]any{"mfa_required": true, "mfa_token": ch.Token, "methods": ch.Methods, "expires_in": int(ch.ExpiresIn.Seconds())}
	if ch.PasskeyOptions != nil {
		out["passkey_options"] = ch.PasskeyOptions
	}
	return out
}

func (s *Server) handleMFAStatus(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	st, err := s.Services.Auth.MFA(r.Context(), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"totp_enabled": st.TOTP, "recovery_codes_left": st.RecoveryCodesLeft,
		"passkeys": st.Passkeys, "methods": st.Methods})
}

func (s *Server) handleStartTOTP(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	e, err := s.Services.Auth.StartTOTP(r.Context(), middleware.Actor(r, p), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"secret": e.Secret, "otpauth_url": e.OTPAuthURL, "qr_code": e.QRCode})
}

func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Code string `json:"code"`
	}
	if !decode(w, r, &in) {
		return
	}
	codes, err := s.Services.Auth.ConfirmTOTP(r.Context(), middleware.Actor(r, p), p, in.Code)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"totp_enabled": true, "recovery_codes": codes})
}

func (s *Server) handleDisableTOTP(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	var in struct {
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	if err := s.Services.Auth.DisableTOTP(r.Context(), middleware.Actor(r, p), p, in.Code, in.Password); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleRecoveryCodes(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) {
	codes, err := s.Services.Auth.NewRecoveryCodes(r.Context(), middleware.Actor(r, p), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
}

func (s *Server) handleVerifyMFA(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken   string          `json:"mfa_token"`
		Code       string          `json:"code"`
		Credential json.RawMessage `json:"credential"`
	}
	if !decode(w, r, &in) {
		return
	}
	var t *gatehouse.Tokens
	var u *gatehouse.User
	var err error
	if len(in.Credential) > 0 && in.Code == "" { // a passkey (passkeys.go)
		t, u, err = s.Services.Auth.VerifyMFAPasskey(r.Context(), middleware.Actor(r, nil), in.MFAToken, in.Credential)
	} else {
		t, u, err = s.Services.Auth.VerifyMFA(r.Context(), middleware.Actor(r, nil), in.MFAToken, in.Code)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, s.tokensJSON(t, u))
}
