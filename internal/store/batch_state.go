package store

import (
	"context"
	"maps"
)

// batchState is what a group-commit batch (SQLite, group.go) keeps in
// memory instead of rewriting one row per caller: each audit chain's head
// (audit_heads.go) and each organization's invitation budget count
// (invitation_quota.go). Inside a batch one writer runs every statement of
// one transaction, so the batch reads such a row once, moves it in memory,
// and writes what moved once, just before the commit, in the same
// transaction: a commit holds both or neither. Work rolled back (a failed
// caller's savepoint, a failed nested savepoint) puts the state back as it
// was when that work started (snapshot, restore).
type batchState struct {
	chains map[string]chainHead
	quota  map[string]quotaCount
}

func newBatchState() *batchState { return &batchState{} }

type batchSnapshot struct {
	chains map[string]chainHead
	quota  map[string]quotaCount
}

// snapshot is the state as it is now, for restore.
func (b *batchState) snapshot() batchSnapshot {
	if b == nil {
		return batchSnapshot{}
	}
	return batchSnapshot{chains: maps.Clone(b.chains), quota: maps.Clone(b.quota)}
}

// restore puts the state back to a snapshot after a rollback.
func (b *batchState) restore(s batchSnapshot) {
	if b == nil {
		return
	}
	b.chains, b.quota = s.chains, s.quota
}

// flushBatch writes everything the batch moved in memory to its rows. The
// batch calls it before committing.
func (c *Conn) flushBatch(ctx context.Context) error {
	if err := c.flushChains(ctx); err != nil {
		return err
	}
	return c.flushQuota(ctx)
}
