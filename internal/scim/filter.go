package scim

import (
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/gatehouse/gatehouse"
)

// Filters (RFC 7644 §3.4.2.2), parsed with scim2/filter-parser. Users are
// filtered by the store (eq on userName, emails.value, externalId, id and
// active, joined with and/or); groups, which are few, here.

func filterError(msg string) error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalidFilter", Message: msg}
}

// parseFilter parses the filter query parameter; "" is no filter.
func parseFilter(raw string) (filter.Expression, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if len(raw) > maxFilterBytes {
		return nil, filterError("The filter is too long.")
	}
	expr, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, filterError("The filter is not valid SCIM filter syntax: " + raw)
	}
	return expr, nil
}

// userAttr names the stored attribute an attribute path of a User means.
func userAttr(p filter.AttributePath) (string, bool) {
	if p.URIPrefix != nil && !strings.EqualFold(*p.URIPrefix, SchemaUser) {
		return "", false
	}
	name := strings.ToLower(p.AttributeName)
	sub := strings.ToLower(p.SubAttributeName())
	switch {
	case name == "username" && sub == "":
		return "userName", true
	case name == "externalid" && sub == "":
		return "externalId", true
	case name == "id" && sub == "":
		return "id", true
	case name == "active" && sub == "":
		return "active", true
	case name == "emails" && (sub == "" || sub == "value"):
		return "emails.value", true
	}
	return "", false
}

// userFilter turns a parsed filter into what the store answers.
func userFilter(expr filter.Expression) (*gatehouse.SCIMFilter, error) {
	switch e := expr.(type) {
	case nil:
		return nil, nil
	case *filter.LogicalExpression:
		l, err := userFilter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := userFilter(e.Right)
		if err != nil {
			return nil, err
		}
		return &gatehouse.SCIMFilter{Op: strings.ToLower(string(e.Operator)), Left: l, Right: r}, nil
	case *filter.AttributeExpression:
		return userLeaf(e.AttributePath, e.Operator, e.CompareValue)
	case *filter.ValuePath:
		// emails[value eq "…"]
		inner, ok := e.ValueFilter.(*filter.AttributeExpression)
		if !ok || !strings.EqualFold(e.AttributePath.AttributeName, "emails") || !strings.EqualFold(inner.AttributePath.AttributeName, "value") {
			return nil, filterError("Only emails[value eq \"…\"] is supported inside brackets.")
		}
		return userLeaf(filter.AttributePath{AttributeName: "emails", SubAttribute: ptr("value")}, inner.Operator, inner.CompareValue)
	}
	return nil, filterError(fmt.Sprintf("Unsupported filter: %v.", expr))
}

func ptr(s string) *string { return &s }

func userLeaf(p filter.AttributePath, op filter.CompareOperator, value any) (*gatehouse.SCIMFilter, error) {
	a, ok := userAttr(p)
	if !ok {
		return nil, filterError(fmt.Sprintf("Filtering on %s is not supported; use userName, emails.value, externalId, id or active.", p))
	}
	if !strings.EqualFold(string(op), string(filter.EQ)) {
		return nil, filterError(fmt.Sprintf("Only the eq operator is supported (not %s).", op))
	}
	v, err := compareString(a, value)
	if err != nil {
		return nil, err
	}
	return &gatehouse.SCIMFilter{Op: "eq", Attr: a, Value: v}, nil
}

// compareString is the value compared: a string, or for active a boolean.
func compareString(a string, value any) (string, error) {
	if a == "active" {
		switch v := value.(type) {
		case bool:
			return fmt.Sprint(v), nil
		case string:
			if b, ok := parseBool(v); ok {
				return fmt.Sprint(b), nil
			}
		}
		return "", filterError("active compares to true or false.")
	}
	s, ok := value.(string)
	if !ok {
		return "", filterError(a + " compares to a string.")
	}
	return s, nil
}

// groupMatch evaluates a filter on one group: displayName (case-insensitive),
// id, externalId (groups have none), members.value / members[value eq …].
func groupMatch(expr filter.Expression, g groupView) (bool, error) {
	switch e := expr.(type) {
	case nil:
		return true, nil
	case *filter.LogicalExpression:
		l, err := groupMatch(e.Left, g)
		if err != nil {
			return false, err
		}
		r, err := groupMatch(e.Right, g)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(string(e.Operator), "or") {
			return l || r, nil
		}
		return l && r, nil
	case *filter.NotExpression:
		m, err := groupMatch(e.Expression, g)
		return !m, err
	case *filter.ValuePath:
		if !strings.EqualFold(e.AttributePath.AttributeName, "members") {
			return false, filterError("Only members[…] is supported inside brackets for groups.")
		}
		ids, err := memberFilterIDs(e.ValueFilter)
		if err != nil {
			return false, filterError(err.Error())
		}
		for _, id := range ids {
			if g.hasMember(id) {
				return true, nil
			}
		}
		return false, nil
	case *filter.AttributeExpression:
		if !strings.EqualFold(string(e.Operator), string(filter.EQ)) {
			return false, filterError(fmt.Sprintf("Only the eq operator is supported (not %s).", e.Operator))
		}
		v, ok := e.CompareValue.(string)
		if !ok {
			return false, filterError("Group attributes compare to strings.")
		}
		name, sub := strings.ToLower(e.AttributePath.AttributeName), strings.ToLower(e.AttributePath.SubAttributeName())
		switch {
		case name == "displayname" && sub == "":
			return strings.EqualFold(v, g.Role.Name), nil
		case name == "id" && sub == "":
			return strings.EqualFold(v, g.Role.ID), nil
		case name == "externalid" && sub == "":
			return false, nil
		case name == "members" && (sub == "value" || sub == ""):
			return g.hasMember(v), nil
		}
		return false, filterError(fmt.Sprintf("Filtering groups on %s is not supported; use displayName, id or members.value.", e.AttributePath))
	}
	return false, filterError("Unsupported filter.")
}

// memberFilterIDs reads the user ids of a members value filter:
// value eq "…", joined by or.
func memberFilterIDs(expr filter.Expression) ([]string, error) {
	switch e := expr.(type) {
	case *filter.AttributeExpression:
		v, ok := e.CompareValue.(string)
		if !strings.EqualFold(e.AttributePath.AttributeName, "value") || !strings.EqualFold(string(e.Operator), "eq") || !ok {
			return nil, fmt.Errorf("members filters must be value eq \"<user id>\"")
		}
		return []string{v}, nil
	case *filter.LogicalExpression:
		if !strings.EqualFold(string(e.Operator), "or") {
			return nil, fmt.Errorf("members filters join value eq \"…\" with or only")
		}
		l, err := memberFilterIDs(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := memberFilterIDs(e.Right)
		if err != nil {
			return nil, err
		}
		return append(l, r...), nil
	}
	return nil, fmt.Errorf("members filters must be value eq \"<user id>\"")
}

// parseBool reads the booleans providers send, "True"/"False" strings
// included (Entra ID).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
