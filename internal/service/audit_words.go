package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// EventStory is an audit event in words, for people: who, what changed and
// to what, the target by name ("Mia Member: Organization billing read →
// read, write; lost Full access to project Marketing").
type EventStory struct {
	Event    *gatehouse.AuditEvent
	Actor    string
	Target   TargetRef
	Sentence string
	// Changes is the before/after of an update, field by field, in words.
	Changes []FieldChange
}

// TargetRef names an event's target. Exists is false when it is gone (the
// name then comes from the event itself).
type TargetRef struct {
	Type, ID, Name string
	ProjectID      string // folders: their project
	Exists         bool
}

// FieldChange is one changed field of an update.
type FieldChange struct {
	Field, Before, After string
}

// Stories puts a page of events into words: audit read. Names are read
// once per page (members, roles, keys; projects and folders by id).
func (s *Audits) Stories(ctx context.Context, c *Caller, evs []*gatehouse.AuditEvent) ([]EventStory, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgAudit, authz.Read); err != nil {
		return nil, err
	}
	r, err := s.newNamer(ctx, c.OrgID, evs)
	if err != nil {
		return nil, err
	}
	out := make([]EventStory, len(evs))
	for i, e := range evs {
		if out[i], err = r.story(ctx, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// eventNamer resolves the names an audit page mentions.
type eventNamer struct {
	b        *base
	conn     *store.Conn
	orgID    string
	users    map[string]string
	projects map[string]string
	folders  map[string]*gatehouse.Folder
	roles    map[string]string
	keys     map[string]string
	// seen holds the names the page's own events recorded, by target id:
	// the last name of something deleted since.
	seen map[string]string
	// former are users no longer members; orgName is read once.
	former  map[string]string
	orgName *string
}

func (s *Audits) newNamer(ctx context.Context, orgID string, evs []*gatehouse.AuditEvent) (*eventNamer, error) {
	conn := s.store.R()
	n := &eventNamer{b: s.base, conn: conn, orgID: orgID, users: map[string]string{}, folders: map[string]*gatehouse.Folder{},
		roles: map[string]string{}, keys: map[string]string{}, seen: map[string]string{},
		former: map[string]string{}}
	ms, err := conn.OrgMemberships(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		n.users[m.UserID] = m.UserName
	}
	for _, r := range gatehouse.BuiltinRoles() {
		n.roles[r.ID] = r.Name
	}
	roles, err := conn.ListRoles(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		n.roles[r.ID] = r.Name
	}
	keys, err := conn.OrgAPIKeys(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		n.keys[k.ID] = k.Name
	}
	var projectIDs, folderIDs []string
	for _, e := range evs {
		sum := summaryOf(e)
		if _, ok := n.seen[e.TargetID]; !ok && e.TargetID != "" {
			name, _ := sum["name"].(string)
			if after, ok := pairOf(sum["name"])[1].(string); ok {
				name = after
			}
			if name != "" {
				n.seen[e.TargetID] = name
			}
		}
		switch e.TargetType {
		case "project":
			projectIDs = append(projectIDs, e.TargetID)
		case "folder":
			folderIDs = append(folderIDs, e.TargetID)
		}
		if p, ok := sum["project_id"].(string); ok && p != "" {
			projectIDs = append(projectIDs, p)
		}
		for _, v := range []any{sum["parent_id"], pairOf(sum["parent_id"])[0], pairOf(sum["parent_id"])[1]} {
			if p, ok := v.(string); ok && p != "" {
				folderIDs = append(folderIDs, p)
			}
		}
	}
	if n.projects, err = conn.ProjectNames(ctx, orgID, uuids(projectIDs)); err != nil {
		return nil, err
	}
	fs, err := conn.FoldersByID(ctx, orgID, uuids(folderIDs))
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		n.folders[f.ID] = f
	}
	return n, nil
}

// uuids keeps the well-formed ids, once each.
func uuids(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if authz.IsUUID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func summaryOf(e *gatehouse.AuditEvent) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(e.Summary, &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// pairOf reads a {"before": …, "after": …} value.
func pairOf(v any) [2]any {
	m, ok := v.(map[string]any)
	if !ok {
		return [2]any{}
	}
	return [2]any{m["before"], m["after"]}
}

var targetWords = map[string]string{
	"organization": "Organization", "project": "Project", "folder": "Folder", "member": "Member",
	"invitation": "Invitation to", "invite_link": "Invite link", "api_key": "API key", "role": "Role", "user": "User",
	"session": "Session", "identity": "Sign-in method", "webhook_endpoint": "Webhook endpoint", "sso_connection": "SSO connection",
}

// target names an event's target, from the store while it exists, else
// from what the event recorded.
func (n *eventNamer) target(ctx context.Context, e *gatehouse.AuditEvent, sum map[string]any) TargetRef {
	t := TargetRef{Type: e.TargetType, ID: e.TargetID}
	str := func(k string) string { s, _ := sum[k].(string); return s }
	switch e.TargetType {
	case "project":
		t.Name, t.Exists = n.projects[e.TargetID]
	case "folder":
		if f, ok := n.folders[e.TargetID]; ok {
			t.Name, t.ProjectID, t.Exists = f.Name, f.ProjectID, true
		}
	case "member", "user":
		t.Name, t.Exists = n.users[e.TargetID]
		if !t.Exists && authz.IsUUID(e.TargetID) {
			name, ok := n.former[e.TargetID]
			if !ok {
				if u, err := n.conn.UserByID(ctx, e.TargetID); err == nil {
					name = u.Name
				}
				n.former[e.TargetID] = name
			}
			t.Name = name
		}
	case "role":
		t.Name, t.Exists = n.roles[e.TargetID]
	case "api_key":
		t.Name, t.Exists = n.keys[e.TargetID]
	case "invitation":
		t.Name = str("email")
		if authz.IsUUID(e.TargetID) {
			if inv, err := n.conn.Invitation(ctx, n.orgID, e.TargetID); err == nil {
				t.Name, t.Exists = inv.Email, true
			}
		}
	case "organization":
		if n.orgName == nil {
			name := ""
			if o, err := n.conn.OrgByID(ctx, n.orgID); err == nil {
				name = o.Name
			}
			n.orgName = &name
		}
		if e.TargetID == n.orgID && *n.orgName != "" {
			t.Name, t.Exists = *n.orgName, true
		}
	case "webhook_endpoint":
		t.Name = str("url")
		if authz.IsUUID(e.TargetID) {
			if ep, err := n.conn.WebhookEndpoint(ctx, n.orgID, e.TargetID); err == nil {
				t.Name, t.Exists = ep.URL, true
			}
		}
	}
	if t.Name == "" {
		for _, k := range []string{"name", "email", "url"} {
			if v := str(k); v != "" {
				t.Name = v
				break
			}
		}
		if v := pairOf(sum["name"])[1]; t.Name == "" && v != nil {
			t.Name, _ = v.(string)
		}
	}
	if t.Name == "" {
		t.Name = "a deleted " + strings.ToLower(strings.TrimSuffix(targetWordsOf(e.TargetType), " to"))
		if e.TargetType == "session" || e.TargetType == "invite_link" {
			t.Name = "a " + strings.ToLower(targetWordsOf(e.TargetType))
		}
	}
	return t
}

func targetWordsOf(t string) string {
	if w, ok := targetWords[t]; ok {
		return w
	}
	return strings.ReplaceAll(t, "_", " ")
}

func (n *eventNamer) story(ctx context.Context, e *gatehouse.AuditEvent) (EventStory, error) {
	sum := summaryOf(e)
	st := EventStory{Event: e, Actor: e.ActorName, Target: n.target(ctx, e, sum)}
	if st.Actor == "" {
		switch e.ActorKind {
		case gatehouse.ActorSystem:
			st.Actor = "Gatehouse"
		case gatehouse.ActorAnonymous:
			st.Actor = "Someone with a link"
		default:
			if name, ok := n.users[e.ActorID]; ok {
				st.Actor = name
			} else if name, ok := n.keys[e.ActorID]; ok {
				st.Actor = "API key " + name
			} else {
				st.Actor = "A former member"
			}
		}
	}
	changes, parts, err := n.changes(ctx, sum)
	if err != nil {
		return st, err
	}
	st.Changes = changes
	name := st.Target.Name
	thing := targetWordsOf(e.TargetType) + " " + name
	_, verb, _ := strings.Cut(e.Action, ".")
	verbWords := strings.ReplaceAll(verb, "_", " ")
	switch {
	case len(parts) > 0:
		st.Sentence = name + ": " + strings.Join(parts, "; ")
		if e.Action == "folder.moved" {
			st.Sentence = thing + " moved: " + strings.Join(parts, "; ")
		}
	case sum["permissions"] != nil:
		words, err := n.grantWords(ctx, sum["role_id"], sum["permissions"])
		if err != nil {
			return st, err
		}
		lead := map[string]string{"invitation.created": "Invited " + name, "member.added": name + " joined",
			"member.removed": name + " was removed", "member.left": name + " left"}[e.Action]
		if lead == "" {
			lead = thing + " " + verbWords
		}
		if e.Action == "member.removed" || e.Action == "member.left" {
			st.Sentence = lead + " (had: " + strings.Join(words, "; ") + ")"
		} else {
			st.Sentence = lead + " with: " + strings.Join(words, "; ")
		}
	case e.Action == "folder.created":
		st.Sentence = thing + " created in " + n.place(sum["parent_id"], sum["project_id"])
	case e.Action == "folder.deleted" && sum["recursive"] == true:
		st.Sentence = thing + " deleted with its subfolders"
	default:
		st.Sentence = thing + " " + verbWords
	}
	return st, nil
}

// place names where a folder sits: a folder, or a project's top level.
func (n *eventNamer) place(parent, project any) string {
	if p, _ := parent.(string); p != "" {
		if f, ok := n.folders[p]; ok {
			return "folder " + f.Name
		}
		if name, ok := n.seen[p]; ok {
			return "folder " + name + " (deleted)"
		}
		return "a deleted folder"
	}
	if p, _ := project.(string); p != "" {
		if name, ok := n.projects[p]; ok {
			return "the top level of " + name
		}
	}
	return "the top level"
}

// changes reads an update's before and after — whole objects under
// "before"/"after", or per field {"before", "after"} — into field changes
// and the sentence's parts.
func (n *eventNamer) changes(ctx context.Context, sum map[string]any) (out []FieldChange, parts []string, err error) {
	pairs := map[string][2]any{}
	if b, ok := sum["before"].(map[string]any); ok {
		a, _ := sum["after"].(map[string]any)
		for k, v := range b {
			pairs[k] = [2]any{v, a[k]}
		}
		for k, v := range a {
			if _, ok := b[k]; !ok {
				pairs[k] = [2]any{nil, v}
			}
		}
	} else {
		for k, v := range sum {
			if m, ok := v.(map[string]any); ok {
				if _, ok := m["before"]; ok {
					pairs[k] = pairOf(v)
				}
			}
		}
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	// The role first, then the permissions: they read as one change.
	sort.Slice(keys, func(i, j int) bool {
		rank := func(k string) int { return map[string]int{"name": 0, "role_id": 1, "permissions": 2}[k] }
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		p := pairs[k]
		if k == "permissions" {
			diff, before, after, err := n.accessDiff(ctx, p[0], p[1])
			if err != nil {
				return nil, nil, err
			}
			if len(diff) > 0 {
				parts = append(parts, diff...)
				out = append(out, FieldChange{Field: "access", Before: strings.Join(before, "; "), After: strings.Join(after, "; ")})
			}
			continue
		}
		before, after := n.value(k, p[0]), n.value(k, p[1])
		if before == after {
			continue
		}
		field := strings.ReplaceAll(strings.TrimSuffix(k, "_id"), "_", " ")
		if k == "parent_id" {
			field = "place"
		}
		out = append(out, FieldChange{Field: field, Before: before, After: after})
		parts = append(parts, field+" "+before+" → "+after)
	}
	return out, parts, nil
}

// value renders one field's value: ids by name.
func (n *eventNamer) value(field string, v any) string {
	s, isString := v.(string)
	switch {
	case field == "role_id":
		if s == "" {
			return "no role"
		}
		if name, ok := n.roles[s]; ok {
			return name
		}
		return "a deleted role"
	case field == "parent_id":
		return n.place(s, nil)
	case v == nil:
		return "none"
	case isString:
		if s == "" {
			return "empty"
		}
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func grantsOf(v any) []gatehouse.Grant {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var gs []gatehouse.Grant
	if json.Unmarshal(b, &gs) != nil {
		return nil
	}
	return gs
}

// grantWords describes a role and permissions recorded in an event.
func (n *eventNamer) grantWords(ctx context.Context, roleID, perms any) ([]string, error) {
	words, err := n.b.Describe(ctx, n.conn, n.orgID, nil, grantsOf(perms))
	if err != nil {
		return nil, err
	}
	if id, _ := roleID.(string); id != "" {
		role := "role " + n.value("role_id", id)
		if len(words) == 1 && words[0] == "No access yet" {
			return []string{role}, nil
		}
		words = append([]string{role}, words...)
	}
	return words, nil
}

// accessDiff compares two permission lists line by line in words: a line
// whose subject stays with another action reads "X a → b", one gone
// "lost X", one new "gained X".
func (n *eventNamer) accessDiff(ctx context.Context, before, after any) (diff, bw, aw []string, err error) {
	if bw, err = n.b.Describe(ctx, n.conn, n.orgID, nil, grantsOf(before)); err != nil {
		return nil, nil, nil, err
	}
	if aw, err = n.b.Describe(ctx, n.conn, n.orgID, nil, grantsOf(after)); err != nil {
		return nil, nil, nil, err
	}
	split := func(lines []string) (keys []string, vals map[string]string) {
		vals = map[string]string{}
		for _, l := range lines {
			if l == "No access yet" {
				continue
			}
			k, v, _ := strings.Cut(l, ": ")
			if _, dup := vals[k]; !dup {
				keys = append(keys, k)
			}
			vals[k] = v
		}
		return keys, vals
	}
	bk, bv := split(bw)
	ak, av := split(aw)
	for _, k := range bk {
		a, ok := av[k]
		switch {
		case !ok:
			diff = append(diff, "lost "+k)
		case a != bv[k]:
			diff = append(diff, fmt.Sprintf("%s %s → %s", k, bv[k], a))
		}
	}
	for _, k := range ak {
		if _, ok := bv[k]; !ok {
			diff = append(diff, "gained "+k+": "+av[k])
		}
	}
	return diff, bw, aw, nil
}
