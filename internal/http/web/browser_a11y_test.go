package web_test

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"

	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/internal/apptest"
)

// The accessibility pass: every dashboard page, at desktop width and at
// 375 px, gets the checks of testdata/a11y.js (labels, alt texts, names of
// links and buttons, one h1, lang, no positive tabindex, unique ids, AA
// contrast computed from the computed styles) and a keyboard walk: Tab
// through the page, each stop must look different when focused (a visible
// focus style), and every visible control must be reached.

//go:embed testdata/a11y.js
var a11yJS string

// a11yPage is one page of the pass. Path may hold {project}, {folder},
// {member} and {invitation}, filled from the fixture; As is who looks at
// it: "owner" (who also has an invitation to another organization),
// "member" (a viewer of the organization), "invitee" (an account in no
// organization, with invitations) or "anon".
type a11yPage struct {
	Name, Path, As string
	// Status is the page's expected status (200 when 0).
	Status int64
}

// a11yPages lists the pages. Add a row for a new page.
var a11yPages = []a11yPage{
	{Name: "sign in", Path: "/login", As: "anon"},
	{Name: "register", Path: "/register", As: "anon"},
	{Name: "verify email", Path: "/verify?email=new@acme.test", As: "anon"},
	{Name: "forgot password", Path: "/forgot-password", As: "anon"},
	{Name: "invitation link", Path: "/invitations/{invitation}", As: "anon"},
	{Name: "page not found", Path: "/no-such-page", As: "anon", Status: 404},
	{Name: "create organization", Path: "/orgs/new", As: "owner"},
	{Name: "projects", Path: "/dashboard", As: "owner"},
	{Name: "project", Path: "/projects/{project}", As: "owner"},
	{Name: "members", Path: "/members", As: "owner"},
	{Name: "invite member", Path: "/members/invite", As: "owner"},
	{Name: "invitations", Path: "/members/invitations", As: "owner"},
	{Name: "edit member", Path: "/members/{member}/edit", As: "owner"},
	{Name: "remove member", Path: "/members/{member}/remove", As: "owner"},
	{Name: "access of a member", Path: "/access?member={member}", As: "owner"},
	{Name: "who can", Path: "/access?target={project}", As: "owner"},
	{Name: "API keys", Path: "/api-keys", As: "owner"},
	{Name: "webhooks", Path: "/webhooks", As: "owner"},
	{Name: "audit log", Path: "/audit", As: "owner"},
	{Name: "sessions", Path: "/sessions", As: "owner"},
	{Name: "profile", Path: "/profile", As: "owner"},
	{Name: "organization settings", Path: "/settings", As: "owner"},
	{Name: "member's projects", Path: "/dashboard", As: "member"},
	{Name: "member's access", Path: "/access", As: "member"},
	{Name: "member's profile", Path: "/profile", As: "member"},
	{Name: "settings refused", Path: "/settings", As: "member", Status: 403},
	{Name: "invitations for a new account", Path: "/orgs/new", As: "invitee"},
	// Pages of the roles, folders, check-access and audit work.
	{Name: "roles", Path: "/roles", As: "owner"},
	{Name: "new role", Path: "/roles/new", As: "owner"},
	{Name: "check access", Path: "/members/{member}/check", As: "owner"},
	{Name: "delete project", Path: "/projects/{project}/delete", As: "owner"},
	{Name: "move folder", Path: "/projects/{project}/folders/{folder}/move", As: "owner"},
	{Name: "delete folder", Path: "/projects/{project}/folders/{folder}/delete", As: "owner"},
	{Name: "roles refused", Path: "/roles", As: "member", Status: 403},
	// Invite links and the invitation email.
	{Name: "invite links", Path: "/members/invite-links", As: "owner"},
	{Name: "invitation email", Path: "/settings/email-templates", As: "owner"},
	// Second factors and passkeys.
	{Name: "security", Path: "/profile/security", As: "owner"},
	{Name: "member's security", Path: "/profile/security", As: "member"},
	// SCIM tokens.
	{Name: "SCIM tokens", Path: "/settings/scim", As: "owner"},
	// SSO connections.
	{Name: "SSO connections", Path: "/settings/sso", As: "owner"},
	{Name: "SSO connection", Path: "/settings/sso/{sso}", As: "owner"},
	{Name: "SSO connections refused", Path: "/settings/sso", As: "member", Status: 403},
}

type a11yViolation struct {
	Rule, Where, What string
}

// a11yCheck runs the checks of a11y.js and the keyboard walk on the page
// open in b, and returns the violations.
func (b *browser) a11yCheck() []a11yViolation {
	b.t.Helper()
	var out []a11yViolation
	if err := json.Unmarshal([]byte(b.eval(a11yJS)), &out); err != nil {
		b.t.Fatalf("a11y.js: %v", err)
	}
	return append(out, b.keyboardWalk()...)
}

// focusStepJS inspects the element Tab just focused: whether its focused
// look differs from its look without focus. It answers "end" when focus
// left the page or came back round.
const focusStepJS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return "end";
  if (el === window.__a11yLast) return "same"; // a date input's day, month and year
  if (el.dataset.a11yTab) return "end";
  window.__a11yLast = el;
  el.dataset.a11yTab = "1";
  const look = (e) => { const cs = getComputedStyle(e); return [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow, cs.borderColor, cs.backgroundColor, cs.color, cs.textDecorationLine].join("|"); };
  const focused = look(el);
  el.blur();
  const plain = look(el);
  el.focus();
  let w = el.tagName.toLowerCase() + (el.id ? "#" + el.id : el.name ? "[name=" + el.name + "]" : "");
  const t = (el.innerText || el.value || "").trim().slice(0, 40);
  if (t) w += " “" + t + "”";
  return focused === plain ? "nofocus " + w : "ok";
})()`

// unreachedJS lists the visible, enabled controls the walk never reached
// (a radio group counts as reached through any of its radios).
const unreachedJS = `(() => {
  const vis = (el) => el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true});
  const out = [];
  for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    if (el.type === "hidden" || el.disabled || !vis(el) || el.dataset.a11yTab) continue;
    if (el.type === "radio" && Array.from(document.getElementsByName(el.name)).some((r) => r.dataset.a11yTab)) continue;
    let w = el.tagName.toLowerCase() + (el.id ? "#" + el.id : el.name ? "[name=" + el.name + "]" : "");
    const t = (el.innerText || el.value || "").trim().slice(0, 40);
    if (t) w += " “" + t + "”";
    out.push(w);
  }
  return JSON.stringify(out);
})()`

func (b *browser) keyboardWalk() []a11yViolation {
	b.t.Helper()
	var out []a11yViolation
	b.eval(`document.querySelectorAll("[data-a11y-tab]").forEach((e) => delete e.dataset.a11yTab); window.__a11yLast = null; document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); ""`)
	stops := 0
	for i := 0; i < 400; i++ {
		b.step("Tab", chromedp.KeyEvent(kb.Tab))
		r := b.eval(focusStepJS)
		if r == "end" {
			break
		}
		if r != "same" {
			stops++
		}
		if w, ok := strings.CutPrefix(r, "nofocus "); ok {
			out = append(out, a11yViolation{Rule: "focus", Where: w, What: "no visible change when focused"})
		}
	}
	var unreached []string
	if err := json.Unmarshal([]byte(b.eval(unreachedJS)), &unreached); err != nil {
		b.t.Fatal(err)
	}
	for _, w := range unreached {
		out = append(out, a11yViolation{Rule: "keyboard", Where: w, What: "not reached with Tab"})
	}
	b.tabStops = stops
	return out
}

// signInForm signs b in through the sign-in page.
func (b *browser) signInForm(email, password string) {
	b.t.Helper()
	b.open("/login")
	b.fill("#f-email", email)
	b.fill("#f-password", password)
	b.submit(`form[action="/login"] button[type=submit]`)
}

// signInTokens gives b a session's cookies directly (an account without a
// password cannot use the sign-in form).
func (b *browser) signInTokens(t *apptest.AuthTokens) {
	b.t.Helper()
	for name, v := range map[string]string{"gh_access": t.Access, "gh_refresh": t.Refresh} {
		if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: v, URL: b.base, Path: "/", HTTPOnly: ptr(true)}); err != nil {
			b.t.Fatalf("set cookie %s: %v", name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// a11yFixture is an organization with a bit of everything for the pages.
type a11yFixture struct {
	s                                      *apptest.Server
	owner, member                          *apptest.AuthTokens
	org, project, folder, memberID, invite string
	sso                                    string // an SSO connection (for acme-sso.test: nobody signs in through it)
}

func newA11yFixture(t *testing.T) *a11yFixture {
	s := apptest.New(t, sqliteEngine(t))
	f := &a11yFixture{s: s}
	f.owner = s.SignUpTokens("Olivia Owner", "olivia@acme.test", "")
	f.org = s.CreateOrg(f.owner.Access, "Acme Video")
	f.project = s.CreateProject(f.owner.Access, f.org, "Marketing")
	f.folder = s.CreateFolder(f.owner.Access, f.org, f.project, "Campaigns", "")
	s.CreateFolder(f.owner.Access, f.org, f.project, "2026 launch", f.folder)
	tok, user := s.InviteAndAccept(f.owner.Access, f.org, "Mia Member", "mia@acme.test", map[string]any{"role": "viewer"})
	f.member = &apptest.AuthTokens{Access: tok}
	f.memberID = user["id"].(string)
	s.Invite(f.owner.Access, f.org, map[string]any{"email": "noah@acme.test", "role": "viewer"})
	f.invite = s.LastInvitationToken("noah@acme.test")
	s.SignUpTokens("Noah", "noah@acme.test", "")
	globex := s.SignUpTokens("Gina Globex", "gina@globex.test", "")
	gorg := s.CreateOrg(globex.Access, "Globex")
	s.Invite(globex.Access, gorg, map[string]any{"email": "olivia@acme.test", "role": "viewer"})
	s.Invite(globex.Access, gorg, map[string]any{"email": "noah@acme.test", "role": "viewer"})
	f.sso = s.AddSSOConnection(f.owner.Access, f.org, "acme-sso.test")["id"].(string)
	s.Must(201, apptest.Req{Method: "POST", Path: "/v1/api-keys", Token: f.owner.Access, Header: apptest.OrgHeader(f.org),
		Body: map[string]any{"name": "CI uploader", "permissions": []map[string]any{{"entity_type": "projects", "entity_id": f.project, "name": "full-access", "action": "", "permission": []any{}}}}})
	return f
}

func (f *a11yFixture) path(p string) string {
	return strings.NewReplacer("{project}", f.project, "{folder}", f.folder, "{member}", f.memberID, "{invitation}", f.invite, "{sso}", f.sso).Replace(p)
}

// TestBrowserAccessibility runs the accessibility pass on every page of
// a11yPages at 1280 and at 375 px; any violation fails it.
func TestBrowserAccessibility(t *testing.T) {
	exe := chromium(t)
	f := newA11yFixture(t)
	dir := t.TempDir()
	browsers := map[string]*browser{
		"anon":    newBrowser(t, exe, f.s.URL, dir, "visitor"),
		"owner":   newBrowser(t, exe, f.s.URL, dir, "owner"),
		"member":  newBrowser(t, exe, f.s.URL, dir, "member"),
		"invitee": newBrowser(t, exe, f.s.URL, dir, "invitee"),
	}
	browsers["invitee"].signInForm("noah@acme.test", apptest.TestPassword)
	browsers["owner"].signInForm("olivia@acme.test", apptest.TestPassword)
	browsers["member"].signInForm("mia@acme.test", apptest.TestPassword)
	for _, pg := range a11yPages {
		b := browsers[pg.As]
		if b == nil {
			t.Fatalf("page %q: no browser %q", pg.Name, pg.As)
		}
		path := f.path(pg.Path)
		for _, vp := range []struct {
			name string
			w, h int64
		}{{"desktop", desktopW, desktopH}, {"375 px", 375, 812}} {
			if vp.w == 375 {
				b.step("mobile viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
			} else {
				b.step("desktop viewport", chromedp.EmulateReset(), chromedp.EmulateViewport(desktopW, desktopH))
			}
			ctxStatus := b.openStatus(path)
			want := pg.Status
			if want == 0 {
				want = 200
			}
			if ctxStatus != want {
				t.Errorf("%s (%s): status %d, want %d", pg.Name, path, ctxStatus, want)
			}
			vs := b.a11yCheck()
			if b.tabStops < 2 {
				t.Errorf("%s (%s, %s): the keyboard walk reached only %d controls", pg.Name, path, vp.name, b.tabStops)
			}
			t.Logf("%s (%s, %s): %d tab stops, %d violations", pg.Name, path, vp.name, b.tabStops, len(vs))
			for _, v := range vs {
				t.Errorf("%s (%s, %s): %s: %s — %s", pg.Name, path, vp.name, v.Rule, v.Where, v.What)
			}
		}
		b.step("desktop viewport", chromedp.EmulateReset(), chromedp.EmulateViewport(desktopW, desktopH))
	}
	t.Logf("accessibility pass: %d pages × 2 widths checked", len(a11yPages))
}

// badPage breaks every rule once.
const badPage = `<!doctype html><html><head><title>bad</title><style>
.faint { color: #bbb; background: #fff; } button.plain:focus { outline: none; box-shadow: none; }
</style></head><body>
<h1>One</h1><h1>Two</h1>
<input type="text" id="dup"><span id="dup"></span>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button class="empty-btn"></button>
<a href="#x" tabindex="2">positive</a>
<p class="faint">faint text</p>
<button class="plain">no focus style</button>
<details><summary>More</summary><a href="#y">inside</a></details>
<a href="#z" tabindex="-1">not reachable</a>
</body></html>`

// TestBrowserAccessibilityChecksFail shows that each check reports what
// it is for, on a page built to break every rule.
func TestBrowserAccessibilityChecksFail(t *testing.T) {
	exe := chromium(t)
	b := newBrowser(t, exe, "", t.TempDir(), "checker")
	b.step("open the bad page", chromedp.Navigate("data:text/html,"+url.PathEscape(badPage)), chromedp.WaitReady(chromedp.CSS("body")))
	got := map[string]bool{}
	for _, v := range b.a11yCheck() {
		got[v.Rule] = true
		t.Logf("%s: %s — %s", v.Rule, v.Where, v.What)
	}
	for _, rule := range []string{"lang", "h1", "label", "alt", "name", "tabindex", "id", "contrast", "focus", "keyboard"} {
		if !got[rule] {
			t.Errorf("rule %q found nothing on a page that breaks it", rule)
		}
	}
}

// openStatus navigates and answers the document's HTTP status.
func (b *browser) openStatus(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("%s: open %s: %v", b.who, path, err)
	}
	b.step("page ready", chromedp.WaitReady(chromedp.CSS("body")))
	return resp.Status
}

// postStatus posts an empty form to path from the page (as a crafted form
// would) and answers the status.
func (b *browser) postStatus(path string) int64 {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = %q; f.id = "crafted"; const bt = document.createElement("button"); bt.type = "submit"; bt.textContent = "go"; f.appendChild(bt); document.body.appendChild(f); return ""; })()`, path))
	return b.submit("#crafted button")
}
