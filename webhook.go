package gatehouse

import (
	"encoding/json"
	"strings"
	"time"
)

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"
	WebhookSucceeded = "succeeded"
	WebhookFailed    = "failed"
)

// WebhookEndpoint is where an organization's events are posted. Secret and
// PrevSecret are the opened signing secrets: they are shown once, on
// creation and rotation, and stored sealed.
type WebhookEndpoint struct {
	ID              string
	OrgID           string
	URL             string
	Description     string
	Events          []string
	Enabled         bool
	DisabledReason  string
	Secret          string
	PrevSecret      string
	PrevSecretUntil time.Time
	FailingSince    time.Time
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Subscribes reports whether the endpoint wants events of type t: "*" is
// every type, "member.*" every type starting "member.", others exact.
func (e *WebhookEndpoint) Subscribes(t string) bool {
	for _, p := range e.Events {
		if p == "*" || p == t || (strings.HasSuffix(p, ".*") && strings.HasPrefix(t, p[:len(p)-1])) {
			return true
		}
	}
	return false
}

// Secrets are the secrets that sign at now: the current one, and the
// previous one during its overlap.
func (e *WebhookEndpoint) Secrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PrevSecret != "" && now.Before(e.PrevSecretUntil) {
		out = append(out, e.PrevSecret)
	}
	return out
}

// WebhookDelivery is one event for one endpoint, and its delivery state.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	OrgID         string
	EventID       string
	EventType     string
	Payload       json.RawMessage
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	LastAttemptAt time.Time
	CreatedAt     time.Time
	// AttemptLog is filled when one delivery is read.
	AttemptLog []WebhookAttempt
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	ID         string
	StatusCode int
	LatencyMS  int64
	Error      string
	CreatedAt  time.Time
}

// WebhookPayload is the body posted for an audit event: {id, type,
// created_at, organization_id, actor {kind, id}, data}. data is what the
// event records of the resource: its object type and id, and the audit
// summary's fields (which never hold secrets or tokens).
func WebhookPayload(e *AuditEvent) ([]byte, error) {
	data := map[string]any{}
	if len(e.Summary) > 0 {
		if err := json.Unmarshal(e.Summary, &data); err != nil || data == nil {
			data = map[string]any{}
		}
	}
	data["object"], data["id"] = e.TargetType, e.TargetID
	var actorID *string
	if e.ActorID != "" {
		actorID = &e.ActorID
	}
	return json.Marshal(struct {
		ID             string         `json:"id"`
		Type           string         `json:"type"`
		CreatedAt      time.Time      `json:"created_at"`
		OrganizationID string         `json:"organization_id"`
		Actor          map[string]any `json:"actor"`
		Data           map[string]any `json:"data"`
	}{e.ID, e.Action, e.CreatedAt.UTC(), e.OrgID, map[string]any{"kind": e.ActorKind, "id": actorID}, data})
}
