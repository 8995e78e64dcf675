// Package service holds Gatehouse's business rules, one file per area. A
// service validates input, decides (authorization included), and runs its
// changes, their audit events and their mail in one store transaction.
package service

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Config is what the services need from the outside.
type Config struct {
	BaseURL string
	Key     *secret.Key
	Hasher  *secret.Hasher
	// Now is the clock; tests move it.
	Now func() time.Time
	// MailQueued is called after a commit that queued mail (wakes the worker).
	MailQueued func()
	// MailHandOff, when set, is this process's running mail worker: mail is
	// queued already leased to it and handed to it after the commit, so
	// that no claim has to rewrite each message (mail.Worker.HandOff).
	MailHandOff MailHandOff
	// WebhooksQueued is called after a commit that queued webhook
	// deliveries (wakes the webhook worker).
	WebhooksQueued func()
	// WebhooksAllowPrivate lets webhook URLs use http and private or
	// loopback addresses (tests, local development).
	WebhooksAllowPrivate bool
	// CacheSize bounds every in-process cache together, in estimated bytes
	// (GATEHOUSE_CACHE_SIZE); 0 means DefaultCacheSize.
	CacheSize uint64
	// Providers are the configured social sign-in providers by name
	// ("google", "github"); a missing one is off.
	Providers map[string]sso.Provider
	// AllowedRedirectOrigins are the origins ("https://app.example.com")
	// a redirect_url may go to (GATEHOUSE_ALLOWED_REDIRECT_ORIGINS).
	AllowedRedirectOrigins []string
	// WebAuthnRPID and WebAuthnOrigins override the passkey relying party
	// derived from BaseURL (its host, its origin).
	WebAuthnRPID    string
	WebAuthnOrigins []string
}

// DefaultCacheSize is GATEHOUSE_CACHE_SIZE's default.
const DefaultCacheSize = 256 << 20

// Services bundles every area's service.
type Services struct {
	Auth        *Auth
	Access      *Access
	Orgs        *Orgs
	Projects    *Projects
	Folders     *Folders
	Roles       *Roles
	Invitations *Invitations
	Members     *Members
	Keys        *Keys
	Audits      *Audits
	Webhooks    *Webhooks
	Lookups     *Lookups
	// Cache is the bounded store under every in-process cache (for metrics).
	Cache  *cache.Shared
	Social *Social
	SSO    *SSO
	// EmailTemplates holds organizations' own invitation mail.
	EmailTemplates *EmailTemplates
	// SCIM is directory provisioning (scim.go).
	SCIM *SCIM
}

// New builds the services over one store.
func New(st *store.Store, cfg Config) *Services {
	if cfg.Now == nil {
		cfg.Now = store.Now
	}
	if cfg.MailQueued == nil {
		cfg.MailQueued = func() {}
	}
	if cfg.WebhooksQueued == nil {
		cfg.WebhooksQueued = func() {}
	}
	if cfg.Hasher == nil {
		cfg.Hasher = secret.NewHasher(secret.DefaultArgon2, 4)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	base := &base{store: st, cfg: cfg, cache: cache.New(cfg.CacheSize)}
	base.counters = newCounters(base)
	base.templates = newTemplateCache(base)
	base.subscriptions = newSubscriptionCache(base)

	// The service graph, every edge here, each service built after what it
	// uses (no service is changed after it is built):
	//
	//   Access — rights: compiles (Compile), caches, MayGrant (on Caller),
	//            and caps every API key by its creator (keyRights).
	//   Keys        → Access (keys' own grants, validation)
	//   Auth        → Access (the organization a session acts in),
	//                 Keys (bearer tokens that are API keys)
	//   Invitations → Access, Auth (accepting opens a session);
	//                 stillCovers decides orphan revocation
	//   Roles       → Access, Invitations (a changed role may orphan them)
	//   Members     → Access, Invitations (a member's shrunk rights may)
	//   Projects    → Access
	//   Folders     → Access, Projects, Invitations (a move may)
	//   Orgs        → Access, Auth (leaving ends cached sessions' org)
	//   Lookups     → Access (rosters for check and look-ups)
	//   SCIM        → Access, Auth (ends sessions), Invitations (orphans)
	access := newAccess(base)
	keys := newKeys(base, access)
	auth := newAuth(base, access, keys)
	auth.subscribeSessions()
	invitations := newInvitations(base, access, auth)
	roles := newRoles(base, access, invitations)
	projects := &Projects{base: base, access: access}
	return &Services{
		Auth:        auth,
		Access:      access,
		Orgs:        &Orgs{base: base, access: access, auth: auth},
		Projects:    projects,
		Folders:     &Folders{base: base, access: access, projects: projects, invitations: invitations},
		Roles:       roles,
		Invitations: invitations,
		Members:     &Members{base: base, access: access, invitations: invitations},
		Keys:        keys,
		Audits:      &Audits{base: base},
		Webhooks:    &Webhooks{base: base},
		Lookups:     newLookups(base, access),
		Cache:       base.cache,
		Social:      &Social{base: base, auth: auth, providers: cfg.Providers},
		SSO:         newSSO(base, auth),

		EmailTemplates: newEmailTemplates(base),
		SCIM:           newSCIM(base, access, auth, invitations),
	}
}

// base is shared by every service.
type base struct {
	store *store.Store
	cfg   Config
	cache *cache.Shared
	// counters hold every throttle's state (throttle.go).
	counters counters
	// templates keeps organizations' invitation templates (email_templates.go).
	templates *templateCache
	// subscriptions keeps organizations' webhook subscriptions (webhook_subscriptions.go).
	subscriptions *subscriptionCache
}

func (b *base) now() time.Time { return b.cfg.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// audit writes one event for actor inside tx.
func (b *base) audit(ctx context.Context, tx *store.Conn, actor gatehouse.Actor, orgID, action, targetType, targetID string, summary any) error {
	raw, err := json.Marshal(summary)
	if err != nil {
		return gatehouse.Internal(err)
	}
	if summary == nil {
		raw = []byte(`{}`)
	}
	if actor.Kind == "" {
		// Nobody signed in: someone holding a link, or Gatehouse itself.
		actor.Kind = gatehouse.ActorAnonymous
		if actor.IP == "" && actor.RequestID == "" {
			actor.Kind = gatehouse.ActorSystem
		}
	}
	e := &gatehouse.AuditEvent{
		OrgID: orgID, ActorKind: actor.Kind, ActorID: actor.ID, ActorName: actor.Name,
		Action: action, TargetType: targetType, TargetID: targetID, Summary: raw,
		IP: actor.IP, UserAgent: actor.UserAgent, RequestID: actor.RequestID, CreatedAt: b.now(),
	}
	if err := tx.WriteAudit(ctx, e); err != nil {
		return err
	}
	return b.webhookEvent(ctx, tx, e)
}

// MailHandOff is a mail worker taking messages queued leased to it
// (implemented by *mail.Worker).
type MailHandOff interface {
	// HandOffLease answers until when a message queued now is leased to
	// the worker, or false when it takes none now.
	HandOffLease(now time.Time) (time.Time, bool)
	// HandOff gives it a committed message queued with that lease.
	HandOff(m *gatehouse.OutboxMessage)
}

// mail queues a message inside tx and, after commit, hands it to this
// process's worker (leased to it when queued) or wakes the worker.
func (b *base) mail(ctx context.Context, tx *store.Conn, m gatehouse.MailMessage) error {
	now := b.now()
	if h := b.cfg.MailHandOff; h != nil {
		if until, ok := h.HandOffLease(now); ok {
			msg, err := tx.EnqueueLeasedMail(ctx, m, now, until)
			if err != nil {
				return err
			}
			tx.AfterCommit(func() { h.HandOff(msg) })
			return nil
		}
	}
	if _, err := tx.EnqueueMail(ctx, m, now); err != nil {
		return err
	}
	tx.AfterCommit(b.cfg.MailQueued)
	return nil
}

// committed runs fn in a transaction that commits even when fn reports a
// refusal: fn returns (refusal, err); err rolls back, refusal does not. It
// serves changes that must stick although the request fails, such as
// counting a wrong one-time code.
func (b *base) committed(ctx context.Context, fn func(tx *store.Conn) (refusal error, err error)) error {
	var refusal error
	err := b.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		refusal, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	return refusal
}

func itoa(i int) string { return strconv.Itoa(i) }
