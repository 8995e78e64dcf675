-- +goose Up
-- The organization a session acts in: each sign-in (browser, script) keeps
-- its own. users.current_org_id stays as the one last chosen, where a new
-- session starts.
ALTER TABLE sessions ADD COLUMN current_org_id TEXT;
UPDATE sessions SET current_org_id = (SELECT u.current_org_id FROM users u WHERE u.id = sessions.user_id);

-- +goose Down
ALTER TABLE sessions DROP COLUMN current_org_id;
