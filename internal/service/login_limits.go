package service

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Sign-in limits. Failures are counted per (account, client address): an
// attacker elsewhere can neither lock the owner out nor keep guessing,
// since each address that fails backs off exponentially on its own. A
// slower ceiling per account holds back every address that has failed for
// it, never an address without failures: it bounds guessing from many
// addresses, and no attacker can keep it closed against the owner.
const (
	loginFreeFailures  = 5                // per (account, address), before backoff
	loginBackoffBase   = 30 * time.Second // after the 5th failure; doubles with each next one
	loginBackoffMax    = time.Hour
	loginFailureWindow = 24 * time.Hour // failures older than this are forgotten
)

type loginLimits struct {
	byIP    *Throttle // failures from one address, whatever the account
	ceiling *Throttle // failures for one account, from every address
	c       counters
	now     func() time.Time
}

func newLoginLimits(b *base) *loginLimits {
	return &loginLimits{
		byIP:    b.throttle("login-ip:", 6*time.Second, 20),
		ceiling: b.throttle("login-account:", time.Minute, 50),
		c:       b.counters, now: b.now,
	}
}

func pairKey(account, ip string) string { return "login-pair:" + account + "|" + ip }

// loginBackoff is the wait after n consecutive failures of one address.
func loginBackoff(n int) time.Duration {
	if n < loginFreeFailures {
		return 0
	}
	d := loginBackoffBase
	for i := loginFreeFailures; i < n && d < loginBackoffMax; i++ {
		d *= 2
	}
	return min(d, loginBackoffMax)
}

// check decides whether account may try to sign in from ip now.
func (l *loginLimits) check(ctx context.Context, account, ip string) error {
	if err := l.byIP.Check(ctx, ip, "Too many failed sign-ins from this address; try again later."); err != nil {
		return err
	}
	st, err := l.c.read(ctx, pairKey(account, ip))
	if err != nil {
		return err
	}
	now := l.now()
	if st.N == 0 || now.Sub(st.Last) >= loginFailureWindow {
		return nil // an address without failures for this account
	}
	if until := st.Last.Add(loginBackoff(st.N)); now.Before(until) {
		return rateLimited("Too many failed sign-ins for this account from this address; try again later.", until.Sub(now))
	}
	return l.ceiling.Check(ctx, account, "Too many failed sign-ins for this account; try again later.")
}

// failed counts a failure of account from ip.
func (l *loginLimits) failed(ctx context.Context, account, ip string) error {
	if err := l.byIP.Use(ctx, ip); err != nil {
		return err
	}
	if err := l.ceiling.Use(ctx, account); err != nil {
		return err
	}
	return l.c.update(ctx, pairKey(account, ip), loginFailureWindow, func(st *store.ThrottleState) bool {
		now := l.now()
		if now.Sub(st.Last) >= loginFailureWindow {
			st.N = 0
		}
		st.N++
		st.Last = now
		return true
	})
}

// succeeded forgets the failures of account from ip (writing only when
// there are some).
func (l *loginLimits) succeeded(ctx context.Context, account, ip string) error {
	st, err := l.c.read(ctx, pairKey(account, ip))
	if err != nil || st.N == 0 {
		return err
	}
	return l.c.clear(ctx, pairKey(account, ip))
}
