// Package authz validates permission lists (the grammar in the root package)
// and evaluates them. It knows nothing of HTTP or SQL: callers load grants
// and folder trees, and this package answers checks in memory, fast enough
// to run on every request.
package authz

import (
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Action is a set of actions as a bitmask, so that a grant's rights are
// tested with one AND.
type Action uint8

// Actions. All is what an empty action string means.
const (
	Read   Action = 1
	Write  Action = 2
	Delete Action = 4
	All           = Read | Write | Delete
)

// nbits is the number of distinct action bits.
const nbits = 3

var actionNames = [nbits]string{gatehouse.ActionRead, gatehouse.ActionWrite, gatehouse.ActionDelete}

// ParseAction parses "read", "write" and "delete" joined by "+", in any
// order, each at most once; "" means All. Tokens are case-sensitive.
// ActionCustom is not an action and is rejected here: only the folders area
// accepts it, and Validate handles that case.
func ParseAction(s string) (Action, error) {
	if s == "" {
		return All, nil
	}
	var a Action
	for rest := s; ; {
		tok, tail, more := strings.Cut(rest, "+")
		var bit Action
		switch tok {
		case gatehouse.ActionRead:
			bit = Read
		case gatehouse.ActionWrite:
			bit = Write
		case gatehouse.ActionDelete:
			bit = Delete
		case "":
			return 0, errors.New(`empty action between "+"; use read, write and delete joined by "+", or "" for every action`)
		case gatehouse.ActionCustom:
			return 0, errors.New(`"custom" is only valid as the action of the folders area`)
		default:
			return 0, errors.New(`unknown action "` + tok + `"; use read, write and delete joined by "+", or "" for every action`)
		}
		if a&bit != 0 {
			return 0, errors.New(`action "` + tok + `" appears more than once`)
		}
		a |= bit
		if !more {
			return a, nil
		}
		rest = tail
	}
}

// String renders the canonical form, "read+write+delete" order; the empty
// set is "none" (not "", which would parse back as All).
func (a Action) String() string {
	if a&All == 0 {
		return "none"
	}
	var b strings.Builder
	for i := range nbits {
		if a&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			b.WriteString(actionNames[i])
		}
	}
	return b.String()
}

// parseMask is ParseAction for evaluation: a malformed action grants nothing.
func parseMask(s string) Action {
	a, err := ParseAction(s)
	if err != nil {
		return 0
	}
	return a
}
