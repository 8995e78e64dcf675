package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// openAudit gives the store the former secret keys (so events they sealed
// still verify) and carries the plain SHA-256 chains of an older version
// over into the sealed scheme, once.
func (m *Main) openAudit(ctx context.Context) error {
	for i, old := range SplitKeys(m.Config.OldSecretKeys) {
		k, err := secret.NewKey(old)
		if err != nil {
			return fmt.Errorf("GATEHOUSE_OLD_SECRET_KEYS[%d]: %w", i, err)
		}
		m.Store.AddAuditKey(k)
	}
	n, err := m.Store.CarryOverAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit carry-over: %w", err)
	}
	if n > 0 {
		m.Log.Info("audit.carried_over", "chains", n, "key_id", m.Store.AuditKeyID())
	}
	return nil
}

// checkpoints remembers the last head logged per chain.
type checkpoints struct {
	mu   sync.Mutex
	seen map[string]string
}

// LogAuditCheckpoints logs, as audit.checkpoint, the head of every chain
// that changed since the last call: shipped logs then hold anchors outside
// the database, which GET /v1/audits/verify?checkpoint=SEQ:HASH checks.
// It returns how many heads it logged.
func (m *Main) LogAuditCheckpoints(ctx context.Context) (int, error) {
	heads, err := m.Store.R().ChainHeads(ctx)
	if err != nil {
		return 0, err
	}
	m.checkpoints.mu.Lock()
	defer m.checkpoints.mu.Unlock()
	if m.checkpoints.seen == nil {
		m.checkpoints.seen = map[string]string{}
	}
	n := 0
	for _, h := range heads {
		cp := fmt.Sprintf("%d:%s", h.Seq, h.Hash)
		if m.checkpoints.seen[h.OrgID] == cp {
			continue
		}
		m.checkpoints.seen[h.OrgID] = cp
		m.Log.Info("audit.checkpoint", "organization_id", h.OrgID, "seq", h.Seq, "hash", h.Hash, "checkpoint", cp)
		n++
	}
	return n, nil
}

func (m *Main) checkpointLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.LogAuditCheckpoints(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("audit.checkpoint failed", "err", err)
			}
		}
	}
}
