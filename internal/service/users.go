package service

import (
	"bytes"
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxAvatarBytes caps avatar uploads.
const MaxAvatarBytes = 2 << 20

// Me returns the caller's own account; its current organization is the
// calling session's.
func (a *Auth) Me(ctx context.Context, p *gatehouse.Principal) (*gatehouse.User, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	u, err := a.store.R().UserByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if p.SessionID != "" {
		u.CurrentOrgID = p.CurrentOrgID
		// A session cached before its user left the organization still
		// names it for a moment: it has none.
		if u.CurrentOrgID != "" && a.access != nil {
			if _, err := a.access.MemberRights(ctx, u.CurrentOrgID, u.ID); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				u.CurrentOrgID = ""
			} else if err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// UpdateMe changes the caller's profile. A nil field is left as it is.
func (a *Auth) UpdateMe(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, name *string) (*gatehouse.User, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	var u *gatehouse.User
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if u, err = tx.UserByID(ctx, p.UserID); err != nil {
			return err
		}
		if name == nil {
			return nil
		}
		n, ferr := validateName("name", *name, true)
		if err := fields(ferr); err != nil {
			return err
		}
		if n == u.Name {
			return nil
		}
		now := a.now()
		if err := tx.UpdateUserProfile(ctx, u.ID, n, now); err != nil {
			return err
		}
		// Look-ups show members' names from a cache (Lookups' rosters).
		if err := tx.Notify(ctx, userChanged(u.ID)); err != nil {
			return err
		}
		before := u.Name
		u.Name, u.UpdatedAt = n, now
		if err := a.userRenamed(ctx, tx, u.ID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.updated", "user", u.ID, map[string]any{"name": map[string]string{"before": before, "after": n}})
	})
	return u, err
}

// avatarTypes are the image types accepted, as sniffed from the bytes.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true}

// SniffImage returns the image type of data judged from its bytes alone.
func SniffImage(data []byte) string {
	// net/http's sniffer knows PNG and JPEG; WebP is RIFF....WEBP.
	if len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")) {
		return "image/webp"
	}
	return http.DetectContentType(data)
}

// SetAvatar stores a PNG, JPEG or WebP image of at most 2 MiB; PNG and
// JPEG are cropped to a centred square of AvatarSize pixels (avatar.go).
func (a *Auth) SetAvatar(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal, data []byte) (*gatehouse.User, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	if len(data) == 0 {
		return nil, gatehouse.Invalid("The avatar is empty: send the image bytes as the request body.")
	}
	if len(data) > MaxAvatarBytes {
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The avatar is larger than 2 MiB.")
	}
	ct := SniffImage(data)
	if !avatarTypes[ct] {
		return nil, gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The avatar must be a PNG, JPEG or WebP image.")
	}
	sent := len(data)
	ct, data, err := squareImage(ct, data, AvatarSize, "avatar")
	if err != nil {
		return nil, err
	}
	var u *gatehouse.User
	err = a.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := tx.SetAvatar(ctx, p.UserID, ct, data, a.now()); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, p.UserID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.avatar_updated", "user", u.ID, map[string]any{"type": ct, "bytes": len(data), "bytes_sent": sent})
	})
	return u, err
}

// Avatar returns a user's avatar image.
func (a *Auth) Avatar(ctx context.Context, userID string) (string, []byte, error) {
	if !storableText(userID) {
		return "", nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Avatar not found.")
	}
	ct, data, _, err := a.store.R().Avatar(ctx, userID)
	return ct, data, err
}
