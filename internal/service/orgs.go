package service

import (
	"context"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Orgs manages organizations.
type Orgs struct {
	*base
	access *Access
	auth   *Auth
}

func validateLogo(field, logo string) (string, *gatehouse.FieldError) {
	logo = strings.TrimSpace(logo)
	if logo == "" {
		return "", nil
	}
	u, err := url.Parse(logo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(logo) > 2048 {
		return "", &gatehouse.FieldError{Field: field, Message: "must be an http(s) URL of at most 2048 characters"}
	}
	return logo, nil
}

// Create makes an organization whose creator is its first owner, and the
// current organization of the calling session (and the user's choice for
// new sessions) where there was none.
func (s *Orgs) Create(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, name, logo string) (*gatehouse.Organization, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	name, nerr := validateName("name", name, true)
	logo, lerr := validateLogo("logo_url", logo)
	if err := fields(nerr, lerr); err != nil {
		return nil, err
	}
	now := s.now()
	o := &gatehouse.Organization{ID: newID(), Name: name, LogoURL: logo, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	sessionNeedsOrg := false
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		if err := tx.CreateOrg(ctx, o); err != nil {
			return err
		}
		m := &gatehouse.Membership{ID: newID(), OrgID: o.ID, UserID: p.UserID, RoleID: gatehouse.RoleOwnerID, CreatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return err
		}
		if u.CurrentOrgID == "" {
			if err := tx.SetCurrentOrg(ctx, u.ID, o.ID, now); err != nil {
				return err
			}
		}
		if sessionNeedsOrg = p.SessionID != "" && p.CurrentOrgID == ""; !sessionNeedsOrg && p.SessionID != "" {
			// The session's organization may be one the user has left.
			_, err := tx.Membership(ctx, p.CurrentOrgID, p.UserID)
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				sessionNeedsOrg = true
			} else if err != nil {
				return err
			}
		}
		if sessionNeedsOrg {
			if err := tx.SetSessionOrg(ctx, p.SessionID, o.ID); err != nil {
				return err
			}
		}
		if err := tx.Notify(ctx, memberChanged(o.ID, p.UserID)); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, o.ID, "organization.created", "organization", o.ID, map[string]any{"name": o.Name})
	})
	if err == nil && sessionNeedsOrg {
		s.auth.ended(ctx, p.SessionID) // cached principals carry the old organization
	}
	return o, err
}

// ListMine lists the caller's organizations.
func (s *Orgs) ListMine(ctx context.Context, p *gatehouse.Principal, page gatehouse.PageRequest) (gatehouse.Page[gatehouse.UserOrg], error) {
	if p.Kind == gatehouse.PrincipalAPIKey {
		o, err := s.store.R().OrgByID(ctx, p.OrgID)
		if err != nil {
			return gatehouse.Page[gatehouse.UserOrg]{}, err
		}
		return gatehouse.Page[gatehouse.UserOrg]{Items: []gatehouse.UserOrg{{Organization: o, JoinedAt: o.CreatedAt}}}, nil
	}
	items, err := s.store.R().ListUserOrgs(ctx, p.UserID, page)
	if err != nil {
		return gatehouse.Page[gatehouse.UserOrg]{}, err
	}
	return gatehouse.MakePage(items, page, func(o gatehouse.UserOrg) gatehouse.Cursor {
		return gatehouse.Cursor{CreatedAt: o.JoinedAt, ID: o.ID}
	}), nil
}

// Get returns the caller's organization; any member may read it.
func (s *Orgs) Get(ctx context.Context, c *Caller) (*gatehouse.Organization, error) {
	return s.store.R().OrgByID(ctx, c.OrgID)
}

// Update changes name and logo; nil leaves a field as it is. Needs
// organizations settings write.
func (s *Orgs) Update(ctx context.Context, c *Caller, name, logo *string) (*gatehouse.Organization, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return nil, err
	}
	var o *gatehouse.Organization
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if o, err = tx.OrgByID(ctx, c.OrgID); err != nil {
			return err
		}
		changes := map[string]any{}
		var ferrs []*gatehouse.FieldError
		if name != nil {
			n, ferr := validateName("name", *name, true)
			ferrs = append(ferrs, ferr)
			if ferr == nil && n != o.Name {
				changes["name"] = map[string]string{"before": o.Name, "after": n}
				o.Name = n
			}
		}
		if logo != nil {
			l, ferr := validateLogo("logo_url", *logo)
			ferrs = append(ferrs, ferr)
			if ferr == nil && l != o.LogoURL {
				changes["logo_url"] = map[string]string{"before": o.LogoURL, "after": l}
				o.LogoURL = l
			}
		}
		if err := fields(ferrs...); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		o.UpdatedAt = s.now()
		if err := tx.UpdateOrg(ctx, o); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, o.ID, "organization.updated", "organization", o.ID, changes)
	})
	return o, err
}

// Delete removes the organization with its projects, folders, memberships,
// invitations and keys; its audit events stay. Owners only.
func (s *Orgs) Delete(ctx context.Context, c *Caller) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgOwner, authz.All); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		o, err := tx.OrgByID(ctx, c.OrgID)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.Actor, o.ID, "organization.deleted", "organization", o.ID, map[string]any{"name": o.Name}); err != nil {
			return err
		}
		if err := tx.DeleteOrg(ctx, o.ID); err != nil {
			return err
		}
		return tx.Notify(ctx, orgChanged(o.ID))
	})
}

// Switch makes an organization the calling session's current one, and the
// one new sessions of the user start in; the user's other sessions stay
// where they are. Not a member → 404.
func (s *Orgs) Switch(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, orgID string) (*gatehouse.Organization, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	if !authz.IsUUID(orgID) {
		return nil, errOrgNotFound
	}
	var o *gatehouse.Organization
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := tx.Membership(ctx, orgID, p.UserID); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return errOrgNotFound
			}
			return err
		}
		var err error
		if o, err = tx.OrgByID(ctx, orgID); err != nil {
			return err
		}
		if err := tx.SetCurrentOrg(ctx, p.UserID, orgID, s.now()); err != nil {
			return err
		}
		if err := tx.SetSessionOrg(ctx, p.SessionID, orgID); err != nil {
			return err
		}
		// A preference of the user's, so in the chain of events outside any
		// organization, like the user's other changes.
		return s.audit(ctx, tx, actor, "", "user.organization_switched", "user", p.UserID,
			map[string]any{"organization_id": map[string]string{"before": p.CurrentOrgID, "after": orgID}, "session_id": p.SessionID})
	})
	if err == nil {
		// Every process forgets the cached session, whose organization changed.
		s.auth.ended(ctx, p.SessionID)
	}
	return o, err
}
