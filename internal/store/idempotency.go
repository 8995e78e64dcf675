package store

import (
	"context"
	"time"
)

// IdempotencyRecord is what an earlier request with the same key left.
type IdempotencyRecord struct {
	RequestHash string
	Status      int // 0 while the first request runs
	ContentType string
	Body        []byte
}

// ClaimIdempotencyKey claims keyHash for a request, forgetting a record
// older than ttl first. It returns nil when the claim is this request's
// (one winner across processes: the primary key decides), else the record
// already there.
func (c *Conn) ClaimIdempotencyKey(ctx context.Context, keyHash, requestHash string, now time.Time, ttl time.Duration) (*IdempotencyRecord, error) {
	if _, err := c.exec(ctx, `DELETE FROM idempotency_keys WHERE key_hash = $1 AND created_at < $2`, keyHash, ts(now.Add(-ttl))); err != nil {
		return nil, err
	}
	// Every claim also forgets a few expired records of anyone, so the
	// table stays about a day of keys without a janitor step.
	if _, err := c.exec(ctx, `DELETE FROM idempotency_keys WHERE key_hash IN
		(SELECT key_hash FROM idempotency_keys WHERE created_at < $1 LIMIT 20)`, ts(now.Add(-ttl))); err != nil {
		return nil, err
	}
	res, err := c.exec(ctx, `INSERT INTO idempotency_keys (key_hash, request_hash, status, created_at) VALUES ($1, $2, 0, $3)
		ON CONFLICT (key_hash) DO NOTHING`, keyHash, requestHash, ts(now))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	var r IdempotencyRecord
	var body string
	err = c.q.QueryRowContext(ctx, `SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE key_hash = $1`, keyHash).
		Scan(&r.RequestHash, &r.Status, &r.ContentType, &body)
	if err != nil {
		return nil, c.wrap(err, "idempotency key")
	}
	r.Body = []byte(body)
	return &r, nil
}

// FinishIdempotencyKey stores the answer of the request that claimed keyHash.
func (c *Conn) FinishIdempotencyKey(ctx context.Context, keyHash string, status int, contentType string, body []byte) error {
	_, err := c.exec(ctx, `UPDATE idempotency_keys SET status = $2, content_type = $3, body = $4 WHERE key_hash = $1`, keyHash, status, contentType, string(body))
	return err
}

// ReleaseIdempotencyKey forgets a claim whose request failed on the
// server's side, so that a retry runs again.
func (c *Conn) ReleaseIdempotencyKey(ctx context.Context, keyHash string) error {
	_, err := c.exec(ctx, `DELETE FROM idempotency_keys WHERE key_hash = $1`, keyHash)
	return err
}
