// Package postgres opens Gatehouse on PostgreSQL through pgx. Several
// Gatehouse processes may share one database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/store"
)

type dialect struct{}

func (dialect) Name() string       { return "postgres" }
func (dialect) SkipLocked() string { return "FOR UPDATE SKIP LOCKED" }
func (dialect) ForUpdate() string  { return "FOR NO KEY UPDATE" }
func (dialect) IsInvalidText(err error) bool {
	var e *pgconn.PgError
	// 22021: invalid byte sequence (NUL included); 22P05: untranslatable.
	return errors.As(err, &e) && (e.Code == "22021" || e.Code == "22P05")
}

// IsUnavailable: a failed connect, a timeout, the server shutting down or
// refusing connections (class 08 connection exceptions, 57P01–57P03, 53300).
func (dialect) IsUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return strings.HasPrefix(e.Code, "08") || e.Code == "57P01" || e.Code == "57P02" || e.Code == "57P03" || e.Code == "53300"
	}
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "conn busy")
}

// CopyTables loads bulk rows with COPY (store.BulkCopier), in one
// transaction committed without waiting for the WAL flush (a crash may lose
// the last batches of a seed, never corrupt it). Tables come referenced
// ones first, so foreign keys hold row by row; when the role is a superuser
// their checks are skipped (session_replication_role = replica, as
// pg_restore --disable-triggers does): they were a trigger query per
// reference, ~65 per seeded organization, and most of the load's time.
// TestSeedOrgsRows checks that no reference dangles.
func (dialect) CopyTables(ctx context.Context, dc any, tables []store.BulkTable) (err error) {
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return fmt.Errorf("postgres: COPY on a %T", dc)
	}
	tx, err := sc.Conn().Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DO $$ BEGIN IF current_setting('is_superuser') = 'on' THEN SET LOCAL session_replication_role = replica; END IF; END $$"); err != nil {
		return err
	}
	for _, t := range tables {
		if len(t.Rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, t.Cols, pgx.CopyFromRows(t.Rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.Name, err)
		}
	}
	return tx.Commit(ctx)
}

func (dialect) IsUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// Open connects to url, checks the connection and applies pending migrations.
func Open(ctx context.Context, url string, box store.Box) (*store.Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_DATABASE_URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s := store.New(db, db, dialect{}, box)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Audit events are linked into their organization's chain by a
	// background step, not under a lock held to commit (store/audit_defer.go).
	s.DeferAuditChain()
	// Wait until this process listens, so that nothing it caches from now
	// on can miss an invalidation.
	ready := startListener(s, cfg)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		s.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: LISTEN %s did not start", store.NotifyChannel)
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

// startListener keeps one connection listening for other processes'
// invalidations and dispatches them; it stops when the store closes.
func startListener(s *store.Store, cfg *pgx.ConnConfig) (ready <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	listening := make(chan struct{})
	var once sync.Once
	s.OnClose(func() error {
		cancel()
		<-done
		return nil
	})
	go func() {
		defer close(done)
		backoff := 100 * time.Millisecond
		first := true
		for ctx.Err() == nil {
			err := listen(ctx, s, cfg.Copy(), !first, func() { once.Do(func() { close(listening) }) })
			if ctx.Err() != nil {
				return
			}
			first = false
			s.SetPart("invalidation", false)
			slog.Warn("postgres: invalidation listener lost its connection; reconnecting", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
		}
	}()
	return listening
}

func listen(ctx context.Context, s *store.Store, cfg *pgx.ConnConfig, flush bool, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.NotifyChannel); err != nil {
		return err
	}
	listening()
	s.SetPart("invalidation", true)
	if flush {
		// Messages sent while we were away are lost: forget everything.
		s.Dispatch(store.FlushAll)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.Dispatch(n.Payload)
	}
}
