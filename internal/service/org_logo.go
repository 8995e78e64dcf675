package service

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// An organization's uploaded logo: like avatars, PNG or JPEG cropped to a
// centred square (AvatarSize), WebP kept as sent, at most MaxAvatarBytes.

var errLogoNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "Logo not found.")

// SetLogo stores the organization's logo: organizations settings write. It
// answers the logo's version (it changes with every upload).
func (s *Orgs) SetLogo(ctx context.Context, c *Caller, data []byte) (int64, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, gatehouse.Invalid("The logo is empty: send the image bytes as the request body.")
	}
	if len(data) > MaxAvatarBytes {
		return 0, gatehouse.Errorf(gatehouse.ETOOLARGE, "The logo is larger than 2 MiB.")
	}
	ct := SniffImage(data)
	if !avatarTypes[ct] {
		return 0, gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The logo must be a PNG, JPEG or WebP image.")
	}
	sent := len(data)
	ct, data, err := squareImage(ct, data, AvatarSize, "logo")
	if err != nil {
		return 0, err
	}
	now := s.now()
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.SetOrgLogo(ctx, c.OrgID, ct, data, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "organization.logo_updated", "organization", c.OrgID,
			map[string]any{"type": ct, "bytes": len(data), "bytes_sent": sent})
	})
	return now.UnixMicro(), err
}

// DeleteLogo removes the organization's logo (settings write); removing
// none is not an error.
func (s *Orgs) DeleteLogo(ctx context.Context, c *Caller) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(tx *store.Conn) error {
		removed, err := tx.DeleteOrgLogo(ctx, c.OrgID)
		if err != nil || !removed {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "organization.logo_removed", "organization", c.OrgID, nil)
	})
}

// LogoVersion answers the version of the caller's organization's logo, 0
// without one (any member).
func (s *Orgs) LogoVersion(ctx context.Context, c *Caller) (int64, error) {
	return s.store.R().OrgLogoVersion(ctx, c.OrgID)
}

// Logo returns an organization's logo image to anyone, like avatars: it
// is shown on invitation pages to people who are not members yet.
func (s *Orgs) Logo(ctx context.Context, orgID string) (string, []byte, error) {
	if !authz.IsUUID(orgID) {
		return "", nil, errLogoNotFound
	}
	ct, data, _, err := s.store.R().OrgLogo(ctx, strings.ToLower(orgID))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return "", nil, errLogoNotFound
	}
	return ct, data, err
}
