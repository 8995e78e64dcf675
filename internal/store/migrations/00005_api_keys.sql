-- +goose Up
-- API keys keep only the SHA-256 of their secret, and a short prefix of it
-- so people can tell keys apart.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    grants       TEXT NOT NULL DEFAULT '[]',
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_org_created ON api_keys (org_id, created_at, id);

-- +goose Down
DROP TABLE api_keys;
