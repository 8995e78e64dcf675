package gatehouse

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// List limits.
const (
	DefaultPageLimit = 25
	MaxPageLimit     = 100
)

// Cursor marks the last row of a page: lists are keyset-paginated on
// (created_at, id), newest first.
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// Encode returns the cursor as an opaque URL-safe string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by Encode.
func DecodeCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, Invalid("Invalid cursor.", FieldError{Field: "cursor", Message: "is not a cursor returned by this list"})
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || len(c.ID) > 64 || !utf8.ValidString(c.ID) || strings.ContainsRune(c.ID, 0) {
		return nil, Invalid("Invalid cursor.", FieldError{Field: "cursor", Message: "is not a cursor returned by this list"})
	}
	return &c, nil
}

// PageRequest asks for one page of a list.
type PageRequest struct {
	Limit int
	After *Cursor
}

// FetchLimit is one more than the page size, to detect a following page.
func (p PageRequest) FetchLimit() int {
	if p.Limit <= 0 {
		return DefaultPageLimit + 1
	}
	return p.Limit + 1
}

// Page is one page of a list and the cursor of the next, if any.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// MakePage trims a fetched slice (FetchLimit rows at most) to the page size
// and sets the next cursor from the last kept item.
func MakePage[T any](items []T, p PageRequest, key func(T) Cursor) Page[T] {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, NextCursor: key(items[len(items)-1]).Encode()}
}
