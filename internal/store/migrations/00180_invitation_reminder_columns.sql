-- +goose Up
-- An invitation's reminder moves into its row (issue 17): the reminder was
-- one row per invitation (1:1, written with it), so each invitation wrote a
-- second table's row, primary key and organization index. The columns mean
-- what the table's did: the link's token sealed with the secret key (so the
-- reminder carries the same link; NULL once the invitation is no longer
-- pending or has expired), when the reminder is due (NULL: none), and
-- reminded_at, set by the one conditional UPDATE that claims it. Only due
-- reminders are indexed: without a reminder policy an invitation adds no
-- index entry for it.
ALTER TABLE invitations ADD COLUMN token_sealed BYTEA;
ALTER TABLE invitations ADD COLUMN remind_at BIGINT;
ALTER TABLE invitations ADD COLUMN reminded_at BIGINT;
UPDATE invitations SET
    token_sealed = (SELECT r.token_sealed FROM invitation_reminders r WHERE r.invitation_id = invitations.id),
    remind_at = (SELECT r.remind_at FROM invitation_reminders r WHERE r.invitation_id = invitations.id),
    reminded_at = (SELECT r.reminded_at FROM invitation_reminders r WHERE r.invitation_id = invitations.id)
WHERE status = 'pending' AND id IN (SELECT invitation_id FROM invitation_reminders);
DROP TABLE invitation_reminders;
CREATE INDEX invitations_remind_due ON invitations (remind_at) WHERE reminded_at IS NULL AND remind_at IS NOT NULL;

-- +goose Down
CREATE TABLE invitation_reminders (
    invitation_id TEXT PRIMARY KEY REFERENCES invitations (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL,
    token_sealed  BYTEA NOT NULL,
    remind_at     BIGINT,
    reminded_at   BIGINT
);
CREATE INDEX invitation_reminders_due ON invitation_reminders (remind_at) WHERE reminded_at IS NULL;
CREATE INDEX invitation_reminders_org ON invitation_reminders (org_id);
INSERT INTO invitation_reminders (invitation_id, org_id, token_sealed, remind_at, reminded_at)
    SELECT id, org_id, token_sealed, remind_at, reminded_at FROM invitations WHERE token_sealed IS NOT NULL;
DROP INDEX invitations_remind_due;
ALTER TABLE invitations DROP COLUMN reminded_at;
ALTER TABLE invitations DROP COLUMN remind_at;
ALTER TABLE invitations DROP COLUMN token_sealed;
