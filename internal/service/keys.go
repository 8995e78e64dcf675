package service

import (
	"context"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// APIKeyPrefix starts every key secret, so secret scanners can find leaks.
const APIKeyPrefix = "gh_key_"

// Keys manages API keys and authenticates them.
type Keys struct {
	*base
	access *Access

	// byHash caches secret hash → key, for sessionCacheTTL at most; a
	// revoked key is dropped by id (every process hears of it).
	byHash *cache.Cache[*cachedKey]
	// used collects last-use times, written in batches by FlushLastUsed; at
	// maxUsed entries it asks for an early flush (flushSoon) and records no
	// more until then.
	usedMu    sync.Mutex
	used      map[string]time.Time
	maxUsed   int
	flushSoon chan struct{}
}

type cachedKey struct {
	key      *gatehouse.APIKey
	cachedAt time.Time
}

// FlushSoon is signalled when the batch of last-use times is full.
func (k *Keys) FlushSoon() <-chan struct{} { return k.flushSoon }

func apiKeyEnded(id string) string { return "apikey:" + id }

func newKeys(b *base, access *Access) *Keys {
	k := &Keys{base: b, access: access, used: map[string]time.Time{}, flushSoon: make(chan struct{}, 1),
		// One entry (id, time, map slot) is ~128 bytes: 1/64 of the budget.
		maxUsed: max(1024, int(b.cache.MaxBytes()/64/128)),
		byHash: cache.NewCache(b.cache, "api_keys", cache.Options[*cachedKey]{
			// The entry, the key, and their strings at their allocation.
			Weigh: func(c *cachedKey) int {
				k := c.key
				n := int(unsafe.Sizeof(*c)+unsafe.Sizeof(*k)) + grantsSize(k.Grants)
				for _, f := range []string{k.ID, k.OrgID, k.Name, k.Prefix, k.SecretHash, k.CreatedBy} {
					n += strSize(f)
				}
				return n
			},
			Index: func(c *cachedKey) string { return c.key.ID },
		}),
	}
	b.store.Subscribe(func(msg string) {
		if id, ok := strings.CutPrefix(msg, "apikey:"); ok {
			k.byHash.InvalidateIndex(id)
		}
	})
	return k
}

var errBadKey = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_api_key", Message: "The API key is invalid or has been revoked."}

// Authenticate resolves a key secret to its principal.
func (k *Keys) Authenticate(ctx context.Context, secretText string) (*gatehouse.Principal, error) {
	h := secret.HashToken(secretText)
	now := k.now()
	c, ok := k.byHash.Get(h, "")
	var key *gatehouse.APIKey
	if ok && now.Sub(c.cachedAt) <= sessionCacheTTL {
		key = c.key
	} else {
		t := k.byHash.Begin(h, "")
		var err error
		key, err = k.store.R().APIKeyBySecretHash(ctx, h)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, errBadKey
		}
		if err != nil {
			return nil, err
		}
		k.byHash.Fill(t, h, "", &cachedKey{key: key, cachedAt: now})
	}
	if !key.ExpiresAt.IsZero() && !now.Before(key.ExpiresAt) {
		return nil, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "api_key_expired",
			Message: "The API key expired on " + key.ExpiresAt.Format(time.RFC3339) + "; create a new one."}
	}
	k.usedMu.Lock()
	if _, seen := k.used[key.ID]; seen || len(k.used) < k.maxUsed {
		k.used[key.ID] = now
	}
	full := len(k.used) >= k.maxUsed
	k.usedMu.Unlock()
	if full {
		select {
		case k.flushSoon <- struct{}{}:
		default:
		}
	}
	return &gatehouse.Principal{Kind: gatehouse.PrincipalAPIKey, APIKeyID: key.ID, UserID: key.CreatedBy, OrgID: key.OrgID, Name: key.Name}, nil
}

// FlushLastUsed writes the batched last-use times (called periodically).
func (k *Keys) FlushLastUsed(ctx context.Context) error {
	k.usedMu.Lock()
	used := k.used
	k.used = map[string]time.Time{}
	k.usedMu.Unlock()
	if len(used) == 0 {
		return nil
	}
	return k.store.Tx(ctx, func(tx *store.Conn) error { return tx.TouchAPIKeys(ctx, used) })
}

// KeyInput is a new key.
type KeyInput struct {
	Name      string
	Grants    []gatehouse.Grant
	GrantsSet bool
	ExpiresAt *time.Time
}

// Create makes a key: api write, and no right the caller lacks. The secret
// is returned this once.
func (k *Keys) Create(ctx context.Context, c *Caller, in KeyInput) (*gatehouse.APIKey, string, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Write); err != nil {
		return nil, "", err
	}
	name, nerr := validateName("name", in.Name, true)
	var gerr, xerr *gatehouse.FieldError
	if !in.GrantsSet {
		gerr = &gatehouse.FieldError{Field: "permissions", Message: "is required"}
	}
	now := k.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		xerr = &gatehouse.FieldError{Field: "expires_at", Message: "must be in the future"}
	}
	if err := fields(nerr, gerr, xerr); err != nil {
		return nil, "", err
	}
	var key *gatehouse.APIKey
	secretText := secret.Token(APIKeyPrefix, 32)
	err := k.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := c.MayGrant(ctx, tx, "", in.Grants, "give a key this access"); err != nil {
			return err
		}
		if in.Grants == nil {
			in.Grants = []gatehouse.Grant{}
		}
		key = &gatehouse.APIKey{ID: newID(), OrgID: c.OrgID, Name: name, Prefix: secretText[:len(APIKeyPrefix)+6],
			SecretHash: secret.HashToken(secretText), Grants: in.Grants, CreatedBy: c.Principal.UserID, CreatedAt: now}
		if in.ExpiresAt != nil {
			key.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
		}
		if err := tx.CreateAPIKey(ctx, key); err != nil {
			return err
		}
		summary := map[string]any{"name": name, "prefix": key.Prefix, "permissions": key.Grants}
		if !key.ExpiresAt.IsZero() {
			summary["expires_at"] = key.ExpiresAt
		}
		return k.audit(ctx, tx, c.Actor, c.OrgID, "api_key.created", "api_key", key.ID, summary)
	})
	if err != nil {
		return nil, "", err
	}
	return key, secretText, nil
}

var errKeyNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "API key not found.")

// List lists the organization's keys: api read.
func (k *Keys) List(ctx context.Context, c *Caller, page gatehouse.PageRequest) (gatehouse.Page[*gatehouse.APIKey], error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Read); err != nil {
		return gatehouse.Page[*gatehouse.APIKey]{}, err
	}
	keys, err := k.store.R().ListAPIKeys(ctx, c.OrgID, page)
	if err != nil {
		return gatehouse.Page[*gatehouse.APIKey]{}, err
	}
	return gatehouse.MakePage(keys, page, func(x *gatehouse.APIKey) gatehouse.Cursor { return gatehouse.Cursor{CreatedAt: x.CreatedAt, ID: x.ID} }), nil
}

// Get returns one key: api read.
func (k *Keys) Get(ctx context.Context, c *Caller, id string) (*gatehouse.APIKey, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Read); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errKeyNotFound
	}
	return k.store.R().APIKey(ctx, c.OrgID, id)
}

// Revoke deletes a key: api delete. It stops working on the next request.
func (k *Keys) Revoke(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgAPI, authz.Delete); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errKeyNotFound
	}
	return k.store.Tx(ctx, func(tx *store.Conn) error {
		key, err := tx.APIKey(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteAPIKey(ctx, c.OrgID, id); err != nil {
			return err
		}
		if err := k.audit(ctx, tx, c.Actor, c.OrgID, "api_key.revoked", "api_key", id, map[string]any{"name": key.Name, "prefix": key.Prefix}); err != nil {
			return err
		}
		return tx.Notify(ctx, apiKeyEnded(id))
	})
}
