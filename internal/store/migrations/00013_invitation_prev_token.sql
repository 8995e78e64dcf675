-- +goose Up
-- The token a resend replaced, so that its link can say a newer invitation
-- was sent (one per invitation: the latest replaced).
ALTER TABLE invitations ADD COLUMN prev_token_hash TEXT;
CREATE INDEX invitations_prev_token ON invitations (prev_token_hash);

-- +goose Down
DROP INDEX invitations_prev_token;
ALTER TABLE invitations DROP COLUMN prev_token_hash;
