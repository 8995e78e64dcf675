-- +goose Up
-- Refresh tokens are derived from the session (HMAC under the secret key of
-- its id, a generation and refresh_seed): a rotation bumps refresh_gen, and a
-- token of an older generation is recognised as reuse without keeping a
-- row per rotation. rotated_at lets a concurrent refresh with the previous
-- generation (two tabs) receive the current tokens for a few seconds.
-- used_refresh_tokens only serves tokens issued before this migration.
ALTER TABLE sessions ADD COLUMN refresh_seed TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN refresh_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sessions DROP COLUMN rotated_at;
ALTER TABLE sessions DROP COLUMN refresh_gen;
ALTER TABLE sessions DROP COLUMN refresh_seed;
