-- +goose Up
-- Organizations' single sign-on connections. The OIDC client secret is
-- sealed with the secret key (AES-GCM) and never shown again.
CREATE TABLE sso_connections (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    type                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    issuer               TEXT NOT NULL DEFAULT '',
    client_id            TEXT NOT NULL DEFAULT '',
    client_secret_sealed BYTEA,
    idp_metadata_xml     TEXT NOT NULL DEFAULT '',
    idp_metadata_url     TEXT NOT NULL DEFAULT '',
    enforced             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX sso_connections_org ON sso_connections (org_id, created_at, id);

-- The email domains each connection signs in: a domain belongs to one
-- connection at most, so an address leads to one identity provider.
CREATE TABLE sso_domains (
    domain        TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL
);
CREATE INDEX sso_domains_connection ON sso_domains (connection_id);

-- SAML assertion ids already used, until they expire: a replay is refused.
CREATE TABLE saml_assertions (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX saml_assertions_expires ON saml_assertions (expires_at);

-- A session opened through an organization's SSO connection says which.
ALTER TABLE sessions ADD COLUMN sso_connection_id TEXT;
ALTER TABLE sessions ADD COLUMN sso_org_id TEXT;

-- +goose Down
ALTER TABLE sessions DROP COLUMN sso_org_id;
ALTER TABLE sessions DROP COLUMN sso_connection_id;
DROP TABLE saml_assertions;
DROP TABLE sso_domains;
DROP TABLE sso_connections;
