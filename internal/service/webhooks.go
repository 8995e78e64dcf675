package service

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/webhook"
)

// Webhooks manages an organization's webhook endpoints and their delivery
// logs. The deliveries themselves are queued by every audited change (see
// webhookEvent) and sent by the webhook worker.
type Webhooks struct {
	*base
}

// webhookEvent queues, inside tx, the audit event e for every endpoint of
// its organization that subscribes to it, and wakes the worker after commit.
// It decides that every audited change of an organization is a webhook
// event of the same name: one rule, no per-area wiring.
func (b *base) webhookEvent(ctx context.Context, tx *store.Conn, e *gatehouse.AuditEvent) error {
	if e.OrgID == "" {
		return nil
	}
	subs, err := b.subscriptions.get(ctx, tx, e.OrgID) // webhook_subscriptions.go
	if err != nil {
		return err
	}
	n, err := tx.EnqueueWebhooksTo(ctx, e, subs)
	if n > 0 {
		tx.AfterCommit(b.cfg.WebhooksQueued)
	}
	return err
}

// SecretOverlap is how long a rotated secret keeps signing beside the new one.
const SecretOverlap = 24 * time.Hour

// webhookResources are the event families an endpoint may subscribe to.
var webhookResources = map[string]bool{"invitation": true, "member": true, "role": true, "api_key": true, "organization": true,
	"project": true, "folder": true, "sso_connection": true, "webhook_endpoint": true, "scim_token": true, "user": true}

var eventPattern = regexp.MustCompile(`^([a-z_]+)\.(\*|[a-z_]+)$`)

// validateEvents decides which subscriptions are valid: "*", "<resource>.*"
// or "<resource>.<verb>" of a known resource; at least one, at most 50.
func validateEvents(events []string) ([]string, *gatehouse.FieldError) {
	if len(events) == 0 {
		return nil, &gatehouse.FieldError{Field: "events", Message: "must list at least one event type, or \"*\""}
	}
	if len(events) > 50 {
		return nil, &gatehouse.FieldError{Field: "events", Message: "must list at most 50 event types"}
	}
	out := make([]string, 0, len(events))
	seen := map[string]bool{}
	for i, ev := range events {
		ev = strings.TrimSpace(ev)
		if m := eventPattern.FindStringSubmatch(ev); ev != "*" && (m == nil || !webhookResources[m[1]]) {
			return nil, &gatehouse.FieldError{Field: fmt.Sprintf("events[%d]", i),
				Message: "must be \"*\", \"<resource>.*\" or an event type such as member.added; resources: invitation, member, role, api_key, organization, project, folder, sso_connection, webhook_endpoint, scim_token, user"}
		}
		if !seen[ev] {
			seen[ev] = true
			out = append(out, ev)
		}
	}
	return out, nil
}

// WebhookInput is a new endpoint, or the fields a PATCH sets (nil: kept).
type WebhookInput struct {
	URL         *string
	Events      []string
	EventsSet   bool
	Description *string
	Enabled     *bool
}

var errWebhookNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Webhook endpoint not found.")

// check validates the input's fields; url is checked against SSRF rules.
func (s *Webhooks) check(ctx context.Context, in *WebhookInput, create bool) error {
	var errs []*gatehouse.FieldError
	if create && in.URL == nil {
		errs = append(errs, &gatehouse.FieldError{Field: "url", Message: "is required"})
	}
	if create && !in.EventsSet {
		errs = append(errs, &gatehouse.FieldError{Field: "events", Message: "is required"})
	}
	if in.EventsSet {
		ev, ferr := validateEvents(in.Events)
		errs = append(errs, ferr)
		in.Events = ev
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(d) > 500 || strings.ContainsRune(d, 0) {
			errs = append(errs, &gatehouse.FieldError{Field: "description", Message: "must be at most 500 characters of text"})
		}
		in.Description = &d
	}
	if err := fields(errs...); err != nil {
		return err
	}
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		in.URL = &u
		return webhook.CheckURL(ctx, u, s.cfg.WebhooksAllowPrivate, nil)
	}
	return nil
}

// Create adds an endpoint: api write. Its signing secret is returned this
// once (and on rotation); it is stored sealed with the secret key.
func (s *Webhooks) Create(ctx context.Context, c *Caller, in WebhookInput) (*gatehouse.WebhookEndpoint, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Write); err != nil {
		return nil, err
	}
	if err := s.check(ctx, &in, true); err != nil {
		return nil, err
	}
	now := s.now()
	ep := &gatehouse.WebhookEndpoint{ID: newID(), OrgID: c.OrgID, URL: *in.URL, Events: in.Events, Enabled: true,
		Secret: webhook.NewSecret(), CreatedBy: c.Principal.UserID, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		ep.Description = *in.Description
	}
	if in.Enabled != nil {
		ep.Enabled = *in.Enabled
	}
	defer s.subscriptions.forget(c.OrgID) // whatever the outcome (webhook_subscriptions.go)
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		if err := s.subscriptionsChanged(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "webhook_endpoint.created", "webhook_endpoint", ep.ID,
			map[string]any{"url": ep.URL, "events": ep.Events, "enabled": ep.Enabled})
	})
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// List lists the organization's endpoints: api read.
func (s *Webhooks) List(ctx context.Context, c *Caller, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.WebhookEndpoint], error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Read); err != nil {
		return gatehouse.Page[*gatehouse.WebhookEndpoint]{}, err
	}
	eps, err := s.store.R().ListWebhookEndpoints(ctx, c.OrgID, page)
	if err != nil {
		return gatehouse.Page[*gatehouse.WebhookEndpoint]{}, err
	}
	return gatehouse.MakePage(eps, page, func(x *gatehouse.WebhookEndpoint) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: x.CreatedAt, ID: x.ID}
	}), nil
}

// Get returns one endpoint: api read; another organization's is 404.
func (s *Webhooks) Get(ctx context.Context, c *Caller, id string) (*gatehouse.WebhookEndpoint, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Read); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errWebhookNotFound
	}
	return s.store.R().WebhookEndpoint(ctx, c.OrgID, id)
}

// Update changes an endpoint: api write. Enabling it again clears the
// record of failures that disabled it.
func (s *Webhooks) Update(ctx context.Context, c *Caller, id string, in WebhookInput) (*gatehouse.WebhookEndpoint, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Write); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errWebhookNotFound
	}
	if err := s.check(ctx, &in, false); err != nil {
		return nil, err
	}
	var ep *gatehouse.WebhookEndpoint
	defer s.subscriptions.forget(c.OrgID) // whatever the outcome (webhook_subscriptions.go)
	err := s.store.Tx(ctx, func(tx *store.Conn) (err error) {
		if ep, err = tx.WebhookEndpoint(ctx, c.OrgID, id); err != nil {
			return err
		}
		changes := map[string]any{}
		if in.URL != nil && *in.URL != ep.URL {
			changes["url"] = map[string]string{"before": ep.URL, "after": *in.URL}
			ep.URL = *in.URL
		}
		if in.EventsSet {
			changes["events"] = in.Events
			ep.Events = in.Events
		}
		if in.Description != nil {
			ep.Description = *in.Description
		}
		if in.Enabled != nil && *in.Enabled != ep.Enabled {
			changes["enabled"] = *in.Enabled
			ep.Enabled = *in.Enabled
			if ep.Enabled {
				ep.DisabledReason, ep.FailingSince = "", time.Time{}
			} else {
				ep.DisabledReason = "Disabled by a member."
			}
		}
		ep.UpdatedAt = s.now()
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		if err := s.subscriptionsChanged(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "webhook_endpoint.updated", "webhook_endpoint", ep.ID, changes)
	})
	return ep, err
}

// Delete removes an endpoint and its delivery log: api delete.
func (s *Webhooks) Delete(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Delete); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errWebhookNotFound
	}
	defer s.subscriptions.forget(c.OrgID) // whatever the outcome (webhook_subscriptions.go)
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		ep, err := tx.WebhookEndpoint(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteWebhookEndpoint(ctx, c.OrgID, id); err != nil {
			return err
		}
		if err := s.subscriptionsChanged(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "webhook_endpoint.deleted", "webhook_endpoint", id, map[string]any{"url": ep.URL})
	})
}

// RotateSecret gives an endpoint a new signing secret, returned this once:
// api write. The old secret keeps signing beside it for SecretOverlap, so
// receivers can switch without losing events.
func (s *Webhooks) RotateSecret(ctx context.Context, c *Caller, id string) (*gatehouse.WebhookEndpoint, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Write); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errWebhookNotFound
	}
	var ep *gatehouse.WebhookEndpoint
	err := s.store.Tx(ctx, func(tx *store.Conn) (err error) {
		if ep, err = tx.WebhookEndpoint(ctx, c.OrgID, id); err != nil {
			return err
		}
		now := s.now()
		ep.PrevSecret, ep.PrevSecretUntil, ep.Secret, ep.UpdatedAt = ep.Secret, now.Add(SecretOverlap), webhook.NewSecret(), now
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "webhook_endpoint.secret_rotated", "webhook_endpoint", id,
			map[string]any{"previous_secret_until": ep.PrevSecretUntil})
	})
	return ep, err
}

// DeliveryFilter selects deliveries of an endpoint.
type DeliveryFilter struct {
	Status    string
	EventType string
	Since     time.Time
}

func (f DeliveryFilter) check() error {
	switch f.Status {
	case "", gatehouse.WebhookPending, gatehouse.WebhookSucceeded, gatehouse.WebhookFailed:
	default:
		return gatehouse.Invalid("Invalid status.", gatehouse.FieldError{Field: "status", Message: "must be pending, succeeded or failed"})
	}
	if len(f.EventType) > 100 {
		return gatehouse.Invalid("Invalid event type.", gatehouse.FieldError{Field: "event_type", Message: "must be at most 100 characters"})
	}
	return nil
}

// endpoint loads an endpoint of the caller's organization after checking
// the right (api read or write).
func (s *Webhooks) endpoint(ctx context.Context, c *Caller, id string, action authz.Action) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, action); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errWebhookNotFound
	}
	_, err := s.store.R().WebhookEndpoint(ctx, c.OrgID, id)
	return err
}

// Deliveries lists an endpoint's event log, newest first: api read.
func (s *Webhooks) Deliveries(ctx context.Context, c *Caller, endpointID string, f DeliveryFilter, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.WebhookDelivery], error) {
	var none gatehouse.Page[*gatehouse.WebhookDelivery]
	if err := s.endpoint(ctx, c, endpointID, authz.Read); err != nil {
		return none, err
	}
	if err := f.check(); err != nil {
		return none, err
	}
	ds, err := s.store.R().ListWebhookDeliveries(ctx, gatehouse.WebhookDeliveryFilter{OrgID: c.OrgID, EndpointID: endpointID,
		Status: f.Status, EventType: f.EventType, Since: f.Since, Page: page})
	if err != nil {
		return none, err
	}
	return gatehouse.MakePage(ds, page, func(x *gatehouse.WebhookDelivery) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: x.CreatedAt, ID: x.ID}
	}), nil
}

var errDeliveryNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Webhook delivery not found.")

// Delivery returns one delivery with its attempts: api read.
func (s *Webhooks) Delivery(ctx context.Context, c *Caller, endpointID, id string) (*gatehouse.WebhookDelivery, error) {
	if err := s.endpoint(ctx, c, endpointID, authz.Read); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errDeliveryNotFound
	}
	return s.store.R().WebhookDelivery(ctx, c.OrgID, endpointID, id)
}

// MaxResend bounds one resend-all request.
const MaxResend = 1000

// Resend queues deliveries again with a fresh attempt budget: api write.
// With id it is that one delivery (already pending: nothing to do); else
// every delivery matching f, at most MaxResend, oldest first. It returns
// how many were queued.
func (s *Webhooks) Resend(ctx context.Context, c *Caller, endpointID, id string, f DeliveryFilter) (int, error) {
	if err := s.endpoint(ctx, c, endpointID, authz.Write); err != nil {
		return 0, err
	}
	if err := f.check(); err != nil {
		return 0, err
	}
	var ids []string
	if id != "" {
		if !authz.IsUUID(id) {
			return 0, errDeliveryNotFound
		}
		if _, err := s.store.R().WebhookDelivery(ctx, c.OrgID, endpointID, id); err != nil {
			return 0, err
		}
		ids = []string{id}
	}
	var n int
	err := s.store.Tx(ctx, func(tx *store.Conn) (err error) {
		n, err = tx.ResendWebhookDeliveries(ctx, gatehouse.WebhookDeliveryFilter{OrgID: c.OrgID, EndpointID: endpointID,
			Status: f.Status, EventType: f.EventType, Since: f.Since}, ids, s.now(), MaxResend)
		if n > 0 {
			tx.AfterCommit(s.cfg.WebhooksQueued)
		}
		return err
	})
	return n, err
}
