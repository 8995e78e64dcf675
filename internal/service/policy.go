package service

// The organization's invitation policy: who may invite whom, how many, for
// how long, and how many seats the organization has. It lives in the
// organization's settings document, beside the keys other areas keep there.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Who may invite, per organization policy.
const (
	InviteMembersWrite = "members_write" // anyone with members write (the default)
	InviteOwners       = "owners"        // owners only
)

// Policy is an organization's invitation policy.
type Policy struct {
	AllowedDomains    []string `json:"allowed_domains"`
	InvitationsPerDay int      `json:"invitations_per_day"`
	DefaultExpiryDays int      `json:"default_expiry_days"`
	MaxExpiryDays     int      `json:"max_expiry_days"`
	SeatLimit         *int     `json:"seat_limit"`
	WhoCanInvite      string   `json:"who_can_invite"`
	// RedirectURL is where browsers land after accepting an invitation
	// without a redirect_url of its own ("" for none); redirects.go.
	RedirectURL string `json:"redirect_url"`
	// RemindAfterDays sends one reminder of a still pending invitation
	// that many days after it was sent (nil: none); reminders.go.
	RemindAfterDays *int `json:"remind_after_days"`
	// RequireMFA is kept in its own table (mfa_policy.go), not in settings.
	RequireMFA bool `json:"require_mfa"`
}

// PolicyOf reads an organization's policy from its settings, with the
// defaults for what is not set. Every invitation reads it, so a settings
// document parsed lately is not parsed again (policyMemo).
func PolicyOf(o *gatehouse.Organization) Policy {
	slot := &policyMemo[maphash.Bytes(policySeed, o.Settings)%uint64(len(policyMemo))]
	if e := slot.Load(); e != nil && e.settings == string(o.Settings) {
		return e.policy.clone()
	}
	p := parsePolicy(o.Settings)
	if len(o.Settings) <= maxMemoSettings {
		slot.Store(&memoPolicy{settings: string(o.Settings), policy: p.clone()})
	}
	return p
}

// policyMemo keeps the policies of recently read settings documents:
// decoding the JSON on every invitation was 1.2% of its CPU (issue 17). A
// policy is a function of the document alone, so an entry is keyed by the
// document itself and never goes stale; a slot taken by another document
// is simply replaced, and the fixed number of slots (and maxMemoSettings)
// bounds the memory. Entries are never handed out: callers get clones
// (clone), which they may change.
var (
	policyMemo [64]atomic.Pointer[memoPolicy]
	policySeed = maphash.MakeSeed()
)

const maxMemoSettings = 4 << 10

type memoPolicy struct {
	settings string
	policy   Policy
}

// clone copies p with its own slice and pointers.
func (p Policy) clone() Policy {
	p.AllowedDomains = slices.Clone(p.AllowedDomains)
	if p.SeatLimit != nil {
		n := *p.SeatLimit
		p.SeatLimit = &n
	}
	if p.RemindAfterDays != nil {
		n := *p.RemindAfterDays
		p.RemindAfterDays = &n
	}
	return p
}

// parsePolicy decodes a settings document's policy, defaults filled in.
func parsePolicy(settings json.RawMessage) Policy {
	var p Policy
	_ = json.Unmarshal(settings, &p)
	if p.AllowedDomains == nil {
		p.AllowedDomains = []string{}
	}
	if p.InvitationsPerDay <= 0 {
		p.InvitationsPerDay = DefaultInvitationsPerDay
	}
	if p.MaxExpiryDays < 1 || p.MaxExpiryDays > MaxInvitationDays {
		p.MaxExpiryDays = MaxInvitationDays
	}
	if p.DefaultExpiryDays < 1 {
		p.DefaultExpiryDays = DefaultInvitationDays
	}
	if p.DefaultExpiryDays > p.MaxExpiryDays {
		p.DefaultExpiryDays = p.MaxExpiryDays
	}
	if p.WhoCanInvite != InviteOwners {
		p.WhoCanInvite = InviteMembersWrite
	}
	return p
}

// PolicyPatch changes some of the policy; nil leaves a field as it is.
// ClearSeatLimit removes the seat limit.
type PolicyPatch struct {
	AllowedDomains    *[]string
	InvitationsPerDay *int
	DefaultExpiryDays *int
	MaxExpiryDays     *int
	SeatLimit         *int
	ClearSeatLimit    bool
	WhoCanInvite      *string
	RedirectURL       *string // "" removes it
	RemindAfterDays   *int
	ClearRemind       bool
	RequireMFA        *bool
}

// MaxAllowedDomains bounds allowed_domains.
const MaxAllowedDomains = 100

// GetPolicy returns the policy: organization settings read.
func (s *Orgs) GetPolicy(ctx context.Context, c *Caller) (Policy, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return Policy{}, err
	}
	o, err := s.store.R().OrgByID(ctx, c.OrgID)
	if err != nil {
		return Policy{}, err
	}
	p := PolicyOf(o)
	p.RequireMFA, err = s.store.R().OrgRequiresMFA(ctx, c.OrgID)
	return p, err
}

// UpdatePolicy changes the policy: organization settings write. Domains are
// lower-cased host names; limits are positive; the default expiry may not
// pass the maximum. A seat limit below today's seats is allowed: it stops
// new invitations and accepts until seats free up.
func (s *Orgs) UpdatePolicy(ctx context.Context, c *Caller, in PolicyPatch) (Policy, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return Policy{}, err
	}
	if err := checkRequireMFA(c, in.RequireMFA); err != nil {
		return Policy{}, err
	}
	var out Policy
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.LockOrg(ctx, c.OrgID); err != nil {
			return err
		}
		o, err := tx.OrgByID(ctx, c.OrgID)
		if err != nil {
			return err
		}
		p := PolicyOf(o)
		if p.RequireMFA, err = tx.OrgRequiresMFA(ctx, c.OrgID); err != nil {
			return err
		}
		before := p
		var ferrs []*gatehouse.FieldError
		if in.AllowedDomains != nil {
			ds, ferr := validateDomains("allowed_domains", *in.AllowedDomains)
			ferrs = append(ferrs, ferr)
			p.AllowedDomains = ds
		}
		if in.InvitationsPerDay != nil {
			if *in.InvitationsPerDay < 1 || *in.InvitationsPerDay > 100000 {
				ferrs = append(ferrs, &gatehouse.FieldError{Field: "invitations_per_day", Message: "must be from 1 to 100000"})
			}
			p.InvitationsPerDay = *in.InvitationsPerDay
		}
		if in.MaxExpiryDays != nil {
			if *in.MaxExpiryDays < 1 || *in.MaxExpiryDays > MaxInvitationDays {
				ferrs = append(ferrs, &gatehouse.FieldError{Field: "max_expiry_days", Message: fmt.Sprintf("must be from 1 to %d", MaxInvitationDays)})
			}
			p.MaxExpiryDays = *in.MaxExpiryDays
		}
		if in.DefaultExpiryDays != nil {
			if *in.DefaultExpiryDays < 1 || *in.DefaultExpiryDays > MaxInvitationDays {
				ferrs = append(ferrs, &gatehouse.FieldError{Field: "default_expiry_days", Message: fmt.Sprintf("must be from 1 to %d", MaxInvitationDays)})
			}
			p.DefaultExpiryDays = *in.DefaultExpiryDays
		}
		if p.DefaultExpiryDays > p.MaxExpiryDays {
			ferrs = append(ferrs, &gatehouse.FieldError{Field: "default_expiry_days", Message: "must not exceed max_expiry_days"})
		}
		if in.ClearSeatLimit {
			p.SeatLimit = nil
		} else if in.SeatLimit != nil {
			if *in.SeatLimit < 1 || *in.SeatLimit > 1000000 {
				ferrs = append(ferrs, &gatehouse.FieldError{Field: "seat_limit", Message: "must be from 1 to 1000000, or null for none"})
			}
			n := *in.SeatLimit
			p.SeatLimit = &n
		}
		if in.WhoCanInvite != nil {
			if *in.WhoCanInvite != InviteMembersWrite && *in.WhoCanInvite != InviteOwners {
				ferrs = append(ferrs, &gatehouse.FieldError{Field: "who_can_invite", Message: "must be members_write or owners"})
			}
			p.WhoCanInvite = *in.WhoCanInvite
		}
		if err := fields(ferrs...); err != nil {
			return err
		}
		if in.RedirectURL != nil {
			if p.RedirectURL, err = s.redirectAllowed("redirect_url", *in.RedirectURL); err != nil {
				return err
			}
		}
		if err := s.patchRemind(ctx, tx, c.OrgID, &p, in); err != nil { // reminders.go
			return err
		}
		if p.RequireMFA, err = s.applyRequireMFA(ctx, tx, c, in.RequireMFA); err != nil {
			return err
		}
		settings := map[string]any{}
		if len(o.Settings) > 0 {
			if err := json.Unmarshal(o.Settings, &settings); err != nil {
				return gatehouse.Internal(err)
			}
		}
		settings["allowed_domains"] = p.AllowedDomains
		settings["invitations_per_day"] = p.InvitationsPerDay
		settings["default_expiry_days"] = p.DefaultExpiryDays
		settings["max_expiry_days"] = p.MaxExpiryDays
		settings["seat_limit"] = p.SeatLimit
		settings["who_can_invite"] = p.WhoCanInvite
		settings["redirect_url"] = p.RedirectURL
		settings["remind_after_days"] = p.RemindAfterDays
		if o.Settings, err = json.Marshal(settings); err != nil {
			return gatehouse.Internal(err)
		}
		o.UpdatedAt = s.now()
		if err := tx.UpdateOrg(ctx, o); err != nil {
			return err
		}
		out = p
		return s.audit(ctx, tx, c.Actor, o.ID, "organization.policy_updated", "organization", o.ID,
			map[string]any{"before": before, "after": p})
	})
	return out, err
}

// validateDomains decides which allowed_domains are valid: host names with
// a dot, at most MaxAllowedDomains, stored lower-case without duplicates.
func validateDomains(field string, in []string) ([]string, *gatehouse.FieldError) {
	if len(in) > MaxAllowedDomains {
		return nil, &gatehouse.FieldError{Field: field, Message: fmt.Sprintf("must list at most %d domains", MaxAllowedDomains)}
	}
	seen := map[string]bool{}
	out := []string{}
	for i, d := range in {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if !validDomain(d) {
			return nil, &gatehouse.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Message: "must be a domain name such as example.com"}
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// DomainAllowed decides whether an email address may be invited (or join
// by link) under a list of allowed domains: any when the list is empty.
func DomainAllowed(domains []string, email string) bool {
	if len(domains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	host := strings.ToLower(email[at+1:])
	for _, d := range domains {
		if host == d {
			return true
		}
	}
	return false
}

// checkInvitePolicy applies the policy to one new invitation: who may
// invite, the email's domain and the expiry (days is nil for the default).
// It returns the invitation's validity in days. The seats are a count: the
// caller checks them under the organization's lock (checkSeats).
func (b *base) checkInvitePolicy(ctx context.Context, tx *store.Conn, c *Caller, p Policy, email string, days *int) (int, error) {
	if p.WhoCanInvite == InviteOwners {
		if err := c.Require(authz.Organization(), gatehouse.OrgOwner, authz.All); err != nil {
			return 0, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "forbidden", Message: "The organization's policy lets only owners invite."}
		}
	}
	if !DomainAllowed(p.AllowedDomains, email) {
		return 0, fields(&gatehouse.FieldError{Field: "email", Message: "is not in a domain the organization allows (" + strings.Join(p.AllowedDomains, ", ") + ")"})
	}
	d := p.DefaultExpiryDays
	if days != nil {
		d = *days
		if d > p.MaxExpiryDays {
			return 0, fields(&gatehouse.FieldError{Field: "expires_in_days", Message: fmt.Sprintf("must be at most %d, the organization's maximum", p.MaxExpiryDays)})
		}
	}
	return d, nil
}

// checkSeats refuses with 409 seat_limit when adding more seats would pass
// the limit: members plus live pending invitations when inviting (pending
// true), members only when an invitation or link turns into a member.
func (b *base) checkSeats(ctx context.Context, tx *store.Conn, orgID string, p Policy, more int, pending bool) error {
	if p.SeatLimit == nil {
		return nil
	}
	used, err := tx.CountSeats(ctx, orgID, pending, b.now())
	if err != nil {
		return err
	}
	if used+more > *p.SeatLimit {
		return seatLimit(*p.SeatLimit)
	}
	return nil
}

func seatLimit(limit int) error {
	return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "seat_limit",
		Message: fmt.Sprintf("The organization has reached its seat limit of %d (members plus pending invitations).", limit),
		Extra:   map[string]any{"seat_limit": limit}}
}

// checkAcceptSeats re-checks the seat limit when an invitation is accepted
// (the limit may have been lowered since it was sent).
func (b *base) checkAcceptSeats(ctx context.Context, tx *store.Conn, orgID string) error {
	o, err := tx.OrgByID(ctx, orgID)
	if err != nil {
		return err
	}
	return b.checkSeats(ctx, tx, orgID, PolicyOf(o), 1, false)
}
