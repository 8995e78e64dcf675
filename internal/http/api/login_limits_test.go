package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// from is a client whose connections leave from a loopback address of its
// own (127.0.0.0/8 is all this machine's), so the server sees another
// client address.
type from struct {
	ip     string
	client *http.Client
}

func clientFrom(ip string) *from {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &from{ip: ip, client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext}}}
}

// login signs in through srv from c's address; it returns the status.
func (c *from) login(t *testing.T, srv *apptest.Server, email, password string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := c.client.Post(srv.URL+"/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("login from %s: %v", c.ip, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (c *from) want(t *testing.T, srv *apptest.Server, email, password string, status int) {
	t.Helper()
	if got := c.login(t, srv, email, password); got != status {
		t.Fatalf("login %s from %s: %d, want %d", email, c.ip, got, status)
	}
}

// An attacker elsewhere cannot lock the owner out, and cannot keep
// guessing: failures back off per (account, address).
func TestLoginLockoutPerAddress(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		srv.SignUpTokens("Ada", "ada@example.com", "")
		attacker, owner := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
		for i := range 5 {
			attacker.want(t, srv, "ada@example.com", fmt.Sprint("guess ", i), 401)
		}
		attacker.want(t, srv, "ada@example.com", "guess 5", 429)
		attacker.want(t, srv, "ada@example.com", apptest.TestPassword, 429) // even the right one
		owner.want(t, srv, "ada@example.com", apptest.TestPassword, 200)
		// Hammering on changes nothing for the owner.
		for range 3 {
			attacker.want(t, srv, "ada@example.com", "more", 429)
			owner.want(t, srv, "ada@example.com", apptest.TestPassword, 200)
		}
		// The attacker's waits double: 30 s, then 60 s.
		srv.Clock.Advance(31 * time.Second)
		attacker.want(t, srv, "ada@example.com", "after the wait", 401)
		attacker.want(t, srv, "ada@example.com", "at once", 429)
		srv.Clock.Advance(31 * time.Second)
		attacker.want(t, srv, "ada@example.com", "too early", 429)
		srv.Clock.Advance(31 * time.Second)
		attacker.want(t, srv, "ada@example.com", "after the longer wait", 401)
	})
}

// Many addresses failing for one account meet the account's ceiling; an
// address without failures (the owner's) still signs in.
func TestLoginAccountCeiling(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		srv := apptest.New(t, e)
		srv.SignUpTokens("Ada", "ada@example.com", "")
		var attackers []*from
		for i := range 10 {
			a := clientFrom(fmt.Sprintf("127.0.1.%d", i+1))
			attackers = append(attackers, a)
			for j := range 5 {
				a.want(t, srv, "ada@example.com", fmt.Sprint("guess ", i, j), 401)
			}
		}
		// Each address's own backoff is over, but the account's ceiling
		// (50 failures, then one a minute) holds every failed address back.
		srv.Clock.Advance(31 * time.Second)
		for _, a := range attackers {
			a.want(t, srv, "ada@example.com", "next", 429)
		}
		clientFrom("127.0.0.3").want(t, srv, "ada@example.com", apptest.TestPassword, 200)
	})
}

// Two processes on one PostgreSQL share one budget: a guesser alternating
// between them gets no more tries than from one.
func TestLoginThrottleSharedAcrossProcesses(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		if e.Name != "postgres" {
			t.Skip("processes share a database on PostgreSQL only")
		}
		dsn := e.NewDSN(t)
		one := apptest.New(t, e, apptest.Options{DSN: dsn})
		two := apptest.New(t, e, apptest.Options{DSN: dsn, Clock: one.Clock})
		servers := []*apptest.Server{one, two}
		one.SignUpTokens("Ada", "ada@example.com", "")
		attacker, owner := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
		for i := range 5 {
			attacker.want(t, servers[i%2], "ada@example.com", fmt.Sprint("guess ", i), 401)
		}
		for _, srv := range servers {
			attacker.want(t, srv, "ada@example.com", "one more", 429)
			owner.want(t, srv, "ada@example.com", apptest.TestPassword, 200)
		}
		// The per-address budget (20 failures, any accounts) is shared too.
		prober := clientFrom("127.0.0.4")
		for i := range 20 {
			prober.want(t, servers[i%2], fmt.Sprintf("nobody%d@example.com", i), "x password", 401)
		}
		for _, srv := range servers {
			prober.want(t, srv, "ada@example.com", apptest.TestPassword, 429)
		}
		// So is the account look-up budget (10 per address).
		for i := range 10 {
			servers[i%2].Must(200, apptest.Req{Method: "POST", Path: "/v1/auth/account-exists", Body: map[string]string{"email": "ada@example.com"}})
		}
		for _, srv := range servers {
			apptest.Problem(t, srv.Do(apptest.Req{Method: "POST", Path: "/v1/auth/account-exists", Body: map[string]string{"email": "ada@example.com"}}), 429)
		}
	})
}

// A wrong password takes as long for an unknown address as for a
// registered one: medians within 10%. Under -short it is skipped: it times
// 82 to 410 real argon2id hashes one after the other, and that an unknown
// address costs a hash is checked by TestAuthLogin's allocation count.
func TestLoginTimingUnknownAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("times hundreds of real argon2id hashes: heavy; runs without -short")
	}
	// Real argon2id work (8 MiB, as FastHasher is too cheap to measure).
	hasher := secret.NewHasher(secret.Argon2Params{Memory: 8 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}, 4)
	srv := apptest.New(t, storetest.SQLite(), apptest.Options{Hasher: hasher})
	srv.SignUpTokens("Ada", "ada@example.com", "")
	ctx := context.Background()
	measure := func(email string) time.Duration {
		srv.Clock.Advance(2 * time.Hour) // no throttle in the way
		start := time.Now()
		_, _, err := srv.Services.Auth.Login(ctx, gatehouse.Actor{IP: "192.0.2.1"}, email, "a wrong password")
		d := time.Since(start)
		if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Fatalf("login %s: %v", email, err)
		}
		return d
	}
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	// Pairs measured back to back, in alternating order, so that the
	// machine's load weighs on both sides of each pair alike; the median
	// of the pairs' ratios must be within 10% of 1.
	for attempt := 0; ; attempt++ {
		var ratios []float64
		var known, unknown time.Duration
		for i := range 41 {
			var k, u time.Duration
			if i%2 == 0 {
				k, u = measure("ada@example.com"), measure(fmt.Sprintf("nobody%d@example.com", i))
			} else {
				u, k = measure(fmt.Sprintf("nobody%d@example.com", i)), measure("ada@example.com")
			}
			known, unknown = known+k, unknown+u
			ratios = append(ratios, float64(u)/float64(k))
		}
		r := median(ratios)
		t.Logf("wrong-password sign-in, unknown/registered: median ratio %.3f (means %v and %v)", r, unknown/41, known/41)
		if r >= 0.9 && r <= 1.1 {
			return
		}
		if attempt == 4 { // a loaded machine may skew a run, not five
			t.Fatalf("unknown/registered median ratio %.3f, want within 10%% of 1", r)
		}
	}
}
