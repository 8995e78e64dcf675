-- +goose Up
-- SCIM 2.0 provisioning tokens of an organization: only the SHA-256 of the
-- bearer secret is kept, and a short prefix to tell tokens apart.
-- created_by is the member who made it: the token never does more than
-- they can do now.
CREATE TABLE scim_tokens (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scim_tokens_org_created ON scim_tokens (org_id, created_at, id);

-- What the organization's identity provider said about a user it
-- provisioned: userName, externalId and names. The user is active while
-- their membership exists; a deactivated user keeps this row, with the role
-- and grants their membership had (restored by active: true).
CREATE TABLE scim_users (
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name      TEXT NOT NULL,
    user_name_norm TEXT NOT NULL,
    external_id    TEXT NOT NULL DEFAULT '',
    given_name     TEXT NOT NULL DEFAULT '',
    family_name    TEXT NOT NULL DEFAULT '',
    role_id        TEXT NOT NULL DEFAULT '',
    grants         TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (org_id, user_name_norm);
CREATE INDEX scim_users_external_id ON scim_users (org_id, external_id);

-- +goose Down
DROP TABLE scim_users;
DROP TABLE scim_tokens;
