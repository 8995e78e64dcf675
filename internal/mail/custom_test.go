package mail

import (
	"strings"
	"testing"
)

func TestTemplateCheckRefusals(t *testing.T) {
	long := strings.Repeat("x", MaxSubjectChars+1)
	cases := []struct {
		name  string
		tpl   Template
		field string
		want  string
	}{
		{"ErrUnknownVariable", Template{Subject: "Hi", Text: "Hello {{.Password}}"}, "text", "unknown variable .Password"},
		{"ErrNestedField", Template{Subject: "Hi", Text: "{{.InviterName.X}}"}, "text", "unknown variable"},
		{"ErrUnknownFunction", Template{Subject: "{{upper .InviterName}}", Text: "x"}, "subject", `function "upper" not defined`},
		{"ErrDisallowedBuiltin", Template{Subject: "Hi", Text: `{{printf "%s" .AcceptURL}}`}, "text", `function "printf"`},
		{"ErrCallBuiltin", Template{Subject: "Hi", Text: `{{call .AcceptURL}}`}, "text", `function "call"`},
		{"ErrSyntax", Template{Subject: "Hi", Text: "{{.InviterName"}, "text", "not a valid template"},
		{"ErrDefine", Template{Subject: "Hi", Text: `{{define "x"}}y{{end}}z`}, "text", "may not define"},
		{"ErrRange", Template{Subject: "Hi", Text: `{{range .AccessSummary}}y{{end}}`}, "text", "range"},
		{"ErrVariable", Template{Subject: "Hi", Text: `{{$x := 1}}`}, "text", "declare"},
		{"ErrDot", Template{Subject: "Hi", Text: `{{.}}`}, "text", "{{.}}"},
		{"ErrHTMLUnsafeContext", Template{Subject: "Hi", Text: "x", HTML: `<a href="{{.AcceptURL}}`}, "html", "safely"},
		{"ErrHTMLUnknown", Template{Subject: "Hi", Text: "x", HTML: `<p>{{.Secret}}</p>`}, "html", "unknown variable"},
		{"ErrSubjectTooLong", Template{Subject: long, Text: "x"}, "subject", "at most"},
		{"ErrSubjectNewline", Template{Subject: "a\r\nBcc: x@example.com", Text: "x"}, "subject", "one line"},
		{"ErrTextTooLong", Template{Subject: "Hi", Text: strings.Repeat("x", MaxTextBytes+1)}, "text", "at most"},
		{"ErrHTMLTooLong", Template{Subject: "Hi", Text: "x", HTML: strings.Repeat("x", MaxHTMLBytes+1)}, "html", "at most"},
		{"ErrMissingText", Template{Subject: "Hi"}, "text", "required"},
		{"ErrMissingSubject", Template{Text: "x"}, "subject", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := c.tpl.Check()
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			if errs[0].Field != c.field || !strings.Contains(errs[0].Message, c.want) {
				t.Fatalf("got %+v, want %s containing %q", errs, c.field, c.want)
			}
			if _, err := c.tpl.Render("a@example.com", SampleInvitationVars); err == nil {
				t.Fatal("rendered a refused template")
			}
		})
	}
}

func TestTemplateRenderEscapes(t *testing.T) {
	tpl := Template{
		Subject: "{{.InviterName}} → {{.OrganizationName}}",
		Text:    "{{if .InviterName}}From {{.InviterName}}{{else}}Hello{{end}}: {{.AcceptURL}} until {{.ExpiresAt}} ({{.AccessSummary}})",
		HTML:    `<p>{{.OrganizationName}}</p><a href="{{.AcceptURL}}">go</a>`,
	}
	if errs := tpl.Check(); len(errs) > 0 {
		t.Fatal(errs)
	}
	v := SampleInvitationVars
	v.OrganizationName = `<script>alert(1)</script>`
	v.InviterName = "Eve\r\nBcc: x@example.com"
	v.AcceptURL = "javascript:alert(1)"
	m, err := tpl.Render("to@example.com", v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Fatalf("HTML not escaped: %s", m.HTML)
	}
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Fatalf("unsafe URL kept: %s", m.HTML)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || !strings.HasPrefix(m.Subject, "Eve Bcc") {
		t.Fatalf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "From Eve") {
		t.Fatalf("text %q", m.Text)
	}
	// Without HTML, the text is shown escaped.
	plain := Template{Subject: "x", Text: "{{.OrganizationName}}"}
	m, err = plain.Render("to@example.com", v)
	if err != nil || strings.Contains(m.HTML, "<script>") {
		t.Fatalf("%v %s", err, m.HTML)
	}
	if errs := DefaultInvitationTemplate.Check(); len(errs) > 0 {
		t.Fatalf("default template: %v", errs)
	}
}
