package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// API keys: list, create with grants (the secret is shown once), revoke.

type keyRow struct {
	ID, Name, Prefix string
	Access           []string
	Created, Expires time.Time
	LastUsed         time.Time
	Expired          bool
}

type keysData struct {
	Keys      []keyRow
	Next      string
	CanCreate bool
	CanRevoke bool
	Access    accessView
	Created   *keyRow // set on the page that shows a new secret
	Secret    string
}

func (h *Handler) keysPage(rc *reqCtx) {
	h.showKeys(rc, newForm(nil), newAccessState(), nil, http.StatusOK)
}

func (h *Handler) showKeys(rc *reqCtx, f *form, st *accessState, errs map[string]string, status int) {
	r := rc.r
	p := rc.page("API keys", "keys")
	if !p.Can.Keys {
		h.failPage(rc.w, r, rc, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "You need API permissions to see the API keys of " + rc.Org.Name + "."})
		return
	}
	page, ok := rc.listPage(gatehouse.DefaultPageLimit)
	if !ok {
		return
	}
	list, err := h.svc.Keys.List(r.Context(), rc.Caller, page)
	if err != nil {
		h.failPage(rc.w, r, rc, err)
		return
	}
	d := keysData{Next: list.NextCursor}
	d.CanCreate, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgAPI, authz.Write)
	d.CanRevoke, _ = rc.Caller.Rights.Check(authz.Organization(), gatehouse.OrgAPI, authz.Delete)
	now := h.cfg.Now()
	for _, k := range list.Items {
		d.Keys = append(d.Keys, h.keyRow(rc, k, now))
	}
	if d.CanCreate {
		if d.Access, ok = h.pickerView(rc, f, st, errs, false); !ok {
			return
		}
	}
	p.Form = f
	p.Data = d
	h.renderStatus(rc.w, r, status, "keys", p)
}

func (h *Handler) keyRow(rc *reqCtx, k *gatehouse.APIKey, now time.Time) keyRow {
	return keyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Access: h.describe(rc, nil, k.Grants), Created: k.CreatedAt,
		Expires: k.ExpiresAt, LastUsed: k.LastUsedAt, Expired: !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)}
}

func (h *Handler) createKey(rc *reqCtx) {
	r := rc.r
	f, st, cat, ok := h.readAccessForm(rc, false)
	if !ok {
		return
	}
	st.Role = ""
	grants, errs := st.grants(cat)
	in := service.KeyInput{Name: r.PostFormValue("name"), Grants: grants, GrantsSet: true}
	if v := strings.TrimSpace(r.PostFormValue("expires_on")); v != "" {
		day, perr := time.Parse("2006-01-02", v)
		if perr != nil {
			f.Set("expires_on", "Expiry must be a date.")
		} else {
			end := day.Add(24 * time.Hour) // the key works through the whole day (UTC)
			in.ExpiresAt = &end
		}
	}
	if len(errs) > 0 || f.HasErrors() {
		f.Error = "Please correct the fields marked below."
		h.showKeys(rc, f, st, errs, http.StatusBadRequest)
		return
	}
	k, secretText, err := h.svc.Keys.Create(r.Context(), rc.Caller, in)
	if err != nil {
		status := f.apply(err)
		if msg := f.Err("expires_at"); msg != "" {
			f.Set("expires_on", msg)
		}
		h.showKeys(rc, f, st, nil, status)
		return
	}
	// The secret is shown on this response only: no redirect, no storage.
	row := h.keyRow(rc, k, h.cfg.Now())
	p := rc.page("API key created", "keys")
	p.Flash = &flash{Kind: "success", Text: "API key " + k.Name + " created."}
	p.Data = keysData{Created: &row, Secret: secretText}
	h.render(rc.w, r, "key-created", p)
}

func (h *Handler) revokeKey(rc *reqCtx) {
	if err := h.svc.Keys.Revoke(rc.r.Context(), rc.Caller, rc.r.PathValue("id")); err != nil {
		rc.fail("/api-keys", err)
		return
	}
	rc.done("/api-keys", "API key revoked: it stops working at once.")
}
