-- +goose Up
-- An organization's second-factor policy, in its own table so that it
-- merges with any wider policy document: require_mfa refuses the
-- organization's requests to sessions opened without a second factor.
CREATE TABLE org_mfa_policy (
    org_id      TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    require_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE org_mfa_policy;
