-- +goose Up
-- Every list reads its page through an index whose order is the list's
-- order (newest first: created_at, id), so a page costs the same at any age.

-- The audit list filters on the chain and on at most a few of actor,
-- action, target type and target id; each filter has its own ordered index.
CREATE INDEX audit_events_chain_created ON audit_events (chain_id, created_at, id);
CREATE INDEX audit_events_chain_actor ON audit_events (chain_id, actor_id, created_at, id);
CREATE INDEX audit_events_chain_action ON audit_events (chain_id, action, created_at, id);
CREATE INDEX audit_events_chain_target_type ON audit_events (chain_id, target_type, created_at, id);
CREATE INDEX audit_events_chain_target_id ON audit_events (chain_id, target_id, created_at, id);
-- Listed by chain, never by organization id: the chain index replaces it.
DROP INDEX audit_events_org_created;

-- A user's sessions, newest first (the old index lacked id, so SQLite
-- sorted every session of the user).
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id);
DROP INDEX sessions_user;

-- Invitations filtered by address within an organization.
CREATE INDEX invitations_org_email_created ON invitations (org_id, email_norm, created_at, id);

-- +goose Down
DROP INDEX invitations_org_email_created;
CREATE INDEX sessions_user ON sessions (user_id, created_at);
DROP INDEX sessions_user_created;
CREATE INDEX audit_events_org_created ON audit_events (org_id, created_at, id);
DROP INDEX audit_events_chain_target_id;
DROP INDEX audit_events_chain_target_type;
DROP INDEX audit_events_chain_action;
DROP INDEX audit_events_chain_actor;
DROP INDEX audit_events_chain_created;
