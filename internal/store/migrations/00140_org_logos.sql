-- +goose Up
-- An organization's uploaded logo (cropped to a square PNG by the service),
-- in its own table so that reading an organization never loads the image.
CREATE TABLE org_logos (
    org_id       TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE org_logos;
