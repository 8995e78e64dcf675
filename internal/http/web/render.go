package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// page is what every template receives.
type page struct {
	Title      string
	Layout     string // "app" (sidebar) or "auth" (a centred card)
	Nav        string // the sidebar item to highlight
	User       *gatehouse.User
	Org        *gatehouse.Organization
	Orgs       []gatehouse.UserOrg
	Can        caps
	Flash      *flash
	Form       *form
	DevMailbox bool
	Version    string
	Data       any
	// Social lists the configured sign-in providers ("google", "github").
	Social []string
	// Continue, when set, sends the browser on to this (already checked)
	// URL with a meta refresh: a redirect answering a form post may not
	// leave the origin under the CSP's form-action 'self'.
	Continue string
}

// caps says which parts of the sidebar the caller may open.
type caps struct {
	Members bool
	Invite  bool
	Keys    bool
	Audit   bool
	Project bool // create projects
	// Settings: the organization's settings page (settings read); Owner:
	// delete it and hand ownership on.
	Settings, SettingsWrite, Owner bool
}

func capsOf(c *service.Caller) caps {
	can := func(area string, a authz.Action) bool {
		ok, _ := c.Rights.Check(authz.Organization(), area, a)
		return ok
	}
	all := authz.Compile(c.OrgID, []authz.Source{{Label: "check", Grants: []gatehouse.Grant{{
		EntityType: gatehouse.EntityProjects, EntityID: gatehouse.AllProjects, Name: gatehouse.ProjectFullAccess, Permission: []gatehouse.AreaGrant{},
	}}}}, nil)
	return caps{
		Members:       can(gatehouse.OrgMembers, authz.Read),
		Invite:        can(gatehouse.OrgMembers, authz.Write),
		Keys:          can(gatehouse.OrgAPI, authz.Read),
		Audit:         can(gatehouse.OrgAudit, authz.Read),
		Project:       authz.Covers(c.Rights, all),
		Settings:      can(gatehouse.OrgSettings, authz.Read),
		SettingsWrite: can(gatehouse.OrgSettings, authz.Write),
		Owner:         can(gatehouse.OrgOwner, authz.All),
	}
}

// messageData is a page that only says something (errors, done, refused).
type messageData struct {
	Heading  string
	Text     string
	Link     string
	LinkText string
	Tone     string // "", "warn" or "error"
}

// form holds what the user typed and what is wrong with it.
type form struct {
	Values url.Values
	Errors map[string]string
	Error  string // not about one field
}

func newForm(v url.Values) *form {
	if v == nil {
		v = url.Values{}
	}
	return &form{Values: v, Errors: map[string]string{}}
}

// Get is a field's value as typed.
func (f *form) Get(name string) string { return f.Values.Get(name) }

// Has reports whether a check-box or radio named name has value v.
func (f *form) Has(name, v string) bool {
	for _, x := range f.Values[name] {
		if x == v {
			return true
		}
	}
	return false
}

// Err is the message for a field, "" when none.
func (f *form) Err(name string) string { return f.Errors[name] }

// Set records a message for a field.
func (f *form) Set(name, msg string) { f.Errors[name] = msg }

// HasErrors reports whether anything is wrong.
func (f *form) HasErrors() bool { return len(f.Errors) > 0 || f.Error != "" }

// fieldLabels name fields in messages ("Email is required").
var fieldLabels = map[string]string{
	"name": "Name", "email": "Email", "password": "Password", "otp": "Code", "new_password": "Password",
	"current_password": "Current password", "description": "Description", "logo_url": "Logo URL",
	"expires_in_days": "Expiry", "expires_at": "Expiry", "permissions": "Access", "role": "Role",
	"parent_id": "Parent folder", "reset_token": "Code", "from": "From", "to": "To", "action": "Action",
	"authentication": "Sign-in method",
	// Email templates, invite links and bulk invitations (emailtemplates.go, invitelinks.go).
	"subject": "Subject", "text": "Text", "html": "HTML", "max_uses": "Uses", "allowed_domains": "Allowed domains",
	"redirect_url": "Redirect URL", "emails": "Emails", "csv": "CSV file",
	"invitations_per_day": "Invitations per day",
	"default_expiry_days": "Default expiry", "max_expiry_days": "Maximum expiry", "seat_limit": "Seat limit",
	"who_can_invite": "Who can invite", "remind_after_days": "Reminder", "user_id": "Member", "confirm_name": "Name",
}

// fieldAliases map a service's field to the form's input.
var fieldAliases = map[string]string{"new_password": "password", "reset_token": "otp"}

// apply puts a service error on the form: field errors beside their
// inputs, the rest on top. It returns the HTTP status to answer with.
func (f *form) apply(err error) int {
	e := gatehouse.AsError(err)
	status := statusOf(e.Code)
	if status >= 500 {
		f.Error = "Something went wrong on our side. Try again in a moment."
		return status
	}
	var other []string
	for _, fe := range e.Fields {
		name := fe.Field
		if a, ok := fieldAliases[name]; ok {
			name = a
		}
		label, known := fieldLabels[name]
		if !known || strings.ContainsAny(name, "[.") {
			other = append(other, fe.Field+" "+fe.Message)
			continue
		}
		if _, taken := f.Errors[name]; !taken {
			f.Errors[name] = messageFor(label, fe.Message)
		}
	}
	switch {
	case len(e.Fields) == 0 || len(other) > 0:
		f.Error = e.Message
		if len(other) > 0 {
			f.Error += " (" + strings.Join(other, "; ") + ")"
		}
	case len(f.Errors) > 0:
		f.Error = "Please correct the fields marked below."
	}
	return status
}

// parsedPages parses the templates once per process: they are embedded,
// so every handler would parse the same, and parsing costs milliseconds of
// CPU (a test suite starts hundreds of servers). Parsed
// templates are safe for concurrent use, and nothing changes them after.
var parsedPages = sync.OnceValue(mustParsePages)

// mustParsePages parses the embedded templates into one set shared by every
// page: the partials and pages once, and per page a copy of each layout
// (a template calling "content") named "<layout>:<page>", whose "content"
// call names the page's own "page:<name>". A copy of every template per
// page (a clone of the whole set each) held ~35 MiB of heap for 42 pages;
// the layouts' copies are a small part of that.
func mustParsePages() *template.Template {
	base := template.New("").Funcs(funcs)
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		b, err := templateFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		if _, err := base.New(path.Base(f)).Parse(string(b)); err != nil {
			panic(fmt.Sprintf("web: parse %s: %v", f, err))
		}
	}
	var pageNames []string
	var layouts []*template.Template
	for _, t := range base.Templates() {
		if name, ok := strings.CutPrefix(t.Name(), "page:"); ok {
			pageNames = append(pageNames, name)
		} else if t.Tree != nil && callsContent(t.Tree.Root, "") {
			layouts = append(layouts, t)
		}
	}
	for _, name := range pageNames {
		for _, l := range layouts {
			tree := l.Tree.Copy()
			tree.Name = l.Name() + ":" + name
			callsContent(tree.Root, "page:"+name)
			template.Must(base.AddParseTree(tree.Name, tree))
		}
	}
	return base
}

// callsContent reports whether the nodes under n call template "content",
// renaming those calls to rename when it is not "".
func callsContent(n parse.Node, rename string) bool {
	found := false
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			found = callsContent(c, rename) || found
		}
	case *parse.IfNode:
		found = callsContent(n.List, rename)
		found = callsContent(n.ElseList, rename) || found
	case *parse.RangeNode:
		found = callsContent(n.List, rename)
		found = callsContent(n.ElseList, rename) || found
	case *parse.WithNode:
		found = callsContent(n.List, rename)
		found = callsContent(n.ElseList, rename) || found
	case *parse.TemplateNode:
		if n.Name == "content" {
			found = true
			if rename != "" {
				n.Name = rename
			}
		}
	}
	return found
}

var funcs = template.FuncMap{
	"socialFor": socialFor,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"initials": func(name string) string {
		var out []rune
		for _, w := range strings.Fields(name) {
			for _, r := range w {
				out = append(out, r)
				break
			}
			if len(out) == 2 {
				break
			}
		}
		if len(out) == 0 {
			return "?"
		}
		return strings.ToUpper(string(out))
	},
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"seq": func(n int) []int { return make([]int, n) },
	"add": func(a, b int) int { return a + b },
	"field": func(f *form, name, label, typ, auto string) fieldView {
		return fieldView{Name: name, Label: label, Type: typ, Auto: auto, Value: f.Get(name), Error: f.Err(name)}
	},
	"withHint": func(fv fieldView, hint string) fieldView { fv.Hint = hint; return fv },
	"optional": func(fv fieldView) fieldView { fv.Optional = true; return fv },
	"readonly": func(fv fieldView, v string) fieldView { fv.ReadOnly, fv.Value = true, v; return fv },
	"stripped": func(fv fieldView) fieldView { fv.Value = ""; return fv },
	"invTable": func(rows []invRow, p *page, back string) invTableView {
		return invTableView{Rows: rows, Page: p, Back: back}
	},
	"invAction": func(row invRow, p *page, back string) invActionView {
		return invActionView{Row: row, Page: p, Back: back}
	},
	"statuses":     func() []string { return invitationStatuses },
	"providerName": providerName,
	"avatarURL":    avatarURL,
	"myInvitations": func(items []*service.Preview, back string) myInvitationsView {
		return myInvitationsView{Items: items, Back: back}
	},
	// statusLabel names an invitation status as the buttons do: a revoked
	// invitation is one that was cancelled.
	"statusLabel": func(s string) string {
		if s == gatehouse.InvitationRevoked {
			return "Cancelled"
		}
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"expiryChoices": func() []string { return expiryChoices },
	"auditTargets":  func() []string { return auditTargets },
	"projectTree":   projectTree,
	"subtree":       subtree,
	"inc":           func(i int) int { return i + 1 },
	// An invite link's state in words, and its badge (invitelinks.go).
	"linkState": func(s string) string {
		return map[string]string{"active": "Active", "revoked": "Revoked", "expired": "Expired", "used_up": "Used up"}[s]
	},
	"linkBadge": func(s string) string {
		return map[string]string{"active": "accepted", "revoked": "revoked", "expired": "expired", "used_up": "failed"}[s]
	},
}

// myInvitationsView is the list of invitations addressed to the user, and
// the page their Accept and Decline come back to.
type myInvitationsView struct {
	Items []*service.Preview
	Back  string
}

type invTableView struct {
	Rows []invRow
	Page *page
	Back string
}

type invActionView struct {
	Row  invRow
	Page *page
	Back string
}

// fieldView is one labelled input with its error.
type fieldView struct {
	Name, Label, Type, Auto, Value, Error, Hint string
	Optional, ReadOnly                          bool
}
