-- +goose Up
-- The mail worker's due index holds only queued mail (issue 17): its claim
-- reads status = 'queued' only, yet every delivered message moved its
-- entry to status 'sent' and kept it there for as long as the message is
-- kept (one B-tree write per delivery, and an index as large as the
-- outbox). Failed messages, which the metrics count, get an index of their
-- own, as few as they are; the metrics read both counts through these
-- indexes instead of scanning the outbox.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_failed ON outbox (created_at) WHERE status = 'failed';

-- +goose Down
DROP INDEX outbox_failed;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
