package service

// The organization policy "two factors required" (require_mfa), and
// members' mfa_enabled.

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

var errOrgRequiresMFA = &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "mfa_required",
	Message: "This organization requires a second factor. Turn on an authenticator app (POST /v1/me/mfa/totp, then /v1/me/mfa/totp/confirm) or add a passkey (POST /v1/me/passkeys/options, then /v1/me/passkeys), and sign in again with it."}

// requireMFA decides whether the organization's requests are refused to a
// principal: only when the organization requires a second factor and the
// principal is a session opened without one (API keys are unaffected; an
// SSO session counts as satisfying it, its amr being "fed"). The policy is
// part of the organization's cached entry (orgEntry.requireMFA, loaded with
// its shape), dropped on every process when it changes.
func requireMFA(p *gatehouse.Principal, org *orgEntry) error {
	if p.Kind != gatehouse.PrincipalUser || gatehouse.MultiFactor(p.AMR) {
		return nil
	}
	if org.requireMFA {
		return errOrgRequiresMFA
	}
	return nil
}

// mfaPolicyChanged is the notification of a changed require_mfa.
func mfaPolicyChanged(orgID string) string { return "mfapolicy:" + orgID }

// MFAPolicy is an organization's second-factor policy with the members it
// locks out (or would, once turned on).
type MFAPolicy struct {
	RequireMFA bool
	WithoutMFA []store.MemberWithoutMFA
}

// maxLockoutList bounds the members listed by MFAPolicy.
const maxLockoutList = 500

// MFAPolicy answers the policy; it needs settings read.
func (o *Orgs) MFAPolicy(ctx context.Context, c *Caller) (*MFAPolicy, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return nil, err
	}
	return o.mfaPolicy(ctx, o.store.R(), c.OrgID)
}

func (o *Orgs) mfaPolicy(ctx context.Context, conn *store.Conn, orgID string) (*MFAPolicy, error) {
	on, err := conn.OrgRequiresMFA(ctx, orgID)
	if err != nil {
		return nil, err
	}
	without, err := conn.MembersWithoutMFA(ctx, orgID, maxLockoutList)
	if err != nil {
		return nil, err
	}
	return &MFAPolicy{RequireMFA: on, WithoutMFA: without}, nil
}

// SetMFAPolicy turns the requirement on or off; it needs settings write.
// Turning it on from a session without a second factor is refused: the
// caller would lock themselves out with their next request.
func (o *Orgs) SetMFAPolicy(ctx context.Context, c *Caller, require bool) (*MFAPolicy, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return nil, err
	}
	if err := checkRequireMFA(c, &require); err != nil {
		return nil, err
	}
	var out *MFAPolicy
	err := o.store.Tx(ctx, func(tx *store.Conn) error {
		if _, err := o.applyRequireMFA(ctx, tx, c, &require); err != nil {
			return err
		}
		var err error
		out, err = o.mfaPolicy(ctx, tx, c.OrgID)
		return err
	})
	return out, err
}

// checkRequireMFA refuses turning the requirement on from a session
// without a second factor: the caller would lock themselves out with their
// next request.
func checkRequireMFA(c *Caller, require *bool) error {
	if require != nil && *require && c.Principal.Kind == gatehouse.PrincipalUser && !gatehouse.MultiFactor(c.Principal.AMR) {
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "enroll_first",
			Message: "Sign in with a second factor before requiring one of everyone (you would be locked out)."}
	}
	return nil
}

// applyRequireMFA sets the requirement inside tx (nil leaves it) and
// answers it; a change is audited and drops every process's cached policy
// once it commits. PUT /policy/mfa and PATCH /policy both come here.
func (o *Orgs) applyRequireMFA(ctx context.Context, tx *store.Conn, c *Caller, require *bool) (bool, error) {
	if require == nil {
		return tx.OrgRequiresMFA(ctx, c.OrgID)
	}
	if err := tx.SetOrgRequireMFA(ctx, c.OrgID, *require, o.now()); err != nil {
		return false, err
	}
	if err := tx.Notify(ctx, mfaPolicyChanged(c.OrgID)); err != nil {
		return false, err
	}
	without, err := tx.MembersWithoutMFA(ctx, c.OrgID, maxLockoutList)
	if err != nil {
		return false, err
	}
	return *require, o.audit(ctx, tx, c.Actor, c.OrgID, "organization.mfa_policy_updated", "organization", c.OrgID,
		map[string]any{"require_mfa": *require, "members_without_mfa": len(without)})
}

// MFAEnabled answers which of the given users have a second factor on
// (for the member list).
func (s *Members) MFAEnabled(ctx context.Context, userIDs []string) (map[string]bool, error) {
	return s.store.R().UsersWithMFA(ctx, userIDs)
}
