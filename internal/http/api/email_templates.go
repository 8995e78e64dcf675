package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/http/respond"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerEmailTemplates() {
	const base = "/v1/organizations/{id}/email-templates/invitation"
	s.handle("GET "+base, s.orgScoped(s.handleGetEmailTemplate))
	s.handle("PUT "+base, s.orgScoped(s.handlePutEmailTemplate))
	s.handle("DELETE "+base, s.orgScoped(s.handleDeleteEmailTemplate))
	s.handle("POST "+base+"/preview", s.orgScoped(s.handlePreviewEmailTemplate))
	s.handle("POST "+base+"/test", s.orgScoped(s.handleTestEmailTemplate))
}

type emailTemplateJSON struct {
	Kind      string     `json:"kind"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	HTML      string     `json:"html"`
	Custom    bool       `json:"custom"`
	UpdatedBy *string    `json:"updated_by"`
	UpdatedAt *time.Time `json:"updated_at"`
	Variables []string   `json:"variables"`
}

func toEmailTemplateJSON(v *service.EmailTemplateView) emailTemplateJSON {
	out := emailTemplateJSON{Kind: v.Kind, Subject: v.Subject, Text: v.Text, HTML: v.HTML, Custom: v.Custom, Variables: mailer.InvitationVariables}
	if v.Custom {
		by, at := v.UpdatedBy, v.UpdatedAt
		out.UpdatedBy, out.UpdatedAt = &by, &at
	}
	return out
}

// templateBody is a template as sent to PUT, preview and test.
type templateBody struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// templateData is a preview's variables.
type templateData struct {
	InviterName      string `json:"inviter_name"`
	OrganizationName string `json:"organization_name"`
	AccessSummary    string `json:"access_summary"`
	AcceptURL        string `json:"accept_url"`
	ExpiresAt        string `json:"expires_at"`
}

func (s *Server) handleGetEmailTemplate(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	v, err := s.Services.EmailTemplates.Get(r.Context(), c)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toEmailTemplateJSON(v))
}

func (s *Server) handlePutEmailTemplate(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in templateBody
	if !decode(w, r, &in) {
		return
	}
	v, err := s.Services.EmailTemplates.Put(r.Context(), c, mailer.Template{Subject: in.Subject, Text: in.Text, HTML: in.HTML})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toEmailTemplateJSON(v))
}

func (s *Server) handleDeleteEmailTemplate(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.EmailTemplates.Delete(r.Context(), c); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

// renderInput reads {"template"?: {...}, "data"?: {...}} (an empty body
// renders the saved template with sample data).
func renderInput(w http.ResponseWriter, r *http.Request) (*mailer.Template, *mailer.InvitationVars, bool) {
	var in struct {
		Template *templateBody `json:"template"`
		Data     *templateData `json:"data"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return nil, nil, false
	}
	var tpl *mailer.Template
	var vars *mailer.InvitationVars
	if in.Template != nil {
		tpl = &mailer.Template{Subject: in.Template.Subject, Text: in.Template.Text, HTML: in.Template.HTML}
	}
	if d := in.Data; d != nil {
		vars = &mailer.InvitationVars{InviterName: d.InviterName, OrganizationName: d.OrganizationName,
			AccessSummary: d.AccessSummary, AcceptURL: d.AcceptURL, ExpiresAt: d.ExpiresAt}
	}
	return tpl, vars, true
}

func (s *Server) handlePreviewEmailTemplate(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	tpl, vars, ok := renderInput(w, r)
	if !ok {
		return
	}
	m, err := s.Services.EmailTemplates.Preview(r.Context(), c, tpl, vars)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML})
}

func (s *Server) handleTestEmailTemplate(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	tpl, vars, ok := renderInput(w, r)
	if !ok {
		return
	}
	to, err := s.Services.EmailTemplates.TestSend(r.Context(), c, tpl, vars)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"sent_to": to})
}
