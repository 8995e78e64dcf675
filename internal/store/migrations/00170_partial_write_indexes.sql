-- +goose Up
-- Indexes that every invitation wrote an entry to for rows no query looks
-- for through them (issue 17: fewer B-tree writes per invitation). Each now
-- holds only the rows its queries ask for; the queries' own conditions imply
-- the indexes' WHERE, so both engines still use them.
--
-- Look-up by a replaced link's token (WHERE prev_token_hash = $1): only
-- resent invitations have one.
DROP INDEX invitations_prev_token;
CREATE INDEX invitations_prev_token ON invitations (prev_token_hash) WHERE prev_token_hash IS NOT NULL;
-- The janitor's purge of delivered mail (WHERE status = 'sent' AND
-- sent_at < $2): queued mail has no entry until it is sent.
DROP INDEX outbox_sent;
CREATE INDEX outbox_sent ON outbox (status, sent_at) WHERE status = 'sent';

-- +goose Down
DROP INDEX outbox_sent;
CREATE INDEX outbox_sent ON outbox (status, sent_at);
DROP INDEX invitations_prev_token;
CREATE INDEX invitations_prev_token ON invitations (prev_token_hash);
