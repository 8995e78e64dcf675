package middleware

import (
	"fmt"
	"sync/atomic"
)

// AccessLogMode says which requests get an access line.
type AccessLogMode int

const (
	// AccessLogSampled logs every request except the quiet ones (successful
	// permission checks, /health, /metrics), of which it logs one in Every.
	AccessLogSampled AccessLogMode = iota
	// AccessLogAll logs every request.
	AccessLogAll
	// AccessLogErrors logs only answers of 400 and above.
	AccessLogErrors
)

// ParseAccessLogMode reads "sampled", "all" or "errors".
func ParseAccessLogMode(s string) (AccessLogMode, error) {
	switch s {
	case "sampled":
		return AccessLogSampled, nil
	case "all":
		return AccessLogAll, nil
	case "errors":
		return AccessLogErrors, nil
	}
	return 0, fmt.Errorf("must be sampled, all or errors")
}

// AccessLog is the policy deciding which requests Log writes a line for.
// A nil *AccessLog logs every request.
type AccessLog struct {
	Mode AccessLogMode
	// Quiet lists the route patterns (without method) whose successful
	// answers are sampled in AccessLogSampled mode.
	Quiet []string
	// Every is the sampling period of quiet requests (100 when 0).
	Every uint64
	// Unlogged, when set, is told about each request left out of the log.
	Unlogged func(route string)

	n atomic.Uint64
}

// keep decides whether the request gets an access line: a decision made
// before any attribute is built, so an unlogged request costs a counter.
func (a *AccessLog) keep(route string, status int) bool {
	if a == nil {
		return true
	}
	ok := true
	switch a.Mode {
	case AccessLogAll:
	case AccessLogErrors:
		ok = status >= 400
	case AccessLogSampled:
		if status < 400 && a.quiet(route) {
			every := a.Every
			if every == 0 {
				every = 100
			}
			ok = a.n.Add(1)%every == 1 || every == 1
		}
	}
	if !ok && a.Unlogged != nil {
		a.Unlogged(route)
	}
	return ok
}

func (a *AccessLog) quiet(route string) bool {
	for _, q := range a.Quiet {
		if q == route {
			return true
		}
	}
	return false
}
