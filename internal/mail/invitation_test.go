package mail

import (
	"reflect"
	"strings"
	"testing"
)

func sameAsTemplates(t testing.TB, d Invitation) {
	t.Helper()
	want, werr := composeInvitation("ann@example.com", d)
	got, gerr := ComposeInvitation("ann@example.com", d)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%+v: error %v, templates' %v", d, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v:\n got %#v\nwant %#v", d, got, want)
	}
}

func TestComposeInvitationMatchesTemplates(t *testing.T) {
	link := "https://gatehouse.example/invitations/AZr3kFhQ_abc-DEF0123456789"
	for _, d := range []Invitation{
		{InviterName: "Owner", OrgName: "Acme", Access: []string{"Viewer (role)"}, Link: link, ExpiresAt: "8 November 2026 at 12:00 UTC"},
		{Name: "Ann Lee", InviterName: "Bob", OrgName: "Acme", Access: []string{"a", "b"}, Link: link, ExpiresAt: "x"},
		{}, // nothing at all: no link, so the templates render it
		{InviterName: "Owner", OrgName: "Acme", Link: link}, // no access lines
		{Name: `<script>alert("x")</script>`, InviterName: "O'Brien & Co+", OrgName: "<b>A</b>\x00", Access: []string{`"q" <i>`, "1+1"}, Link: link, ExpiresAt: "<t>"},
		{Name: "Zoë 日本", InviterName: "  padded  ", OrgName: "Acme\r", Access: []string{"\xff\xfe bad UTF-8"}, Link: link},
		{InviterName: "two\nlines", OrgName: "Acme", Link: link}, // a line break in the subject
		{InviterName: "Owner", OrgName: "Acme", Link: "javascript:alert(1)"},
		{InviterName: "Owner", OrgName: "Acme", Link: "http://127.0.0.1:8080/invitations/tok?x=1&y=a+b"},
		{InviterName: "Owner", OrgName: "Acme", Link: "https://h.example/a b/%zz/'()\"<>"},
		{InviterName: "Owner", OrgName: "Acme", Link: "http://h.example/p;q/!$*,@[]~#frag"},
	} {
		sameAsTemplates(t, d)
	}
}

// TestSafeLink: the links Gatehouse builds take the fast path; anything the
// templates would rewrite does not.
func TestSafeLink(t *testing.T) {
	for link, want := range map[string]bool{
		"https://gatehouse.example/invitations/AZr3kFhQ_abc-DEF": true,
		"http://127.0.0.1:8080/base/invitations/x":               true,
		"https://h.example/p?a=1":                                true,
		"HTTPS://h.example/":                                     false,
		"javascript:alert(1)":                                    false,
		"https://h.example/?a=1&b=2":                             false,
		"https://h.example/a+b":                                  false,
		"https://h.example/%41":                                  false,
		"https://h.example/\"onmouseover=\"x":                    false,
		"https://h.example/ space":                               false,
		"https://h.example/é":                                    false,
	} {
		if got := safeLink(link); got != want {
			t.Errorf("safeLink(%q) = %v, want %v", link, got, want)
		}
	}
}

func FuzzComposeInvitation(f *testing.F) {
	f.Add("Ann", "Owner", "Acme", "Viewer (role)", "https://gatehouse.example/invitations/tok", "8 November 2026")
	f.Add("", "O'Brien & <b>", "A+B\x00", "\"x\"", "http://h.example/a?b=c", "")
	f.Add("x\ny", "a\nb", "", "", "javascript:x", "\xff")
	f.Fuzz(func(t *testing.T, name, inviter, org, access, link, expires string) {
		var lines []string
		if access != "" {
			lines = strings.Split(access, "|")
		}
		sameAsTemplates(t, Invitation{Name: name, InviterName: inviter, OrgName: org, Access: lines, Link: link, ExpiresAt: expires})
	})
}

func BenchmarkComposeInvitation(b *testing.B) {
	d := Invitation{InviterName: "Owner", OrgName: "Bench", Access: []string{"Viewer (role): read the organization's projects"},
		Link: "http://127.0.0.1:8080/invitations/AZr3kFhQabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", ExpiresAt: "15 December 2026 at 00:40 UTC"}
	b.Run("templates", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := composeInvitation("x@example.com", d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ComposeInvitation("x@example.com", d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
