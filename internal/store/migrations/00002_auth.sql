-- +goose Up
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    email_norm     TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL DEFAULT '',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    avatar         BYTEA,
    avatar_type    TEXT NOT NULL DEFAULT '',
    avatar_version BIGINT NOT NULL DEFAULT 0,
    current_org_id TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Sessions keep only SHA-256 hashes of their tokens.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_hash        TEXT NOT NULL UNIQUE,
    access_expires_at  BIGINT NOT NULL,
    refresh_hash       TEXT NOT NULL UNIQUE,
    refresh_expires_at BIGINT NOT NULL,
    ip                 TEXT NOT NULL DEFAULT '',
    user_agent         TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- Refresh tokens already rotated away: presenting one again is reuse and
-- ends its session.
CREATE TABLE used_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    used_at    BIGINT NOT NULL
);
CREATE INDEX used_refresh_tokens_session ON used_refresh_tokens (session_id);

-- One-time codes, kept as keyed hashes (HMAC-SHA-256): six digits are too
-- few for a plain hash to hide them.
CREATE TABLE otps (
    id         TEXT PRIMARY KEY,
    email_norm TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX otps_email ON otps (email_norm, purpose, created_at);

CREATE TABLE reset_tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE reset_tokens;
DROP TABLE otps;
DROP TABLE used_refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
