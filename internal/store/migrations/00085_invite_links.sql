-- +goose Up
-- Shareable invitation links keep only the SHA-256 of their token; uses
-- counts the joins, at most max_uses.
CREATE TABLE invite_links (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    role_id         TEXT,
    grants          TEXT NOT NULL DEFAULT '[]',
    allowed_domains TEXT NOT NULL DEFAULT '[]',
    max_uses        INTEGER NOT NULL,
    uses            INTEGER NOT NULL DEFAULT 0,
    revoked         INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX invite_links_org_created ON invite_links (org_id, created_at, id);

-- Who joined through a link: one use per account.
CREATE TABLE invite_link_uses (
    link_id    TEXT NOT NULL REFERENCES invite_links (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, user_id)
);

-- +goose Down
DROP TABLE invite_link_uses;
DROP TABLE invite_links;
