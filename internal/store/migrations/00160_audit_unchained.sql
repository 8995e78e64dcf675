-- +goose Up
-- Events recorded but not yet chained (PostgreSQL chains in a background
-- step, store/audit_defer.go): seq is negative until then. The chainer reads
-- them through this index, in the order it links them.
CREATE INDEX audit_events_unchained ON audit_events (chain_id, created_at, id) WHERE seq < 0;

-- +goose Down
DROP INDEX audit_events_unchained;
