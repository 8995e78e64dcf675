package service

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// Explanation answers "may this member do this action here?" with every
// grant behind the answer, each in words (the dashboard's Check access, the
// seed's "test permission").
type Explanation struct {
	Allowed   bool
	GrantedBy string // as the check's granted_by; "" when denied
	// Via lists every grant that gives some of the asked actions; a denied
	// check may still list grants that give part of them.
	Via []ExplainedGrant
	// Missing names the asked actions nothing gives ("write, delete").
	Missing string
}

// ExplainedGrant is one reason with the grant it points at, in words.
type ExplainedGrant struct {
	Reason
	Words []string // the grant as Describe puts it
}

// Explain checks one action of a member (oneself always; others with
// members or audit read) on the organization, a project or a folder, and
// explains it. The resource must be the organization's (404 otherwise); a
// malformed question is a 400 naming the field.
func (l *Lookups) Explain(ctx context.Context, c *Caller, userID string, q SubjectQuery) (*Explanation, error) {
	if userID == "" {
		return nil, errMemberNotFound
	}
	set, err := l.subjectSet(ctx, c, userID)
	if err != nil {
		return nil, err
	}
	res, action, err := l.parseSubjectQuery(ctx, c, q)
	if err != nil {
		return nil, err
	}
	conn := l.store.R()
	m, err := conn.Membership(ctx, c.OrgID, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errMemberNotFound
	}
	if err != nil {
		return nil, err
	}
	var role *gatehouse.Role
	if m.RoleID != "" {
		if role, err = l.access.role(ctx, c.OrgID, m.RoleID); err != nil {
			return nil, err
		}
	}
	ok, by := set.Check(res, q.Name, action)
	out := &Explanation{Allowed: ok}
	if ok {
		out.GrantedBy = by.String()
	}
	var given authz.Action
	for _, r := range set.Explain(res, q.Name, action) {
		given |= r.Action
		var g *gatehouse.Grant
		switch src := r.Grant.Source; {
		case strings.HasPrefix(src, "role:") && role != nil:
			if gs := role.GrantsFor(c.OrgID); r.Grant.Index < len(gs) {
				g = &gs[r.Grant.Index]
			}
		case src == directLabel && r.Grant.Index < len(m.Grants):
			g = &m.Grants[r.Grant.Index]
		}
		eg := ExplainedGrant{Reason: reasons([]authz.Reason{r})[0]}
		if g != nil {
			words, err := l.Describe(ctx, conn, c.OrgID, nil, []gatehouse.Grant{*g})
			if err != nil {
				return nil, err
			}
			eg.Words = words
		}
		out.Via = append(out.Via, eg)
	}
	if missing := action &^ given; missing != 0 {
		out.Missing = strings.ReplaceAll(missing.String(), "+", ", ")
	}
	return out, nil
}
