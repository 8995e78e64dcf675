package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Webhooks: endpoints (create with the secret shown once, enable or
// disable, rotate, delete) and each endpoint's delivery log with resend.

func (h *Handler) registerWebhooks(mux *http.ServeMux) {
	h.handle(mux, "GET /webhooks", h.inOrg(h.webhooksPage))
	h.handle(mux, "POST /webhooks", h.inOrg(h.createWebhook))
	h.handle(mux, "GET /webhooks/{id}", h.inOrg(h.webhookPage))
	h.handle(mux, "POST /webhooks/{id}/enabled", h.inOrg(h.setWebhookEnabled))
	h.handle(mux, "POST /webhooks/{id}/rotate-secret", h.inOrg(h.rotateWebhookSecret))
	h.handle(mux, "POST /webhooks/{id}/delete", h.inOrg(h.deleteWebhook))
	h.handle(mux, "POST /webhooks/{id}/deliveries/{did}/resend", h.inOrg(h.resendDelivery))
	h.handle(mux, "POST /webhooks/{id}/resend", h.inOrg(h.resendFailed))
}

type webhooksData struct {
	Endpoints []*gatehouse.WebhookEndpoint
	Next      string
	CanWrite  bool
	CanDelete bool
	// The page after creation or rotation shows the secret once.
	Created *gatehouse.WebhookEndpoint
	Secret  string
}

type webhookData struct {
	Endpoint   *gatehouse.WebhookEndpoint
	Deliveries []*gatehouse.WebhookDelivery
	Next       string
	Status     string
	CanWrite   bool
}

func (h *Handler) webhooksPage(rc *reqCtx) {
	f := newForm(url.Values{"events": {"member.*, invitation.*"}})
	h.showWebhooks(rc, f, http.StatusOK)
}

func (h *Handler) showWebhooks(rc *reqCtx, f *form, status int) {
	r := rc.r
	p := rc.page("Webhooks", "webhooks")
	if !p.Can.Keys {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need API permissions to see the webhooks of " + rc.Org.Name + "."})
		return
	}
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	list, err := h.svc.Webhooks.List(r.Context(), rc.Caller, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d := webhooksData{Endpoints: list.Items, Next: list.NextCursor}
	d.CanWrite, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgAPI, authz.Write)
	d.CanDelete, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgAPI, authz.Delete)
	p.Form = f
	p.Data = d
	h.renderStatus(rc.w, r, status, "webhooks", p)
}

// splitEvents reads the events field: types separated by commas or spaces.
func splitEvents(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (h *Handler) createWebhook(rc *reqCtx) {
	r := rc.r
	f := newForm(r.PostForm)
	u, desc := strings.TrimSpace(r.PostFormValue("url")), r.PostFormValue("description")
	ep, err := h.svc.Webhooks.Create(r.Context(), rc.Caller, service.WebhookInput{URL: &u, Description: &desc,
		Events: splitEvents(r.PostFormValue("events")), EventsSet: true})
	if err != nil {
		status := f.apply(err)
		for _, name := range []string{"url", "events"} {
			for _, fe := range gatehouse.AsError(err).Fields {
				if fe.Field == name || strings.HasPrefix(fe.Field, name+"[") {
					f.Set(name, fe.Message)
				}
			}
		}
		h.showWebhooks(rc, f, status)
		return
	}
	h.showSecret(rc, ep, "Webhook endpoint created.")
}

// showSecret renders the secret on this response only: no redirect, no storage.
func (h *Handler) showSecret(rc *reqCtx, ep *gatehouse.WebhookEndpoint, text string) {
	p := rc.page("Webhook signing secret", "webhooks")
	p.Flash = &flash{Kind: "success", Text: text}
	p.Data = webhooksData{Created: ep, Secret: ep.Secret}
	rc.w.Header().Set("Cache-Control", "no-store")
	h.render(rc.w, rc.r, "webhook-secret", p)
}

func (h *Handler) webhookPage(rc *reqCtx) {
	r := rc.r
	p := rc.page("Webhook", "webhooks")
	id := r.PathValue("id")
	ep, err := h.svc.Webhooks.Get(r.Context(), rc.Caller, id)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	list, err := h.svc.Webhooks.Deliveries(r.Context(), rc.Caller, id, service.DeliveryFilter{Status: status}, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d := webhookData{Endpoint: ep, Deliveries: list.Items, Next: list.NextCursor, Status: status}
	d.CanWrite, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgAPI, authz.Write)
	p.Title = "Webhook " + ep.URL
	p.Data = d
	h.render(rc.w, r, "webhook", p)
}

func (h *Handler) setWebhookEnabled(rc *reqCtx) {
	id := rc.r.PathValue("id")
	on := rc.r.PostFormValue("enabled") == "true"
	if _, err := h.svc.Webhooks.Update(rc.r.Context(), rc.Caller, id, service.WebhookInput{Enabled: &on}); err != nil {
		rc.fail("/webhooks", err)
		return
	}
	if on {
		rc.done("/webhooks", "Webhook enabled: waiting events go out now.")
		return
	}
	rc.done("/webhooks", "Webhook disabled: events wait until it is enabled again.")
}

func (h *Handler) rotateWebhookSecret(rc *reqCtx) {
	ep, err := h.svc.Webhooks.RotateSecret(rc.r.Context(), rc.Caller, rc.r.PathValue("id"))
	if err != nil {
		rc.fail("/webhooks", err)
		return
	}
	h.showSecret(rc, ep, "New secret made; the old one keeps signing until "+ep.PrevSecretUntil.UTC().Format(time.RFC1123)+".")
}

func (h *Handler) deleteWebhook(rc *reqCtx) {
	if err := h.svc.Webhooks.Delete(rc.r.Context(), rc.Caller, rc.r.PathValue("id")); err != nil {
		rc.fail("/webhooks", err)
		return
	}
	rc.done("/webhooks", "Webhook endpoint deleted.")
}

func (h *Handler) resendDelivery(rc *reqCtx) {
	id := rc.r.PathValue("id")
	back := "/webhooks/" + url.PathEscape(id)
	n, err := h.svc.Webhooks.Resend(rc.r.Context(), rc.Caller, id, rc.r.PathValue("did"), service.DeliveryFilter{})
	if err != nil {
		rc.fail(back, err)
		return
	}
	if n == 0 {
		rc.done(back, "That delivery is already waiting to be sent.")
		return
	}
	rc.done(back, "Delivery queued again.")
}

func (h *Handler) resendFailed(rc *reqCtx) {
	id := rc.r.PathValue("id")
	back := "/webhooks/" + url.PathEscape(id)
	n, err := h.svc.Webhooks.Resend(rc.r.Context(), rc.Caller, id, "", service.DeliveryFilter{Status: gatehouse.WebhookFailed})
	if err != nil {
		rc.fail(back, err)
		return
	}
	rc.done(back, "Failed deliveries queued again: "+strconv.Itoa(n)+".")
}
