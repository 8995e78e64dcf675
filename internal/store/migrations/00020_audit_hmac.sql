-- +goose Up
-- The audit chain is sealed with HMAC-SHA-256 under a key derived from the
-- secret key; each event names the key that sealed it ('' for the plain
-- SHA-256 events written before this migration).
ALTER TABLE audit_events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
-- The carried-over prefix of a chain: its first legacy_seq events may be
-- plain SHA-256, and legacy_seal (key id ":" HMAC of the chain id, seq and
-- hash of event legacy_seq) fixes where that prefix ends.
ALTER TABLE audit_chains ADD COLUMN legacy_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chains ADD COLUMN legacy_seal TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_chains DROP COLUMN legacy_seal;
ALTER TABLE audit_chains DROP COLUMN legacy_seq;
ALTER TABLE audit_events DROP COLUMN key_id;
