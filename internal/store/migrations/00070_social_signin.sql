-- +goose Up
-- Accounts at outside identity providers (Google, GitHub, an organization's
-- SSO connection) linked to a user. provider is "google", "github" or
-- "sso:<connection id>"; subject is the provider's stable user id.
CREATE TABLE user_identities (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id, created_at);

-- Sign-in flows under way: the state is kept as SHA-256 only and is bound to
-- the browser by a short-lived cookie holding the state itself. A flow is
-- used once (used_at); the PKCE verifier is sealed with the secret key.
CREATE TABLE auth_flows (
    state_hash      TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    connection_id   TEXT NOT NULL DEFAULT '',
    nonce           TEXT NOT NULL DEFAULT '',
    verifier_sealed BYTEA,
    request_id      TEXT NOT NULL DEFAULT '',
    redirect_to     TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL DEFAULT '',
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX auth_flows_expires ON auth_flows (expires_at);

-- +goose Down
DROP TABLE auth_flows;
DROP TABLE user_identities;
