-- +goose Up
-- What the first step of a sign-in waiting for its second factor proved
-- (an amr value: pwd for a password, ext for Google or GitHub), so that
-- the session opened by the second step records both.
ALTER TABLE mfa_challenges ADD COLUMN first_factor TEXT NOT NULL DEFAULT 'pwd';

-- +goose Down
ALTER TABLE mfa_challenges DROP COLUMN first_factor;
