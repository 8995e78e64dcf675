// Package janitor deletes, in small batches, what nothing needs any more:
// delivered mail after its retention, sessions whose refresh token expired
// (with their rotated tokens), used and expired one-time codes and reset
// tokens, stale invitation quota rows, and the tokens of long-expired
// invitations (the invitation stays, status expired). It never deletes
// audit events. One janitor runs at a time across processes (a PostgreSQL
// advisory lock); the others skip their turn.
package janitor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The kinds of rows purged, as counted in /metrics.
const (
	KindOutbox           = "outbox"
	KindSessions         = "sessions"
	KindOTPs             = "otps"
	KindResetTokens      = "reset_tokens"
	KindMFAChallenges    = "mfa_challenges"
	KindInvitationTokens = "invitation_tokens"
	KindInvitationQuota  = "invitation_quota"
)

// Kinds lists every kind, in the order a run purges them.
var Kinds = []string{KindOutbox, KindSessions, KindOTPs, KindResetTokens, KindInvitationTokens, KindInvitationQuota, KindMFAChallenges}

// Defaults of Config.
const (
	DefaultOutboxRetention = 168 * time.Hour
	DefaultInterval        = time.Minute
	// SessionGrace keeps a session a day past its refresh token's expiry,
	// so a client presenting it late is told it expired, not that it never
	// existed.
	SessionGrace = 24 * time.Hour
	// CodeGrace keeps one-time codes an hour: the send limit counts the
	// codes of the last hour, used or not.
	CodeGrace = time.Hour
	// InvitationGrace keeps an expired invitation's link answering "this
	// invitation has expired" for 30 days before its token is dropped.
	InvitationGrace = 30 * 24 * time.Hour
	// QuotaWindow is how far back the invitation quota counts.
	QuotaWindow = 24 * time.Hour
	// DefaultBatch is how many rows one transaction deletes.
	DefaultBatch = 500
	// MailboxKeep is how many messages the development mailbox keeps.
	MailboxKeep = 1000
)

// Janitor purges on a timer, or once with Run.
type Janitor struct {
	Store *store.Store
	Log   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OutboxRetention keeps delivered mail this long after sending.
	OutboxRetention time.Duration
	// MailboxKeep, when positive, also deletes delivered mail beyond the
	// newest MailboxKeep messages (the development mailbox).
	MailboxKeep int
	// Batch is the number of rows per transaction (DefaultBatch when 0).
	Batch int
	// Interval between runs (DefaultInterval when 0).
	Interval time.Duration
	// Purged, when set, is told how many rows of a kind a batch deleted.
	Purged func(kind string, n int)

	stop func()
}

func (j *Janitor) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// Run purges everything due once, batch after batch, and returns the rows
// deleted per kind. ran is false when another janitor holds the lock.
func (j *Janitor) Run(ctx context.Context) (purged map[string]int, ran bool, err error) {
	unlock, ok, err := j.Store.TryJanitorLock(ctx)
	if err != nil || !ok {
		return nil, false, err
	}
	defer unlock()
	now := j.now().UTC().Truncate(time.Microsecond)
	retention := j.OutboxRetention
	if retention <= 0 {
		retention = DefaultOutboxRetention
	}
	batch := j.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	steps := []struct {
		kind string
		fn   func(tx *store.Conn) (int, error)
	}{
		{KindOutbox, func(tx *store.Conn) (int, error) { return tx.PurgeSentMail(ctx, now.Add(-retention), batch) }},
		{KindOutbox, func(tx *store.Conn) (int, error) {
			if j.MailboxKeep <= 0 {
				return 0, nil
			}
			return tx.PurgeSentMailBeyond(ctx, j.MailboxKeep, batch)
		}},
		{KindSessions, func(tx *store.Conn) (int, error) { return tx.PurgeSessions(ctx, now.Add(-SessionGrace), batch) }},
		{KindOTPs, func(tx *store.Conn) (int, error) { return tx.PurgeOTPs(ctx, now.Add(-CodeGrace), now, batch) }},
		{KindResetTokens, func(tx *store.Conn) (int, error) { return tx.PurgeResetTokens(ctx, now.Add(-CodeGrace), batch) }},
		{KindMFAChallenges, func(tx *store.Conn) (int, error) { return tx.PurgeMFAChallenges(ctx, now.Add(-CodeGrace), batch) }},
		{KindMFAChallenges, func(tx *store.Conn) (int, error) { return tx.PurgeWebAuthnChallenges(ctx, now.Add(-CodeGrace), batch) }},
		{KindInvitationTokens, func(tx *store.Conn) (int, error) {
			return tx.ExpireInvitationTokens(ctx, now.Add(-InvitationGrace), now, batch)
		}},
		{KindInvitationQuota, func(tx *store.Conn) (int, error) { return tx.PurgeInvitationQuota(ctx, now.Add(-QuotaWindow), batch) }},
	}
	purged = map[string]int{}
	for _, st := range steps {
		for {
			var n int
			// Each batch is its own short transaction, so requests
			// waiting for the writer get their turn between batches.
			if err := j.Store.Tx(ctx, func(tx *store.Conn) (err error) {
				n, err = st.fn(tx)
				return err
			}); err != nil {
				return purged, true, err
			}
			purged[st.kind] += n
			if n > 0 && j.Purged != nil {
				j.Purged(st.kind, n)
			}
			if n < batch || ctx.Err() != nil {
				break
			}
		}
	}
	return purged, true, ctx.Err()
}

// Start runs the janitor every Interval until Stop.
func (j *Janitor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	j.stop = func() { cancel(); wg.Wait() }
	interval := j.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			purged, ran, err := j.Run(ctx)
			if err != nil && ctx.Err() == nil {
				log.Warn("janitor", "err", err)
			}
			total := 0
			for _, n := range purged {
				total += n
			}
			if ran && total > 0 {
				log.Info("janitor purged", "rows", total, "by_kind", purged)
			}
		}
	}()
}

// Stop ends the timer and waits for a run in progress.
func (j *Janitor) Stop() {
	if j.stop != nil {
		j.stop()
	}
}
