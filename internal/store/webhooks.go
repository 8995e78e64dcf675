package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
)

const webhookEndpointColumns = `id, org_id, url, description, events, enabled, disabled_reason, secret, prev_secret,
	prev_secret_until, failing_since, created_by, created_at, updated_at`

// sealSecret seals a secret that must be read back (a webhook signing
// secret, an SSO client secret) with the store's Box ("" → NULL).
func (c *Conn) sealSecret(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	b, err := c.s.box.Seal([]byte(s))
	if err != nil {
		return nil, gatehouse.Internal(fmt.Errorf("seal secret: %w", err))
	}
	return b, nil
}

func (c *Conn) scanWebhookEndpoint(row interface{ Scan(...any) error }) (*gatehouse.WebhookEndpoint, error) {
	var e gatehouse.WebhookEndpoint
	var events string
	var sealed, prev []byte
	var prevUntil, failing, created, updated int64
	if err := row.Scan(&e.ID, &e.OrgID, &e.URL, &e.Description, &events, &e.Enabled, &e.DisabledReason, &sealed, &prev,
		&prevUntil, &failing, &e.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, gatehouse.Internal(err)
	}
	for _, s := range []struct {
		sealed []byte
		dst    *string
	}{{sealed, &e.Secret}, {prev, &e.PrevSecret}} {
		if len(s.sealed) == 0 {
			continue
		}
		plain, err := c.s.box.Open(s.sealed)
		if err != nil {
			return nil, gatehouse.Internal(fmt.Errorf("open webhook secret %s: %w", e.ID, err))
		}
		*s.dst = string(plain)
	}
	e.PrevSecretUntil, e.FailingSince, e.CreatedAt, e.UpdatedAt = fromTS(prevUntil), fromTS(failing), fromTS(created), fromTS(updated)
	return &e, nil
}

// CreateWebhookEndpoint inserts an endpoint, its secrets sealed.
func (c *Conn) CreateWebhookEndpoint(ctx context.Context, e *gatehouse.WebhookEndpoint) error {
	args, err := c.webhookEndpointArgs(e)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	return err
}

// UpdateWebhookEndpoint writes every changeable field of an endpoint.
func (c *Conn) UpdateWebhookEndpoint(ctx context.Context, e *gatehouse.WebhookEndpoint) error {
	args, err := c.webhookEndpointArgs(e)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, events = $5, enabled = $6,
		disabled_reason = $7, secret = $8, prev_secret = $9, prev_secret_until = $10, failing_since = $11, updated_at = $12
		WHERE id = $1 AND org_id = $2`, append(args[:11], args[13])...)
	return err
}

// webhookEndpointArgs are an endpoint's column values, secrets sealed.
func (c *Conn) webhookEndpointArgs(e *gatehouse.WebhookEndpoint) ([]any, error) {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return nil, gatehouse.Internal(err)
	}
	sealed, err := c.sealSecret(e.Secret)
	if err != nil {
		return nil, err
	}
	prev, err := c.sealSecret(e.PrevSecret)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.OrgID, e.URL, e.Description, string(events), e.Enabled, e.DisabledReason, sealed, prev,
		ts(e.PrevSecretUntil), ts(e.FailingSince), e.CreatedBy, ts(e.CreatedAt), ts(e.UpdatedAt)}, nil
}

// WebhookEndpoint returns an endpoint of an organization, secrets opened.
func (c *Conn) WebhookEndpoint(ctx context.Context, orgID, id string) (*gatehouse.WebhookEndpoint, error) {
	e, err := c.scanWebhookEndpoint(c.q.QueryRowContext(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE org_id = $1 AND id = $2`, orgID, id))
	return e, notFound(c.wrap(err, "webhook endpoint"), "Webhook endpoint")
}

// ListWebhookEndpoints lists an organization's endpoints, newest first.
func (c *Conn) ListWebhookEndpoints(ctx context.Context, orgID string, p gatehouse.PageRequest) ([]*gatehouse.WebhookEndpoint, error) {
	q, args := keyset(`SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE org_id = $1`, []any{orgID}, p)
	return c.webhookEndpoints(ctx, q, args...)
}

func (c *Conn) webhookEndpoints(ctx context.Context, q string, args ...any) ([]*gatehouse.WebhookEndpoint, error) {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "webhook endpoints")
	}
	defer rows.Close()
	var out []*gatehouse.WebhookEndpoint
	for rows.Next() {
		e, err := c.scanWebhookEndpoint(rows)
		if err != nil {
			return nil, c.wrap(err, "scan webhook endpoint")
		}
		out = append(out, e)
	}
	return out, c.wrap(rows.Err(), "webhook endpoint rows")
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries.
func (c *Conn) DeleteWebhookEndpoint(ctx context.Context, orgID, id string) error {
	_, err := c.exec(ctx, `DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

// EnqueueWebhooks writes, inside the caller's transaction, one delivery of
// an audit event to each enabled endpoint of its organization that
// subscribes to its type, so the event commits or rolls back with the
// change. It returns how many it queued.
func (c *Conn) EnqueueWebhooks(ctx context.Context, e *gatehouse.AuditEvent) (int, error) {
	if !c.inTx {
		return 0, gatehouse.Internal(fmt.Errorf("EnqueueWebhooks outside a transaction"))
	}
	if e.OrgID == "" {
		return 0, nil
	}
	subs, err := c.WebhookSubscriptions(ctx, e.OrgID)
	if err != nil {
		return 0, err
	}
	return c.EnqueueWebhooksTo(ctx, e, subs)
}

// WebhookSubscriptions returns the enabled endpoints of an organization,
// only their ids and subscriptions (Events): this is read for every audited
// change, so it opens no secrets.
func (c *Conn) WebhookSubscriptions(ctx context.Context, orgID string) ([]*gatehouse.WebhookEndpoint, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT id, events FROM webhook_endpoints WHERE org_id = $1 AND enabled`, orgID)
	if err != nil {
		return nil, c.wrap(err, "webhook subscriptions")
	}
	defer rows.Close()
	var eps []*gatehouse.WebhookEndpoint
	for rows.Next() {
		ep := &gatehouse.WebhookEndpoint{OrgID: orgID}
		var events string
		if err := rows.Scan(&ep.ID, &events); err != nil {
			return nil, c.wrap(err, "scan webhook subscription")
		}
		if err := json.Unmarshal([]byte(events), &ep.Events); err != nil {
			return nil, gatehouse.Internal(err)
		}
		eps = append(eps, ep)
	}
	return eps, c.wrap(rows.Err(), "webhook subscription rows")
}

// EnqueueWebhooksTo is EnqueueWebhooks with the organization's
// subscriptions already read (WebhookSubscriptions; the services keep them
// between changes).
func (c *Conn) EnqueueWebhooksTo(ctx context.Context, e *gatehouse.AuditEvent, subs []*gatehouse.WebhookEndpoint) (int, error) {
	if !c.inTx {
		return 0, gatehouse.Internal(fmt.Errorf("EnqueueWebhooks outside a transaction"))
	}
	if e.OrgID == "" {
		return 0, nil
	}
	var payload []byte
	var err error
	n := 0
	for _, ep := range subs {
		if !ep.Subscribes(e.Action) {
			continue
		}
		if payload == nil {
			if payload, err = gatehouse.WebhookPayload(e); err != nil {
				return 0, gatehouse.Internal(err)
			}
		}
		_, err := c.exec(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_id, event_type, payload, status, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)`,
			uuid.Must(uuid.NewV7()).String(), ep.ID, e.OrgID, e.ID, e.Action, string(payload), ts(e.CreatedAt))
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

const webhookDeliveryColumns = `id, endpoint_id, org_id, event_id, event_type, payload, status, attempts, next_attempt_at,
	last_status, last_error, last_attempt_at, created_at`

func scanWebhookDelivery(row interface{ Scan(...any) error }) (*gatehouse.WebhookDelivery, error) {
	var d gatehouse.WebhookDelivery
	var payload string
	var next, last, created int64
	if err := row.Scan(&d.ID, &d.EndpointID, &d.OrgID, &d.EventID, &d.EventType, &payload, &d.Status, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &last, &created); err != nil {
		return nil, err
	}
	d.Payload, d.NextAttemptAt, d.LastAttemptAt, d.CreatedAt = json.RawMessage(payload), fromTS(next), fromTS(last), fromTS(created)
	return &d, nil
}

func (c *Conn) webhookDeliveries(ctx context.Context, q string, args ...any) ([]*gatehouse.WebhookDelivery, error) {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.wrap(err, "webhook deliveries")
	}
	defer rows.Close()
	var out []*gatehouse.WebhookDelivery
	for rows.Next() {
		d, err := scanWebhookDelivery(rows)
		if err != nil {
			return nil, c.wrap(err, "scan webhook delivery")
		}
		out = append(out, d)
	}
	return out, c.wrap(rows.Err(), "webhook delivery rows")
}

// ClaimWebhookDeliveries leases up to limit due deliveries of enabled
// endpoints to one worker until now+lease, counting the attempt. A delivery
// leased by another worker is skipped, so each goes out once.
func (c *Conn) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*gatehouse.WebhookDelivery, error) {
	return c.webhookDeliveries(ctx, `UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE status = 'pending' AND next_attempt_at <= $2 AND locked_until <= $2
			AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled)
			ORDER BY next_attempt_at LIMIT $3 `+c.s.dialect.SkipLocked()+`)
		RETURNING `+webhookDeliveryColumns, ts(now.Add(lease)), ts(now), limit)
}

// WebhookAttemptResult is the outcome of one attempt.
type WebhookAttemptResult struct {
	At         time.Time
	StatusCode int
	Latency    time.Duration
	Error      string    // excerpt of the error or response body
	Status     string    // the delivery's new status
	Next       time.Time // next attempt when still pending
}

// RecordWebhookAttempt logs an attempt and moves the delivery to its new
// status, releasing the lease.
func (c *Conn) RecordWebhookAttempt(ctx context.Context, deliveryID string, r WebhookAttemptResult) error {
	if len(r.Error) > 500 {
		r.Error = r.Error[:500]
	}
	// A delivery deleted with its endpoint meanwhile records nothing.
	if _, err := c.exec(ctx, `INSERT INTO webhook_attempts (id, delivery_id, status_code, latency_ms, error, created_at)
		SELECT $1, id, $3, $4, $5, $6 FROM webhook_deliveries WHERE id = $2`,
		uuid.Must(uuid.NewV7()).String(), deliveryID, r.StatusCode, r.Latency.Milliseconds(), r.Error, ts(r.At)); err != nil {
		return err
	}
	_, err := c.exec(ctx, `UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4, last_attempt_at = $5,
		next_attempt_at = $6, locked_until = 0 WHERE id = $1`, deliveryID, r.Status, r.StatusCode, r.Error, ts(r.At), ts(r.Next))
	return err
}

// WebhookDeliveryFilter lives in the root package (it appears in service signatures).
type WebhookDeliveryFilter = gatehouse.WebhookDeliveryFilter

func webhookDeliveryQuery(f WebhookDeliveryFilter) (string, []any) {
	q := `SELECT ` + webhookDeliveryColumns + ` FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2`
	args := []any{f.OrgID, f.EndpointID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.EventType != "" {
		if f.EventType[len(f.EventType)-1] == '.' {
			add(fmt.Sprintf("substr(event_type, 1, %d) = $%%d", len(f.EventType)), f.EventType)
		} else {
			add("event_type = $%d", f.EventType)
		}
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", ts(f.Since))
	}
	return q, args
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (c *Conn) ListWebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]*gatehouse.WebhookDelivery, error) {
	q, args := webhookDeliveryQuery(f)
	q, args = keyset(q, args, f.Page)
	return c.webhookDeliveries(ctx, q, args...)
}

// WebhookDelivery returns one delivery of an endpoint with its attempts,
// oldest attempt first.
func (c *Conn) WebhookDelivery(ctx context.Context, orgID, endpointID, id string) (*gatehouse.WebhookDelivery, error) {
	d, err := scanWebhookDelivery(c.q.QueryRowContext(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
		WHERE org_id = $1 AND endpoint_id = $2 AND id = $3`, orgID, endpointID, id))
	if err != nil {
		return nil, notFound(c.wrap(err, "webhook delivery"), "Webhook delivery")
	}
	rows, err := c.q.QueryContext(ctx, `SELECT id, status_code, latency_ms, error, created_at FROM webhook_attempts
		WHERE delivery_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, c.wrap(err, "webhook attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var a gatehouse.WebhookAttempt
		var at int64
		if err := rows.Scan(&a.ID, &a.StatusCode, &a.LatencyMS, &a.Error, &at); err != nil {
			return nil, c.wrap(err, "scan webhook attempt")
		}
		a.CreatedAt = fromTS(at)
		d.AttemptLog = append(d.AttemptLog, a)
	}
	return d, c.wrap(rows.Err(), "webhook attempt rows")
}

// ResendWebhookDeliveries queues matching deliveries of an endpoint again,
// due at now with a fresh attempt budget, up to limit of them (oldest
// first); deliveries already pending are left alone. It returns how many.
func (c *Conn) ResendWebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter, ids []string, now time.Time, limit int) (int, error) {
	q, args := webhookDeliveryQuery(f)
	q = "SELECT id" + q[len("SELECT "+webhookDeliveryColumns):] + " AND status <> 'pending'"
	if len(ids) > 0 {
		q, args = inList(q+" AND id IN ", args, ids)
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY created_at, id LIMIT $%d", len(args))
	args = append(args, ts(now))
	res, err := c.exec(ctx, fmt.Sprintf(`UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $%d, locked_until = 0
		WHERE id IN (%s)`, len(args), q), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), c.wrap(err, "resend rows")
}

// SetWebhookEndpointHealth records an endpoint's failing-since time (zero
// after a success) and, when disabling, turns it off with a reason.
func (c *Conn) SetWebhookEndpointHealth(ctx context.Context, id string, failingSince time.Time, disable bool, reason string, now time.Time) error {
	q := `UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1`
	args := []any{id, ts(failingSince)}
	if disable {
		q = `UPDATE webhook_endpoints SET failing_since = $2, enabled = FALSE, disabled_reason = $3, updated_at = $4 WHERE id = $1`
		args = append(args, reason, ts(now))
	}
	_, err := c.exec(ctx, q, args...)
	return err
}

// WebhookEndpointByID returns an endpoint whatever its organization (the
// worker's look-up).
func (c *Conn) WebhookEndpointByID(ctx context.Context, id string) (*gatehouse.WebhookEndpoint, error) {
	e, err := c.scanWebhookEndpoint(c.q.QueryRowContext(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	return e, notFound(c.wrap(err, "webhook endpoint"), "Webhook endpoint")
}

// WebhookQueueStats counts pending deliveries of enabled endpoints and the
// creation time of the oldest (zero when none), for metrics.
func (c *Conn) WebhookQueueStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	var min sql.NullInt64
	err = c.q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries
		WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled)`).Scan(&pending, &min)
	return pending, fromNullTS(min), c.wrap(err, "webhook stats")
}
