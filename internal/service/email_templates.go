package service

// An organization's own invitation email: kept checked (mail.Template.Check
// refuses unknown variables, functions and bad syntax when it is saved), used
// for every invitation mail of the organization when set, previewed and
// test-sent to the editor's own address.

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/cache"
	mailer "github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TemplateInvitation is the one kind of mail an organization may word.
const TemplateInvitation = "invitation"

// EmailTemplates manages organizations' email templates.
type EmailTemplates struct {
	*base
	testSends *Throttle
}

func newEmailTemplates(b *base) *EmailTemplates {
	return &EmailTemplates{base: b, testSends: b.throttle("template-test:", 10*time.Second, 5)}
}

// EmailTemplateView is a template as shown: the organization's own (Custom)
// or the built-in one written with the same variables.
type EmailTemplateView struct {
	mailer.Template
	Kind      string
	Custom    bool
	UpdatedBy string
	UpdatedAt time.Time
}

func templateView(t *store.EmailTemplate) *EmailTemplateView {
	if t == nil {
		return &EmailTemplateView{Template: mailer.DefaultInvitationTemplate, Kind: TemplateInvitation}
	}
	return &EmailTemplateView{Template: mailer.Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}, Kind: t.Kind,
		Custom: true, UpdatedBy: t.UpdatedBy, UpdatedAt: t.UpdatedAt}
}

// invalidTemplate is the 422 naming each problem of a template.
func invalidTemplate(errs []gatehouse.FieldError) error {
	return &gatehouse.Error{Code: gatehouse.EUNPROCESSABLE, Reason: "invalid_template",
		Message: "The template cannot be used: " + errs[0].Field + " " + errs[0].Message + ".", Fields: errs}
}

// Get shows the invitation template: organization settings read.
func (s *EmailTemplates) Get(ctx context.Context, c *Caller) (*EmailTemplateView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return nil, err
	}
	t, err := s.store.R().EmailTemplate(ctx, c.OrgID, TemplateInvitation)
	if err != nil {
		return nil, err
	}
	return templateView(t), nil
}

// Put saves the organization's invitation template: settings write. A
// template with any problem is refused (422 invalid_template) and nothing
// changes.
func (s *EmailTemplates) Put(ctx context.Context, c *Caller, in mailer.Template) (*EmailTemplateView, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return nil, err
	}
	if errs := in.Check(); len(errs) > 0 {
		return nil, invalidTemplate(errs)
	}
	t := &store.EmailTemplate{OrgID: c.OrgID, Kind: TemplateInvitation, Subject: in.Subject, Text: in.Text, HTML: in.HTML,
		UpdatedBy: c.Actor.ID, UpdatedAt: s.now()}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		before, err := tx.EmailTemplate(ctx, c.OrgID, TemplateInvitation)
		if err != nil {
			return err
		}
		if err := tx.PutEmailTemplate(ctx, t); err != nil {
			return err
		}
		if err := tx.Notify(ctx, templateChanged(c.OrgID)); err != nil {
			return err
		}
		summary := map[string]any{"kind": TemplateInvitation, "subject": t.Subject, "html": t.HTML != "", "created": before == nil}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "organization.email_template_updated", "organization", c.OrgID, summary)
	})
	if err != nil {
		return nil, err
	}
	return templateView(t), nil
}

// Delete returns to the built-in template: settings write. Deleting when
// none is set changes nothing.
func (s *EmailTemplates) Delete(ctx context.Context, c *Caller) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		ok, err := tx.DeleteEmailTemplate(ctx, c.OrgID, TemplateInvitation)
		if err != nil || !ok {
			return err
		}
		if err := tx.Notify(ctx, templateChanged(c.OrgID)); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "organization.email_template_deleted", "organization", c.OrgID,
			map[string]any{"kind": TemplateInvitation})
	})
}

// render composes the invitation mail from tpl, or from the organization's
// saved template when tpl is nil (the built-in one when none is saved).
func (s *EmailTemplates) render(ctx context.Context, conn *store.Conn, orgID, to string, tpl *mailer.Template, v mailer.InvitationVars) (gatehouse.MailMessage, error) {
	if tpl != nil {
		if errs := tpl.Check(); len(errs) > 0 {
			return gatehouse.MailMessage{}, invalidTemplate(errs)
		}
		m, err := tpl.Render(to, v)
		if err != nil {
			return m, gatehouse.Internal(err)
		}
		return m, nil
	}
	return s.invitationMessage(ctx, conn, orgID, to, "", v, []string{v.AccessSummary})
}

// Preview renders a template (the given one, else the saved or built-in
// one) with the given variables, else sample ones: settings read.
func (s *EmailTemplates) Preview(ctx context.Context, c *Caller, tpl *mailer.Template, vars *mailer.InvitationVars) (gatehouse.MailMessage, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return gatehouse.MailMessage{}, err
	}
	v, err := s.previewVars(ctx, c, vars)
	if err != nil {
		return gatehouse.MailMessage{}, err
	}
	return s.render(ctx, s.store.R(), c.OrgID, "preview@example.com", tpl, v)
}

func (s *EmailTemplates) previewVars(ctx context.Context, c *Caller, vars *mailer.InvitationVars) (mailer.InvitationVars, error) {
	if vars != nil {
		for field, val := range map[string]string{"data.inviter_name": vars.InviterName, "data.organization_name": vars.OrganizationName,
			"data.access_summary": vars.AccessSummary, "data.accept_url": vars.AcceptURL, "data.expires_at": vars.ExpiresAt} {
			if len(val) > 2000 || !storableText(val) {
				return mailer.InvitationVars{}, fields(&gatehouse.FieldError{Field: field, Message: "must be text of at most 2000 bytes"})
			}
		}
		return *vars, nil
	}
	v := mailer.SampleInvitationVars
	if o, err := s.store.R().OrgByID(ctx, c.OrgID); err == nil {
		v.OrganizationName = o.Name
	}
	if c.Actor.Name != "" {
		v.InviterName = c.Actor.Name
	}
	v.AcceptURL = s.cfg.BaseURL + "/invitations/sample-token"
	return v, nil
}

// TestSend mails a rendered template (as Preview) to the caller's own
// address: signed-in users with settings write, a few a minute.
func (s *EmailTemplates) TestSend(ctx context.Context, c *Caller, tpl *mailer.Template, vars *mailer.InvitationVars) (string, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return "", err
	}
	if c.Principal == nil || c.Principal.Kind != gatehouse.PrincipalUser {
		return "", errUserOnly
	}
	u, err := s.store.R().UserByID(ctx, c.Principal.UserID)
	if err != nil {
		return "", err
	}
	v, err := s.previewVars(ctx, c, vars)
	if err != nil {
		return "", err
	}
	m, err := s.render(ctx, s.store.R(), c.OrgID, u.Email, tpl, v)
	if err != nil {
		return "", err
	}
	if err := s.testSends.Take(ctx, u.ID, "Too many test emails; wait a little."); err != nil {
		return "", err
	}
	m.Subject = "[Test] " + m.Subject
	m.Kind = "email_template_test"
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := s.mail(ctx, tx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "organization.email_template_tested", "organization", c.OrgID,
			map[string]any{"kind": TemplateInvitation, "to": u.Email})
	})
	return u.Email, err
}

// invitationMessage composes an invitation mail to to: the organization's
// template when it has one, the built-in one otherwise.
func (b *base) invitationMessage(ctx context.Context, conn *store.Conn, orgID, to, name string, v mailer.InvitationVars, access []string) (gatehouse.MailMessage, error) {
	t, err := b.templates.get(ctx, conn, orgID)
	if err != nil {
		return gatehouse.MailMessage{}, err
	}
	var m gatehouse.MailMessage
	if t != nil {
		m, err = mailer.Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}.Render(to, v)
	} else {
		m, err = mailer.ComposeInvitation(to, mailer.Invitation{Name: name, InviterName: v.InviterName,
			OrgName: v.OrganizationName, Access: access, Link: v.AcceptURL, ExpiresAt: v.ExpiresAt})
	}
	if err != nil {
		return m, gatehouse.Internal(err)
	}
	return m, nil
}

// accessSummary joins an access description into one line.
func accessSummary(access []string) string { return strings.Join(access, "; ") }

// templateChanged announces that an organization's invitation template was
// saved or deleted.
func templateChanged(orgID string) string { return "template:" + orgID }

// templateCache keeps each organization's invitation template (nil for the
// built-in one) between invitations: every invitation renders it, and it
// changes only through Put and Delete, which announce it (templateChanged;
// other processes hear it through the store's notifications). A deleted
// organization's entry goes with its "org" notification.
type templateCache struct {
	c *cache.Cache[*store.EmailTemplate]
}

func newTemplateCache(b *base) *templateCache {
	tc := &templateCache{c: cache.NewCache(b.cache, "email_templates", cache.Options[*store.EmailTemplate]{
		Weigh: func(t *store.EmailTemplate) int {
			if t == nil {
				return 8
			}
			return 96 + len(t.Subject) + len(t.Text) + len(t.HTML) + len(t.UpdatedBy)
		}})}
	b.store.Subscribe(func(msg string) {
		// store.FlushAll clears the whole shared cache (Access).
		if kind, org, _ := strings.Cut(msg, ":"); kind == "template" || kind == "org" {
			tc.c.Invalidate(org, TemplateInvitation)
		}
	})
	return tc
}

// get returns the organization's invitation template, loading it through
// conn on a miss.
func (tc *templateCache) get(ctx context.Context, conn *store.Conn, orgID string) (*store.EmailTemplate, error) {
	if t, ok := tc.c.Get(orgID, TemplateInvitation); ok {
		return t, nil
	}
	ticket := tc.c.Begin(orgID, TemplateInvitation)
	t, err := conn.EmailTemplate(ctx, orgID, TemplateInvitation)
	if err != nil {
		return nil, err
	}
	tc.c.Fill(ticket, orgID, TemplateInvitation, t)
	return t, nil
}
