-- +goose Up
-- The Vidbeo dialect's DELETE removes an accepted invitation from its list
-- while the membership stays; dismissed_at records that.
ALTER TABLE invitations ADD COLUMN dismissed_at BIGINT;

-- +goose Down
ALTER TABLE invitations DROP COLUMN dismissed_at;
