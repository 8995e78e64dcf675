package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Timeout bounds one delivery: connecting, sending and reading the answer.
const Timeout = 10 * time.Second

// blockedPrefixes are address ranges a webhook may never reach (besides
// what netip's predicates name): shared address space, benchmarking, the
// IETF protocol block, reserved space, NAT64 and the 6to4 relay.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2002::/16"),
}

// Blocked reports whether ip is loopback, private, link-local (cloud
// metadata services live at 169.254.169.254 and fd00:ec2::254), multicast,
// unspecified or otherwise not a public unicast address.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// errAddress is the dialer's refusal; deliveries log it.
var errAddress = errors.New("webhook: address refused (loopback, private, link-local or metadata)")

func refused(reason, msg string) error {
	return &gatehouse.Error{Code: gatehouse.EUNPROCESSABLE, Reason: reason, Message: msg,
		Fields: []gatehouse.FieldError{{Field: "url", Message: msg}}}
}

// CheckURL decides whether raw may be a webhook URL: https (http only to
// loopback when allowPrivate), no credentials, and a host that resolves
// only to public addresses unless allowPrivate. Refusals are 422 with the
// reason webhook_url_invalid or webhook_url_private.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") || len(raw) > 2000 {
		return refused("webhook_url_invalid", "must be an absolute https:// URL")
	}
	if u.User != nil {
		return refused("webhook_url_invalid", "must not carry a user name or password")
	}
	if u.Fragment != "" {
		return refused("webhook_url_invalid", "must not have a #fragment")
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
			addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		} else {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			found, err := resolver.LookupNetIP(rctx, "ip", host)
			cancel()
			if err != nil || len(found) == 0 {
				return refused("webhook_url_unresolvable", "the host name does not resolve")
			}
			addrs = found
		}
	}
	loopback := true
	for _, ip := range addrs {
		if !ip.Unmap().IsLoopback() {
			loopback = false
		}
		if Blocked(ip) && !allowPrivate {
			return refused("webhook_url_private", fmt.Sprintf("resolves to %s, a loopback, private, link-local or metadata address", ip.Unmap()))
		}
	}
	if u.Scheme == "http" && !(allowPrivate && loopback) {
		return refused("webhook_url_invalid", "must use https")
	}
	return nil
}

// NewClient returns the delivery client: no proxy, no redirects followed,
// a Timeout per request, and a dialer that refuses blocked addresses at
// connection time (after DNS resolution, so a name that changed to a
// private address since the URL was checked is still refused) unless
// allowPrivate.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Blocked(ap.Addr()) {
				return errAddress
			}
			return nil
		}}
	return &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
