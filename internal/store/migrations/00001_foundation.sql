-- +goose Up
-- One schema for both engines: TEXT ids, BIGINT microsecond times,
-- BYTEA blobs (SQLite accepts the type name) and TEXT JSON.

-- Mail waiting for delivery. body holds the sealed (encrypted) text and HTML
-- and is erased once SMTP has delivered the message.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            BYTEA,
    kind            TEXT NOT NULL DEFAULT '',
    ref_id          TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, created_at);
CREATE INDEX outbox_created ON outbox (created_at, id);

-- Audit events; each organization's events (and the events outside any
-- organization, chain '-') form one hash chain ordered by seq.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    chain_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    org_id      TEXT,
    actor_kind  TEXT NOT NULL DEFAULT '',
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '{}',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (chain_id, seq)
);
CREATE INDEX audit_events_org_created ON audit_events (org_id, created_at, id);

-- The head of each hash chain. Updating its row serialises writers of one
-- chain on both engines.
CREATE TABLE audit_chains (
    chain_id  TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_chains;
DROP TABLE audit_events;
DROP TABLE outbox;
