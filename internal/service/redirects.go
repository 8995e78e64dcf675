package service

// Where the browser lands after an invitation is accepted: a redirect_url
// of the invitation, else of the organization's policy, and only ever to an
// origin listed in GATEHOUSE_ALLOWED_REDIRECT_ORIGINS (scheme, host and
// port matched exactly), so no link becomes an open redirect.

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// MaxRedirectURL bounds a redirect_url.
const MaxRedirectURL = 2048

// Origin returns the origin of an http(s) URL, "scheme://host[:port]" in
// lower case without a default port; ok is false for anything else
// (another scheme, no host, credentials in it).
func Origin(u *url.URL) (string, bool) {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" || strings.ContainsAny(host, "\\ ") {
		return "", false
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port), true
	}
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	return scheme + "://" + host, true
}

// ParseOrigin reads one configured origin: an http(s) URL with nothing
// after the host and port but an optional "/".
func ParseOrigin(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", v)
	}
	o, ok := Origin(u)
	if !ok || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin such as https://app.example.com or http://localhost:3000", v)
	}
	return o, nil
}

// redirectAllowed decides whether raw may be a redirect_url, answering it
// as stored (trimmed). "" is allowed (none).
func (b *base) redirectAllowed(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	refuse := func(msg string) error {
		return &gatehouse.Error{Code: gatehouse.EUNPROCESSABLE, Reason: "redirect_not_allowed",
			Message: "The redirect URL is not allowed: " + msg, Fields: []gatehouse.FieldError{{Field: field, Message: msg}},
			Extra: map[string]any{"allowed_origins": b.allowedOrigins()}}
	}
	if len(raw) > MaxRedirectURL || !storableText(raw) || strings.ContainsAny(raw, "\r\n\t\\") {
		return "", refuse(fmt.Sprintf("must be a URL of at most %d characters", MaxRedirectURL))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "", refuse("must be an absolute http(s) URL")
	}
	o, ok := Origin(u)
	if !ok {
		return "", refuse("must be an http(s) URL without credentials")
	}
	for _, a := range b.cfg.AllowedRedirectOrigins {
		if a == o {
			return raw, nil
		}
	}
	if len(b.cfg.AllowedRedirectOrigins) == 0 {
		return "", refuse("no redirect origins are allowed on this server (GATEHOUSE_ALLOWED_REDIRECT_ORIGINS is empty)")
	}
	return "", refuse("its origin " + o + " is not one of the allowed origins (" + strings.Join(b.cfg.AllowedRedirectOrigins, ", ") + ")")
}

func (b *base) allowedOrigins() []string {
	if b.cfg.AllowedRedirectOrigins == nil {
		return []string{}
	}
	return b.cfg.AllowedRedirectOrigins
}

// landing is where the browser goes after accepting: the invitation's
// redirect_url, else the organization's, when its origin is (still)
// allowed; "" for none.
func (b *base) landing(invitationURL string, p Policy) string {
	for _, raw := range []string{invitationURL, p.RedirectURL} {
		if raw == "" {
			continue
		}
		if ok, _ := b.redirectAllowed("redirect_url", raw); ok != "" {
			return ok
		}
	}
	return ""
}
