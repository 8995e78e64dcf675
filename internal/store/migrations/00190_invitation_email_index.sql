-- +goose Up
-- One index by address instead of two (issue 17: fewer B-tree writes per
-- invitation; both were keyed by a random address, so each invitation
-- dirtied a page of each at every commit). Address first, then
-- organization and the list's order: the look-up of pending invitations to
-- an address across organizations reads its prefix (a handful of rows per
-- address, their status checked on the row), and an organization's list
-- filtered by address reads its range in list order, as
-- invitations_org_email_created did.
CREATE INDEX invitations_email_org_created ON invitations (email_norm, org_id, created_at, id);
DROP INDEX invitations_email;
DROP INDEX invitations_org_email_created;

-- +goose Down
CREATE INDEX invitations_org_email_created ON invitations (org_id, email_norm, created_at, id);
CREATE INDEX invitations_email ON invitations (email_norm, status);
DROP INDEX invitations_email_org_created;
