-- +goose Up
-- Passkeys (WebAuthn credentials). credential_id is the authenticator's
-- credential id (base64url), unique across all users; credential holds
-- go-webauthn's credential record as JSON (public key, flags, transports,
-- attestation), none of it secret. sign_count is kept apart so that it can
-- only move forward in one UPDATE.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    sign_count    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- A WebAuthn ceremony in progress: the SHA-256 of its challenge (never the
-- challenge itself), what it is for (register, login, mfa), the user it
-- belongs to ('' for a discoverable sign-in) and the rest of go-webauthn's
-- session data as JSON. Any process may finish it; it works once and
-- expires.
CREATE TABLE webauthn_challenges (
    hash       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    session    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
