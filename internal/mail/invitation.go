package mail

import (
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Invitation is what the built-in invitation message says
// (templates/invitation.txt and templates/invitation.html).
type Invitation struct {
	Name        string   // the invitee's, may be empty
	InviterName string   // who invited
	OrgName     string   // where to
	Access      []string // one line per role or permission
	Link        string   // the acceptance link
	ExpiresAt   string   // when the link lapses, formatted
}

// ComposeInvitation renders the built-in invitation exactly as
// Compose("invitation", to, …) does, byte for byte, without the template
// engine: every invitation renders it, and the two templates took 26 µs and
// 88 allocations an invitation through text/template's reflection and
// html/template's escaper calls (issue 17). The templates stay the source of
// truth: TestComposeInvitationMatchesTemplates and FuzzComposeInvitation
// hold this function to them, so an edit to either file fails until it is
// made here too.
//
// Escaping is html/template's own for these contexts: its HTML text and
// quoted attribute escaper (htmlEscape) for every value, and, for the link
// in href, a scheme check and URL normalization, which change nothing for
// the links Gatehouse builds. A link with any character normalization or
// escaping would change goes through the templates instead (safeLink).
func ComposeInvitation(to string, d Invitation) (gatehouse.MailMessage, error) {
	// The subject line, as the text template's first line.
	subject := d.InviterName + " invited you to " + d.OrgName + " on Gatehouse"
	if !safeLink(d.Link) || strings.Contains(subject, "\n") {
		// A line break in a name ends the subject early in the template;
		// such rare input is left to it rather than repeated here.
		return composeInvitation(to, d)
	}
	var t strings.Builder
	t.Grow(256 + len(d.Link))
	t.WriteString("Hello")
	if d.Name != "" {
		t.WriteString(" ")
		t.WriteString(d.Name)
	}
	t.WriteString(",\n\n")
	t.WriteString(d.InviterName)
	t.WriteString(" invited you to join ")
	t.WriteString(d.OrgName)
	t.WriteString(" with this access:\n")
	for _, a := range d.Access {
		t.WriteString("\n  - ")
		t.WriteString(a)
	}
	t.WriteString("\n\nOpen this link to accept or decline:\n\n")
	t.WriteString(d.Link)
	t.WriteString("\n\nThe invitation expires on ")
	t.WriteString(d.ExpiresAt)
	t.WriteString(". If you did not expect it, you can\nignore this message.\n")

	h := getBuffer()
	defer putBuffer(h)
	h.WriteString("<!doctype html>\n<html><body style=\"font-family: sans-serif\">\n<p>Hello")
	if d.Name != "" {
		h.WriteString(" ")
		htmlEscaper.WriteString(h, d.Name)
	}
	h.WriteString(",</p>\n<p><strong>")
	htmlEscaper.WriteString(h, d.InviterName)
	h.WriteString("</strong> invited you to join <strong>")
	htmlEscaper.WriteString(h, d.OrgName)
	h.WriteString("</strong> with this access:</p>\n<ul>")
	for _, a := range d.Access {
		h.WriteString("<li>")
		htmlEscaper.WriteString(h, a)
		h.WriteString("</li>")
	}
	h.WriteString("</ul>\n<p><a href=\"")
	h.WriteString(d.Link) // safeLink: nothing in it to normalize or escape
	h.WriteString("\" style=\"background:#2457d6;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">Open the invitation</a></p>\n<p>Or paste this link into your browser: ")
	h.WriteString(d.Link)
	h.WriteString("</p>\n<p>The invitation expires on ")
	htmlEscaper.WriteString(h, d.ExpiresAt)
	h.WriteString(". If you did not expect it, you can ignore this message.</p>\n</body></html>\n")

	return gatehouse.MailMessage{To: to, Subject: strings.TrimSpace(subject), Text: t.String(), HTML: h.String()}, nil
}

// composeInvitation renders d through the templates.
func composeInvitation(to string, d Invitation) (gatehouse.MailMessage, error) {
	return Compose("invitation", to, map[string]any{"Name": d.Name, "InviterName": d.InviterName,
		"OrgName": d.OrgName, "Access": d.Access, "Link": d.Link, "ExpiresAt": d.ExpiresAt})
}

// htmlEscaper is html/template's escaping of a value in HTML text and in a
// quoted attribute (its htmlReplacementTable): NUL becomes U+FFFD, and
// " & ' + < > character references.
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// safeLink reports whether html/template would put link into href and into
// HTML text unchanged: an http or https URL of letters, digits and the URL
// characters that neither its URL normalizer nor its HTML escaper rewrite.
func safeLink(link string) bool {
	rest, ok := strings.CutPrefix(link, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(link, "http://"); !ok {
			return false
		}
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("-._~!#$*,/:;=?@[]", rune(c)) {
			return false
		}
	}
	return true
}
