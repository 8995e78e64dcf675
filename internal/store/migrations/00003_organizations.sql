-- +goose Up
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    logo_url   TEXT NOT NULL DEFAULT '',
    settings   TEXT NOT NULL DEFAULT '{}',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A membership's rights are its role's grants plus its own grants (JSON in
-- the permission grammar). role_id names a built-in or custom role.
CREATE TABLE memberships (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    TEXT,
    grants     TEXT NOT NULL DEFAULT '[]',
    invited_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, created_at);
CREATE INDEX memberships_org_created ON memberships (org_id, created_at, id);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX projects_org_created ON projects (org_id, created_at, id);

-- Folders form one tree per project; deleting a folder deletes its subtree.
CREATE TABLE folders (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    parent_id  TEXT REFERENCES folders (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Sibling names are unique ('' stands for the project's root).
CREATE UNIQUE INDEX folders_sibling_name ON folders (project_id, COALESCE(parent_id, ''), name);
CREATE INDEX folders_parent ON folders (project_id, parent_id, created_at, id);
CREATE INDEX folders_org ON folders (org_id);

-- +goose Down
DROP TABLE folders;
DROP TABLE projects;
DROP TABLE memberships;
DROP TABLE organizations;
