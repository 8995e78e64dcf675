-- +goose Up
-- Invitations sent per organization and second: the daily limit sums at
-- most a day of these rows instead of counting every invitation.
CREATE TABLE invitation_quota (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    second BIGINT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (org_id, second)
);

-- +goose Down
DROP TABLE invitation_quota;
