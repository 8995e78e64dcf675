package mail

// An organization's own invitation template: subject, text and HTML written
// in Go template syntax over a fixed set of variables. Everything that can
// go wrong with one is found when it is saved (Check), never when an
// invitation is sent: the syntax, an unknown variable or function, and an
// HTML body that html/template cannot escape safely.

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Size limits of a custom template's parts.
const (
	MaxSubjectChars = 200
	MaxTextBytes    = 20000
	MaxHTMLBytes    = 50000
)

// InvitationVars are the variables an invitation template may use.
type InvitationVars struct {
	InviterName      string
	OrganizationName string
	AccessSummary    string
	AcceptURL        string
	ExpiresAt        string
}

// InvitationVariables lists the variables' names, as written in a template.
var InvitationVariables = []string{"InviterName", "OrganizationName", "AccessSummary", "AcceptURL", "ExpiresAt"}

// SampleInvitationVars fill a preview when no data is given.
var SampleInvitationVars = InvitationVars{
	InviterName: "Olivia Owner", OrganizationName: "Acme Video", AccessSummary: "Full access to the project Marketing",
	AcceptURL: "https://gatehouse.example/invitations/sample-token", ExpiresAt: "8 November 2026 at 12:00 UTC",
}

// allowedFuncs are the functions a template may call: comparisons and
// logic for conditions, nothing that reaches outside the variables.
var allowedFuncs = map[string]bool{"and": true, "or": true, "not": true, "eq": true, "ne": true}

// Template is an organization's template: HTML may be empty (the text is
// then shown as HTML, escaped).
type Template struct {
	Subject string
	Text    string
	HTML    string
}

// DefaultInvitationTemplate is the built-in invitation mail written with the
// variables above: what an editor starts from.
var DefaultInvitationTemplate = Template{
	Subject: "{{.InviterName}} invited you to {{.OrganizationName}} on Gatehouse",
	Text: "{{.InviterName}} invited you to join {{.OrganizationName}} with this access: {{.AccessSummary}}.\n\n" +
		"Open this link to accept or decline:\n\n{{.AcceptURL}}\n\n" +
		"The invitation expires on {{.ExpiresAt}}. If you did not expect it, you can ignore this message.\n",
	HTML: "<p><strong>{{.InviterName}}</strong> invited you to join <strong>{{.OrganizationName}}</strong> with this access: {{.AccessSummary}}.</p>\n" +
		"<p><a href=\"{{.AcceptURL}}\">Open the invitation</a></p>\n" +
		"<p>The invitation expires on {{.ExpiresAt}}. If you did not expect it, you can ignore this message.</p>\n",
}

// Check validates a template: sizes, syntax, variables, functions and (for
// HTML) safe escaping, each problem naming its field (subject, text, html).
func (t Template) Check() []gatehouse.FieldError {
	var out []gatehouse.FieldError
	add := func(field, format string, args ...any) {
		out = append(out, gatehouse.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case strings.TrimSpace(t.Subject) == "":
		add("subject", "is required")
	case utf8.RuneCountInString(t.Subject) > MaxSubjectChars:
		add("subject", "must be at most %d characters", MaxSubjectChars)
	case strings.ContainsAny(t.Subject, "\r\n\x00"):
		add("subject", "must be one line of text")
	default:
		if err := checkSource("subject", t.Subject, false); err != "" {
			add("subject", "%s", err)
		}
	}
	switch {
	case strings.TrimSpace(t.Text) == "":
		add("text", "is required")
	case len(t.Text) > MaxTextBytes:
		add("text", "must be at most %d bytes", MaxTextBytes)
	case !utf8.ValidString(t.Text) || strings.ContainsRune(t.Text, 0):
		add("text", "must be UTF-8 text")
	default:
		if err := checkSource("text", t.Text, false); err != "" {
			add("text", "%s", err)
		}
	}
	switch {
	case t.HTML == "":
	case len(t.HTML) > MaxHTMLBytes:
		add("html", "must be at most %d bytes", MaxHTMLBytes)
	case !utf8.ValidString(t.HTML) || strings.ContainsRune(t.HTML, 0):
		add("html", "must be UTF-8 text")
	default:
		if err := checkSource("html", t.HTML, true); err != "" {
			add("html", "%s", err)
		}
	}
	return out
}

// checkSource parses one part and walks its tree; it answers what is wrong,
// or "".
func checkSource(name, src string, html bool) string {
	tt, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "is not a valid template: " + cleanParseError(err)
	}
	if len(tt.Templates()) > 1 {
		return "may not define templates ({{define}} or {{block}})"
	}
	if tt.Tree == nil || tt.Tree.Root == nil {
		return ""
	}
	if msg := walk(tt.Tree.Root); msg != "" {
		return msg
	}
	if html {
		// html/template decides the escaping when first executed: an
		// unclosed tag or attribute fails there, so find it now.
		ht, err := htmltemplate.New(name).Parse(src)
		if err != nil {
			return "is not a valid template: " + cleanParseError(err)
		}
		if err := ht.Execute(&bytes.Buffer{}, SampleInvitationVars); err != nil {
			return "cannot be rendered safely as HTML: " + cleanParseError(err)
		}
	}
	return ""
}

// cleanParseError drops the template's internal name prefix ("template: x:").
func cleanParseError(err error) string {
	s := err.Error()
	for _, p := range []string{"html/template:", "template:"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, p))
	}
	return s
}

// walk allows text, printing a variable, and if/else with the allowed
// functions; anything else is refused with a message.
func walk(n parse.Node) string {
	switch n := n.(type) {
	case nil:
		return ""
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if msg := walk(c); msg != "" {
				return msg
			}
		}
		return ""
	case *parse.TextNode, *parse.CommentNode:
		return ""
	case *parse.ActionNode:
		return walkPipe(n.Pipe)
	case *parse.IfNode:
		if msg := walkPipe(n.Pipe); msg != "" {
			return msg
		}
		if msg := walk(n.List); msg != "" {
			return msg
		}
		if n.ElseList != nil {
			return walk(n.ElseList)
		}
		return ""
	case *parse.RangeNode:
		return "may not use {{range}}: the variables are single values"
	case *parse.WithNode:
		return "may not use {{with}}"
	case *parse.TemplateNode:
		return "may not include other templates"
	default:
		return fmt.Sprintf("may not use %q", n.String())
	}
}

func walkPipe(p *parse.PipeNode) string {
	if p == nil {
		return ""
	}
	if len(p.Decl) > 0 {
		return "may not declare variables ($x := …)"
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if msg := walkArg(arg); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func walkArg(n parse.Node) string {
	switch n := n.(type) {
	case *parse.FieldNode:
		if len(n.Ident) != 1 || !knownVariable(n.Ident[0]) {
			return fmt.Sprintf("uses the unknown variable %s; the variables are %s", n.String(), variableList())
		}
		return ""
	case *parse.IdentifierNode:
		if !allowedFuncs[n.Ident] {
			return fmt.Sprintf("uses the function %q, which templates may not call (allowed: and, or, not, eq, ne)", n.Ident)
		}
		return ""
	case *parse.StringNode, *parse.BoolNode, *parse.NumberNode, *parse.NilNode:
		return ""
	case *parse.PipeNode:
		return walkPipe(n)
	case *parse.VariableNode:
		return fmt.Sprintf("uses the variable %s; write the variables as %s", n.String(), variableList())
	case *parse.DotNode:
		return "prints {{.}}; name a variable instead: " + variableList()
	case *parse.ChainNode:
		return fmt.Sprintf("uses %s; the variables are %s", n.String(), variableList())
	default:
		return fmt.Sprintf("may not use %q", n.String())
	}
}

func knownVariable(name string) bool {
	for _, v := range InvitationVariables {
		if v == name {
			return true
		}
	}
	return false
}

func variableList() string {
	vs := make([]string, len(InvitationVariables))
	for i, v := range InvitationVariables {
		vs[i] = "{{." + v + "}}"
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// Render composes a message to to from a checked template.
func (t Template) Render(to string, v InvitationVars) (gatehouse.MailMessage, error) {
	if errs := t.Check(); len(errs) > 0 {
		return gatehouse.MailMessage{}, fmt.Errorf("mail template: %s %s", errs[0].Field, errs[0].Message)
	}
	subject, err := execText("subject", t.Subject, v)
	if err != nil {
		return gatehouse.MailMessage{}, err
	}
	text, err := execText("text", t.Text, v)
	if err != nil {
		return gatehouse.MailMessage{}, err
	}
	var html bytes.Buffer
	if t.HTML != "" {
		ht, err := htmltemplate.New("html").Option("missingkey=error").Parse(t.HTML)
		if err != nil {
			return gatehouse.MailMessage{}, err
		}
		if err := ht.Execute(&html, v); err != nil {
			return gatehouse.MailMessage{}, err
		}
	} else {
		html.WriteString(TextAsHTML(text))
	}
	// A subject is a header: one line, whatever the variables held.
	subject = strings.Join(strings.Fields(subject), " ")
	return gatehouse.MailMessage{To: to, Subject: subject, Text: text, HTML: html.String()}, nil
}

func execText(name, src string, v InvitationVars) (string, error) {
	tt, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tt.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// TextAsHTML shows plain text as HTML: escaped, paragraphs kept.
func TextAsHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><body style=\"font-family: sans-serif\">\n")
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(htmltemplate.HTMLEscapeString(p), "\n", "<br>\n"))
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
