package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/gatehouse/gatehouse"
)

// RetryAfterOutage is the Retry-After, in seconds, of an answer given while
// the database cannot be reached.
const RetryAfterOutage = 2

// IsUnavailable reports whether err means the database cannot be reached at
// the moment (connection refused or cut, a wait that ran out, SQLite busy
// past its timeout), as opposed to a query that is wrong. The pools
// reconnect by themselves, so such errors end when the database is back.
func (s *Store) IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return true
	}
	return s.dialect.IsUnavailable(err)
}

// unavailable is the error answered while the database cannot be reached:
// 503 with Retry-After; the cause is only logged.
func unavailable(err error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Reason: "unavailable", RetryAfter: RetryAfterOutage,
		Message: "The service is briefly unavailable; retry shortly.", Cause: err}
}

// SetPart records whether a background part of the store (such as the
// PostgreSQL invalidation listener) works; /health names the parts down.
func (s *Store) SetPart(name string, up bool) { s.parts.Store(name, up) }

// Parts returns each recorded part and whether it is up.
func (s *Store) Parts() map[string]bool {
	out := map[string]bool{}
	s.parts.Range(func(k, v any) bool {
		out[k.(string)] = v.(bool)
		return true
	})
	return out
}
