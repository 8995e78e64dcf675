package scim

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// PATCH (RFC 7644 §3.5.2), as Entra ID and Okta send it: ops in any case
// ("Replace"), with or without a path, paths with value filters
// (members[value eq "…"]).

type patchOp struct {
	op    string // add, replace or remove
	path  *filter.Path
	raw   string
	value any
}

// patchOps reads a PatchOp body.
func patchOps(body map[string]any) ([]patchOp, error) {
	if s, ok := attr(body, "schemas"); ok {
		list, _ := s.([]any)
		found := false
		for _, v := range list {
			found = found || v == SchemaPatchOp
		}
		if !found {
			return nil, syntaxError("schemas must list " + SchemaPatchOp + ".")
		}
	}
	raw, ok := attr(body, "Operations")
	list, isList := raw.([]any)
	if !ok || !isList || len(list) == 0 {
		return nil, syntaxError("Operations must be a non-empty list of {op, path, value}.")
	}
	if len(list) > maxPatchOps {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "tooMany", Message: "At most 100 operations per PATCH."}
	}
	ops := make([]patchOp, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, syntaxError("Each operation must be an object {op, path, value}.")
		}
		o, _ := attr(m, "op")
		name, _ := o.(string)
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "add" && name != "replace" && name != "remove" {
			return nil, syntaxError("op must be add, replace or remove.")
		}
		op := patchOp{op: name}
		op.value, _ = attr(m, "value")
		if p, ok := attr(m, "path"); ok && p != nil {
			s, isStr := p.(string)
			if !isStr {
				return nil, pathError("path must be a string.")
			}
			if s = strings.TrimSpace(s); s != "" {
				parsed, err := filter.ParsePath([]byte(s))
				if err != nil {
					return nil, pathError("path is not a valid SCIM path: " + s)
				}
				op.path, op.raw = &parsed, s
			}
		}
		switch {
		case op.path == nil && name == "remove":
			return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "noTarget", Message: "remove needs a path."}
		case op.path == nil:
			if _, ok := op.value.(map[string]any); !ok {
				return nil, syntaxError("An operation without a path needs an object value.")
			}
		case name != "remove" && op.value == nil:
			return nil, syntaxError(name + " needs a value.")
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// pathAttr is a path's attribute name, lower-cased, with its schema URN
// prefix when it is not the core one.
func pathAttr(p *filter.Path, core string) (name, sub string) {
	name = strings.ToLower(p.AttributePath.AttributeName)
	if p.AttributePath.URIPrefix != nil && !strings.EqualFold(*p.AttributePath.URIPrefix, core) {
		name = strings.ToLower(*p.AttributePath.URIPrefix) + ":" + name
	}
	sub = strings.ToLower(p.AttributePath.SubAttributeName())
	if p.SubAttribute != nil {
		sub = strings.ToLower(*p.SubAttribute)
	}
	return name, sub
}

// applyUserOp applies one operation to a user's attributes.
func applyUserOp(in *service.SCIMUserInput, op patchOp) error {
	if op.path == nil {
		for k, v := range op.value.(map[string]any) {
			if strings.Contains(k, "[") {
				// A filtered path as a key (Entra: "emails[type eq \"work\"].value").
				p, err := filter.ParsePath([]byte(k))
				if err != nil {
					return pathError("Not a valid SCIM path: " + k)
				}
				if err := applyUserOp(in, patchOp{op: op.op, path: &p, raw: k, value: v}); err != nil {
					return err
				}
				continue
			}
			if err := setUserAttr(in, strings.ToLower(k), "", v, false); err != nil {
				return err
			}
		}
		return nil
	}
	name, sub := pathAttr(op.path, SchemaUser)
	if op.path.ValueExpression != nil && name != "emails" {
		if ignoredUserAttrs[name] {
			return nil
		}
		return pathError("Value filters are supported on emails (and on Groups' members) only.")
	}
	return setUserAttr(in, name, sub, op.value, op.op == "remove")
}

// memberValues reads [{"value": "<user id>"}, …] (or one such object).
func memberValues(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap {
			list = []any{m}
		} else {
			return nil, valueError("members must be a list of {\"value\": \"<user id>\"}.")
		}
	}
	if len(list) > maxMembersChanged {
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "tooMany", Message: "At most 1000 members per operation."}
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, valueError("members must be a list of {\"value\": \"<user id>\"}.")
		}
		val, _ := attr(m, "value")
		s, ok := val.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, valueError("Each member needs a value: the user's id.")
		}
		out = append(out, s)
	}
	return out, nil
}

// applyGroupOp adds one operation to a group change. displayName may be
// "set" to the role's own name only (group names are role names).
func applyGroupOp(ch *service.GroupChange, roleName string, op patchOp) error {
	if op.path == nil {
		for k, v := range op.value.(map[string]any) {
			p := &filter.Path{AttributePath: filter.AttributePath{AttributeName: k}}
			if err := applyGroupOp(ch, roleName, patchOp{op: op.op, path: p, value: v}); err != nil {
				return err
			}
		}
		return nil
	}
	name, sub := pathAttr(op.path, SchemaGroup)
	switch name {
	case "members":
		if sub != "" && sub != "value" {
			return pathError("Only members or members[value eq \"…\"] may be changed.")
		}
		if op.path.ValueExpression != nil {
			if op.op != "remove" {
				return pathError("A members value filter works with remove only.")
			}
			ids, err := memberFilterIDs(op.path.ValueExpression)
			if err != nil {
				return pathError(err.Error())
			}
			ch.Remove = append(ch.Remove, ids...)
			return nil
		}
		var ids []string
		if op.value != nil {
			var err error
			if ids, err = memberValues(op.value); err != nil {
				return err
			}
		}
		switch op.op {
		case "add":
			ch.Add = append(ch.Add, ids...)
		case "replace":
			ch.Replace, ch.Add, ch.Remove = &ids, nil, nil
		case "remove":
			if op.value == nil {
				empty := []string{}
				ch.Replace, ch.Add, ch.Remove = &empty, nil, nil
			} else {
				ch.Remove = append(ch.Remove, ids...)
			}
		}
		return nil
	case "displayname":
		if s, _ := op.value.(string); op.op != "remove" && strings.EqualFold(strings.TrimSpace(s), roleName) {
			return nil
		}
		return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "mutability",
			Message: "A group is one of the organization's roles: its displayName is the role's name (rename roles in Gatehouse)."}
	case "id", "schemas", "meta", "externalid":
		return nil
	}
	return pathError("Unknown Group attribute: " + name + ".")
}
