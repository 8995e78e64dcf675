package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// APIKeyPrefix starts every key secret, so secret scanners can find leaks.
const APIKeyPrefix = "gh_key_"

// Keys manages API keys and authenticates them.
type Keys struct {
	*base
	access *Access

	mu    sync.RWMutex
	cache map[string]cachedKey // secret hash → key
	// used collects last-use times, written in batches by FlushLastUsed.
	usedMu sync.Mutex
	used   map[string]time.Time
	// sets memoises each key's capped rights (key id → keySetEntry).
	sets sync.Map
}

type cachedKey struct {
	key      *gatehouse.APIKey
	cachedAt time.Time
}

func apiKeyEnded(id string) string { return "apikey:" + id }

func newKeys(b *base, access *Access) *Keys {
	k := &Keys{base: b, access: access, cache: map[string]cachedKey{}, used: map[string]time.Time{}}
	b.store.Subscribe(func(msg string) {
		if msg == store.FlushAll || strings.HasPrefix(msg, "apikey:") {
			id := strings.TrimPrefix(msg, "apikey:")
			k.mu.Lock()
			for h, c := range k.cache {
				if msg == store.FlushAll || c.key.ID == id {
					delete(k.cache, h)
				}
			}
			k.mu.Unlock()
		}
	})
	access.keyRights = k.rights
	return k
}

// keySetEntry memoises a key's capped rights for one tree and one creator set.
type keySetEntry struct {
	tree    *authz.Tree
	creator *authz.Set
	set     *authz.Set
}

// rights is the key's own grants capped by its creator's current rights: a
// key never does more than the person who made it can do now.
func (k *Keys) rights(ctx context.Context, p *gatehouse.Principal, creator *authz.Set) (*authz.Set, error) {
	tree, err := k.access.Tree(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if e, ok := k.sets.Load(p.APIKeyID); ok {
		if e := e.(keySetEntry); e.tree == tree && e.creator == creator {
			return e.set, nil
		}
	}
	key, err := k.store.R().APIKey(ctx, p.OrgID, p.APIKeyID)
	if err != nil {
		return nil, errBadKey
	}
	own := authz.Compile(p.OrgID, []authz.Source{{Label: "api_key", Grants: key.Grants}}, tree)
	if creator == nil {
		creator = authz.Compile(p.OrgID, nil, tree) // creator gone: nothing
	}
	set := authz.Intersect(own, creator)
	k.sets.Store(p.APIKeyID, keySetEntry{tree: tree, creator: creator, set: set})
	return set, nil
}

var errBadKey = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_api_key", Message: "The API key is invalid or has been revoked."}

// Authenticate resolves a key secret to its principal.
func (k *Keys) Authenticate(ctx context.Context, secretText string) (*gatehouse.Principal, error) {
	h := secret.HashToken(secretText)
	now := k.now()
	k.mu.RLock()
	c, ok := k.cache[h]
	k.mu.RUnlock()
	key := c.key
	if !ok || now.Sub(c.cachedAt) > sessionCacheTTL {
		var err error
		key, err = k.store.R().APIKeyBySecretHash(ctx, h)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, errBadKey
		}
		if err != nil {
			return nil, err
		}
		k.mu.Lock()
		if len(k.cache) > 100_000 {
			k.cache = map[string]cachedKey{}
		}
		k.cache[h] = cachedKey{key: key, cachedAt: now}
		k.mu.Unlock()
	}
	if !key.ExpiresAt.IsZero() && !now.Before(key.ExpiresAt) {
		return nil, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "api_key_expired",
			Message: "The API key expired on " + key.ExpiresAt.Format(time.RFC3339) + "; create a new one."}
	}
	k.usedMu.Lock()
	k.used[key.ID] = now
	k.usedMu.Unlock()
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
		if err := k.validateGrants(ctx, tx, c.OrgID, in.Grants, "permissions"); err != nil {
			return err
		}
		req, err := k.access.Compile(ctx, c.OrgID, "", in.Grants)
		if err != nil {
			return err
		}
		if err := c.RequireCovers(req, "give a key this access"); err != nil {
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
