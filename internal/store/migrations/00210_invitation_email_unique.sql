-- +goose Up
-- One index by address instead of two (issue 17: each invitation wrote an
-- entry, at a random page, to both invitations_one_pending and
-- invitations_email_org_created). Its third column is '' for a pending
-- invitation and the invitation's own id otherwise, so the index is unique
-- exactly where the old partial index was: at most one pending invitation
-- per organization and address (what a concurrent second invitation to the
-- same address fails on, on both engines), any number of others. Look-ups
-- by address read its (email_norm, org_id) prefix — a handful of rows per
-- address — and sort those few by the list's order.
CREATE UNIQUE INDEX invitations_by_email ON invitations (email_norm, org_id, (CASE WHEN status = 'pending' THEN '' ELSE id END));
DROP INDEX invitations_one_pending;
DROP INDEX invitations_email_org_created;

-- +goose Down
CREATE INDEX invitations_email_org_created ON invitations (email_norm, org_id, created_at, id);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email_norm) WHERE status = 'pending';
DROP INDEX invitations_by_email;
