package service

// Avatars: an uploaded PNG or JPEG is decoded with the standard library,
// cropped to its centred square and scaled down to AvatarSize, then stored
// as PNG. WebP, which the standard library cannot decode, is stored as sent
// (pages show it square with CSS).

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AvatarSize is the side, in pixels, of a stored (cropped) avatar.
const AvatarSize = 256

// MaxAvatarPixels bounds an upload's width and height before decoding, so
// that a small file cannot ask for gigabytes of pixels.
const MaxAvatarPixels = 8000

// squareImage crops data (of sniffed type ct) to its centred square of at
// most size pixels a side, as PNG. WebP is returned unchanged.
func squareImage(ct string, data []byte, size int, what string) (string, []byte, error) {
	if ct == "image/webp" {
		return ct, data, nil
	}
	unreadable := gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The %s could not be read as a PNG or JPEG image: it may be damaged.", what)
	var cfg image.Config
	var err error
	switch ct {
	case "image/png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	default:
		return "", nil, gatehouse.Errorf(gatehouse.EUNSUPPORTED, "The %s must be a PNG, JPEG or WebP image.", what)
	}
	if err != nil {
		return "", nil, unreadable
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxAvatarPixels || cfg.Height > MaxAvatarPixels {
		return "", nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The %s is %d×%d pixels; at most %d×%d are accepted.", what, cfg.Width, cfg.Height, MaxAvatarPixels, MaxAvatarPixels)
	}
	var img image.Image
	if ct == "image/png" {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return "", nil, unreadable
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, cropSquare(img, size)); err != nil {
		return "", nil, gatehouse.Internal(fmt.Errorf("encode %s: %w", what, err))
	}
	return "image/png", buf.Bytes(), nil
}

// cropSquare takes the centred square of img and scales it to at most
// size pixels a side, averaging up to 4×4 samples per output pixel.
func cropSquare(img image.Image, size int) *image.NRGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	out := min(side, size)
	dst := image.NewNRGBA(image.Rect(0, 0, out, out))
	samples := min(4, max(1, side/out))
	for y := 0; y < out; y++ {
		for x := 0; x < out; x++ {
			var r, g, bl, a, n uint64
			for sy := 0; sy < samples; sy++ {
				for sx := 0; sx < samples; sx++ {
					// The sample's position inside the output pixel's box.
					px := x0 + ((2*x*samples+2*sx+1)*side)/(2*out*samples)
					py := y0 + ((2*y*samples+2*sy+1)*side)/(2*out*samples)
					c := color.NRGBAModel.Convert(img.At(px, py)).(color.NRGBA)
					r, g, bl, a = r+uint64(c.R), g+uint64(c.G), bl+uint64(c.B), a+uint64(c.A)
					n++
				}
			}
			dst.SetNRGBA(x, y, color.NRGBA{R: uint8(r / n), G: uint8(g / n), B: uint8(bl / n), A: uint8(a / n)})
		}
	}
	return dst
}

// DeleteAvatar removes the caller's avatar; removing none is not an error.
func (a *Auth) DeleteAvatar(ctx context.Context, actor gatehouse.Actor, p *gatehouse.Principal) (*gatehouse.User, error) {
	if p.Kind != gatehouse.PrincipalUser {
		return nil, errUserOnly
	}
	var u *gatehouse.User
	err := a.store.Tx(ctx, func(tx *store.Conn) error {
		var err error
		if u, err = tx.UserByID(ctx, p.UserID); err != nil {
			return err
		}
		if u.AvatarType == "" {
			return nil
		}
		if err := tx.ClearAvatar(ctx, u.ID, a.now()); err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, p.UserID); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "", "user.avatar_removed", "user", u.ID, nil)
	})
	return u, err
}
