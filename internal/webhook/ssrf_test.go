package webhook

import (
	"context"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestBlocked(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "255.255.255.255", "224.0.0.1", "198.18.0.1", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:10.0.0.1",
		"::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "ff02::1"} {
		if !Blocked(netip.MustParseAddr(a)) {
			t.Errorf("%s not blocked", a)
		}
	}
	for _, a := range []string{"93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"} {
		if Blocked(netip.MustParseAddr(a)) {
			t.Errorf("%s blocked", a)
		}
	}
}

func TestCheckURLAllowPrivate(t *testing.T) {
	ctx := context.Background()
	for url, ok := range map[string]bool{
		"http://127.0.0.1:9000/hook": true,  // http to loopback, allowed for tests
		"http://localhost:9000/hook": true,  // the same by name
		"https://10.0.0.1/hook":      true,  // private allowed
		"http://10.0.0.1/hook":       false, // but http only to loopback
		"http://93.184.216.34/hook":  false,
	} {
		err := CheckURL(ctx, url, true, nil)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", url, err, ok)
		}
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.EUNPROCESSABLE {
			t.Errorf("%s: code %s", url, gatehouse.ErrorCode(err))
		}
	}
}
