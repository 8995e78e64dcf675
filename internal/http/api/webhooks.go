package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/service"
)

func (s *Server) registerWebhooks() {
	s.handle("GET /v1/webhooks", s.scoped(s.handleListWebhooks))
	s.handle("POST /v1/webhooks", s.scoped(s.handleCreateWebhook))
	s.handle("GET /v1/webhooks/{id}", s.scoped(s.handleGetWebhook))
	s.handle("PATCH /v1/webhooks/{id}", s.scoped(s.handleUpdateWebhook))
	s.handle("DELETE /v1/webhooks/{id}", s.scoped(s.handleDeleteWebhook))
	s.handle("POST /v1/webhooks/{id}/rotate-secret", s.scoped(s.handleRotateWebhookSecret))
	s.handle("GET /v1/webhooks/{id}/deliveries", s.scoped(s.handleListDeliveries))
	s.handle("GET /v1/webhooks/{id}/deliveries/{did}", s.scoped(s.handleGetDelivery))
	s.handle("POST /v1/webhooks/{id}/deliveries/{did}/resend", s.scoped(s.handleResendDelivery))
	s.handle("POST /v1/webhooks/{id}/resend", s.scoped(s.handleResendDeliveries))
}

// webhookJSON is an endpoint as the API shows it. The signing secret is
// set only in the answers that create it (create, rotate-secret).
type webhookJSON struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
	// PreviousSecretExpiresAt is when a rotated-out secret stops signing.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedBy               string     `json:"created_by"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	Secret                  string     `json:"secret,omitempty"`
}

func toWebhookJSON(e *gatehouse.WebhookEndpoint) webhookJSON {
	out := webhookJSON{ID: e.ID, OrganizationID: e.OrgID, URL: e.URL, Description: e.Description, Events: e.Events, Enabled: e.Enabled,
		FailingSince: optTime(e.FailingSince), CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.DisabledReason != "" && !e.Enabled {
		out.DisabledReason = &e.DisabledReason
	}
	if e.PrevSecret != "" {
		out.PreviousSecretExpiresAt = optTime(e.PrevSecretUntil)
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	return out
}

type webhookIn struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

func (in webhookIn) input() service.WebhookInput {
	out := service.WebhookInput{URL: in.URL, Description: in.Description, Enabled: in.Enabled, EventsSet: in.Events != nil}
	if in.Events != nil {
		out.Events = *in.Events
	}
	return out
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.WebhookEndpoint], error) {
		return s.Services.Webhooks.List(r.Context(), c, page)
	}, toWebhookJSON)
}

// withSecret answers an endpoint with its new secret, never cached.
func withSecret(w http.ResponseWriter, status int, e *gatehouse.WebhookEndpoint) {
	out := toWebhookJSON(e)
	out.Secret = e.Secret
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, status, out)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in webhookIn
	if !decode(w, r, &in) {
		return
	}
	e, err := s.Services.Webhooks.Create(r.Context(), c, in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	withSecret(w, http.StatusCreated, e)
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	e, err := s.Services.Webhooks.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toWebhookJSON(e))
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in webhookIn
	if !decode(w, r, &in) {
		return
	}
	e, err := s.Services.Webhooks.Update(r.Context(), c, r.PathValue("id"), in.input())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toWebhookJSON(e))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	if err := s.Services.Webhooks.Delete(r.Context(), c, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.NoContent(w)
}

func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	e, err := s.Services.Webhooks.RotateSecret(r.Context(), c, r.PathValue("id"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	withSecret(w, http.StatusOK, e)
}

type attemptJSON struct {
	CreatedAt  time.Time `json:"created_at"`
	StatusCode *int      `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error"`
}

type deliveryJSON struct {
	ID            string        `json:"id"`
	WebhookID     string        `json:"webhook_id"`
	EventID       string        `json:"event_id"`
	EventType     string        `json:"event_type"`
	Status        string        `json:"status"`
	Attempts      int           `json:"attempts"`
	LastStatus    *int          `json:"last_status_code"`
	LastError     string        `json:"last_error"`
	LastAttemptAt *time.Time    `json:"last_attempt_at"`
	NextAttemptAt *time.Time    `json:"next_attempt_at"`
	CreatedAt     time.Time     `json:"created_at"`
	Payload       any           `json:"payload"`
	AttemptLog    []attemptJSON `json:"attempt_log,omitempty"`
}

func optStatus(code int) *int {
	if code == 0 {
		return nil
	}
	return &code
}

func toDeliveryJSON(d *gatehouse.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, WebhookID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, LastStatus: optStatus(d.LastStatus), LastError: d.LastError, LastAttemptAt: optTime(d.LastAttemptAt),
		CreatedAt: d.CreatedAt, Payload: d.Payload}
	if d.Status == gatehouse.WebhookPending {
		out.NextAttemptAt = optTime(d.NextAttemptAt)
	}
	for _, a := range d.AttemptLog {
		out.AttemptLog = append(out.AttemptLog, attemptJSON{CreatedAt: a.CreatedAt, StatusCode: optStatus(a.StatusCode), LatencyMS: a.LatencyMS, Error: a.Error})
	}
	return out
}

// deliveryFilter reads ?status=, ?event_type= and ?since= (RFC 3339).
func deliveryFilter(r *http.Request) (service.DeliveryFilter, error) {
	q := r.URL.Query()
	f := service.DeliveryFilter{Status: q.Get("status"), EventType: q.Get("event_type")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, gatehouse.Invalid("Invalid since.", gatehouse.FieldError{Field: "since", Message: "must be an RFC 3339 time"})
		}
		f.Since = t
	}
	return f, nil
}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	f, err := deliveryFilter(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	serveList(w, r, func(page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.WebhookDelivery], error) {
		return s.Services.Webhooks.Deliveries(r.Context(), c, r.PathValue("id"), f, page)
	}, toDeliveryJSON)
}

func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	d, err := s.Services.Webhooks.Delivery(r.Context(), c, r.PathValue("id"), r.PathValue("did"))
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := toDeliveryJSON(d)
	if out.AttemptLog == nil {
		out.AttemptLog = []attemptJSON{}
	}
	respond.JSON(w, http.StatusOK, out)
}

func (s *Server) handleResendDelivery(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	n, err := s.Services.Webhooks.Resend(r.Context(), c, r.PathValue("id"), r.PathValue("did"), service.DeliveryFilter{})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]int{"queued": n})
}

func (s *Server) handleResendDeliveries(w http.ResponseWriter, r *http.Request, c *service.Caller) {
	var in struct {
		Status    string     `json:"status"`
		EventType string     `json:"event_type"`
		Since     *time.Time `json:"since"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	f := service.DeliveryFilter{Status: in.Status, EventType: in.EventType}
	if in.Since != nil {
		f.Since = *in.Since
	}
	n, err := s.Services.Webhooks.Resend(r.Context(), c, r.PathValue("id"), "", f)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, map[string]int{"queued": n})
}
