-- +goose Up
-- The janitor finds what it may delete through these, so each of its
-- batches reads only the rows it deletes, however large the tables grow.
CREATE INDEX outbox_sent ON outbox (status, sent_at);
CREATE INDEX sessions_refresh_expiry ON sessions (refresh_expires_at);
CREATE INDEX otps_created ON otps (created_at);
CREATE INDEX reset_tokens_expiry ON reset_tokens (expires_at);
CREATE INDEX invitation_quota_second ON invitation_quota (second);
-- Pending and expired invitations whose token the janitor has not dropped yet.
CREATE INDEX invitations_token_expiry ON invitations (expires_at) WHERE status IN ('pending', 'expired') AND token_hash NOT LIKE 'expired:%';

-- +goose Down
DROP INDEX invitations_token_expiry;
DROP INDEX invitation_quota_second;
DROP INDEX reset_tokens_expiry;
DROP INDEX otps_created;
DROP INDEX sessions_refresh_expiry;
DROP INDEX outbox_sent;
