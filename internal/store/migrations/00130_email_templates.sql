-- +goose Up
-- An organization's own email templates (kind: "invitation"), checked when
-- saved; without a row the built-in template is used.
CREATE TABLE email_templates (
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    body_html  TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind)
);

-- +goose Down
DROP TABLE email_templates;
