-- +goose Up
-- Where the browser goes after accepting ('' for the organization's default).
ALTER TABLE invitations ADD COLUMN redirect_url TEXT NOT NULL DEFAULT '';

-- One reminder per invitation: the link's token sealed with the secret key
-- (so the reminder carries the same link), when it is due, and reminded_at,
-- set by the one conditional UPDATE that claims it (so two processes never
-- both send it). The row goes with its invitation.
CREATE TABLE invitation_reminders (
    invitation_id TEXT PRIMARY KEY REFERENCES invitations (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL,
    token_sealed  BYTEA NOT NULL,
    remind_at     BIGINT,
    reminded_at   BIGINT
);
CREATE INDEX invitation_reminders_due ON invitation_reminders (remind_at) WHERE reminded_at IS NULL;
CREATE INDEX invitation_reminders_org ON invitation_reminders (org_id);

-- +goose Down
DROP TABLE invitation_reminders;
ALTER TABLE invitations DROP COLUMN redirect_url;
