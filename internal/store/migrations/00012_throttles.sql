-- +goose Up
-- Throttle counters shared by every process (used on PostgreSQL; SQLite,
-- one process, keeps them in memory). tat is a token bucket's theoretical
-- arrival time (GCRA); n and last count consecutive failures for backoff.
-- A row is stale after expires_at.
CREATE TABLE throttles (
    key        TEXT PRIMARY KEY,
    tat        BIGINT NOT NULL DEFAULT 0,
    n          INTEGER NOT NULL DEFAULT 0,
    last       BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttles_expires ON throttles (expires_at);

-- +goose Down
DROP TABLE throttles;
