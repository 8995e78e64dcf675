-- +goose Up
-- Code requests count per (address, client address): the client that asked
-- for each code.
ALTER TABLE otps ADD COLUMN client TEXT NOT NULL DEFAULT '';

-- Wrong one-time codes per client address, across all accounts: a sliding
-- window shared by every process.
CREATE TABLE otp_wrong_codes (
    id     TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX otp_wrong_codes_client ON otp_wrong_codes (client, at);
CREATE INDEX otp_wrong_codes_at ON otp_wrong_codes (at);

-- One row per client address checking codes: locking it serialises that
-- client's checks, so that parallel guesses cannot all pass the count.
CREATE TABLE otp_guess_clients (
    client  TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE otp_guess_clients;
DROP TABLE otp_wrong_codes;
ALTER TABLE otps DROP COLUMN client;
