-- +goose Up
-- Custom roles of an organization; built-in roles live in code with fixed ids.
CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    grants      TEXT NOT NULL DEFAULT '[]',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX roles_org_created ON roles (org_id, created_at, id);

-- Invitations keep only the SHA-256 of their token.
CREATE TABLE invitations (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    email_norm     TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    role_id        TEXT,
    grants         TEXT NOT NULL DEFAULT '[]',
    authentication TEXT NOT NULL DEFAULT 'password',
    status         TEXT NOT NULL DEFAULT 'pending',
    token_hash     TEXT NOT NULL UNIQUE,
    valid_days     INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    accepted_by    TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    sent_at        BIGINT NOT NULL
);
-- At most one pending invitation per organization and address.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email_norm) WHERE status = 'pending';
CREATE INDEX invitations_org_created ON invitations (org_id, created_at, id);
CREATE INDEX invitations_org_status_created ON invitations (org_id, status, created_at, id);
CREATE INDEX invitations_email ON invitations (email_norm, status);
CREATE INDEX invitations_inviter ON invitations (org_id, created_by, status);

-- +goose Down
DROP TABLE invitations;
DROP TABLE roles;
