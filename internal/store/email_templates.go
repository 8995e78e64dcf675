package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// EmailTemplate is an organization's own template of one kind of mail.
type EmailTemplate struct {
	OrgID     string
	Kind      string
	Subject   string
	Text      string
	HTML      string
	UpdatedBy string
	UpdatedAt time.Time
}

// EmailTemplate returns the organization's template of kind, or nil when it
// has none (the built-in one applies).
func (c *Conn) EmailTemplate(ctx context.Context, orgID, kind string) (*EmailTemplate, error) {
	t := EmailTemplate{OrgID: orgID, Kind: kind}
	var updated int64
	err := c.q.QueryRowContext(ctx, `SELECT subject, body_text, body_html, updated_by, updated_at FROM email_templates
		WHERE org_id = $1 AND kind = $2`, orgID, kind).Scan(&t.Subject, &t.Text, &t.HTML, &t.UpdatedBy, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err, "email template")
	}
	t.UpdatedAt = fromTS(updated)
	return &t, nil
}

// PutEmailTemplate creates or replaces the organization's template of its kind.
func (c *Conn) PutEmailTemplate(ctx context.Context, t *EmailTemplate) error {
	_, err := c.exec(ctx, `INSERT INTO email_templates (org_id, kind, subject, body_text, body_html, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (org_id, kind) DO UPDATE SET subject = excluded.subject, body_text = excluded.body_text,
			body_html = excluded.body_html, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		t.OrgID, t.Kind, t.Subject, t.Text, t.HTML, t.UpdatedBy, ts(t.UpdatedAt))
	return err
}

// DeleteEmailTemplate removes the organization's template of kind; false
// when there was none.
func (c *Conn) DeleteEmailTemplate(ctx context.Context, orgID, kind string) (bool, error) {
	res, err := c.exec(ctx, `DELETE FROM email_templates WHERE org_id = $1 AND kind = $2`, orgID, kind)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
