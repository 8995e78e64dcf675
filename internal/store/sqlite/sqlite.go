// Package sqlite opens Gatehouse's embedded default: a SQLite file in the
// data directory, in WAL mode, with one writer connection taking immediate
// transactions and a pool of readers. Pure Go (modernc.org/sqlite), no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/store"
)

// FileName is the database file inside the data directory.
const FileName = "gatehouse.db"

type dialect struct{}

func (dialect) Name() string             { return "sqlite" }
func (dialect) SkipLocked() string       { return "" }
func (dialect) ForUpdate() string        { return "" }
func (dialect) IsInvalidText(error) bool { return false }

// IsUnavailable: the database stayed locked (or busy) past busy_timeout.
func (dialect) IsUnavailable(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// dsn builds a connection string. busy_timeout comes first so that every
// later pragma already waits for locks instead of failing with SQLITE_BUSY.
func dsn(path string, readOnly bool, o Options) string {
	v := url.Values{}
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout().Milliseconds()))
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous("+o.synchronous()+")")
	// Temporary files in memory: group commit (store/group.go) runs every
	// transaction in a savepoint, whose sub-journal would otherwise be a
	// temporary file written page by page.
	v.Add("_pragma", "temp_store(MEMORY)")
	v.Add("_pragma", fmt.Sprintf("cache_size(-%d)", pageCacheKiB(readOnly)))
	if readOnly {
		v.Add("mode", "ro")
	} else {
		v.Set("_txlock", "immediate")
		v.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", WALCheckpointPages))
	}
	return "file:" + path + "?" + v.Encode()
}

// Page cache per connection: how many KiB of the file's pages each
// connection keeps in memory (PRAGMA cache_size). This memory is outside the
// Go heap, so outside the soft memory limit (app.SetMemoryLimit), and every
// cached page costs about twice its size in resident memory: a 4 KiB page
// with SQLite's header takes an 8 KiB slot of modernc.org/memory's
// power-of-two allocator. SQLite's default, 2,000 KiB, on the writer and
// each reader grew a 2-core server by ~20 MiB (outside Go, measured: README
// "Scale run"), and grew with the cores (readers are twice the
// CPUs). The writer keeps the default: a write transaction's pages stay in
// memory until it commits. Readers keep 512 KiB, enough for the top of the
// hot indexes: a reader's cache is dropped whenever another connection has
// committed (WAL), and on a large file the pages a miss reads are cold
// anyway; they come from the OS's page cache.
const (
	WriterCacheKiB = 2000
	ReaderCacheKiB = 512
)

// WALCheckpointPages is how many pages the log grows to before the writer's
// commit copies it back into the database file (PRAGMA wal_autocheckpoint;
// SQLite's default is 1,000). Each checkpoint syncs the log and the file
// and writes every page the log holds once: under a steady write load
// (invitations) the commits keep rewriting the same hot pages, so a longer
// log writes each of them back fewer times, and the two fsyncs come 8 times
// less often (at 1,000 pages, checkpoints took 11% of the server's CPU per
// invitation, half of it in fsync). The log file then stays at up to
// 32 MiB (4 KiB pages); readers find a page in it through the in-memory
// wal-index, whose cost barely grows with it.
const WALCheckpointPages = 8000

func pageCacheKiB(readOnly bool) int {
	if readOnly {
		return ReaderCacheKiB
	}
	return WriterCacheKiB
}

// readers is the size of the reader pool.
func readers() int { return max(4, runtime.NumCPU()*2) }

// Options tune the embedded database.
type Options struct {
	// Synchronous is SQLite's synchronous mode: "normal" (the default) or
	// "full". In WAL mode, NORMAL keeps every acknowledged write through a
	// crash of the process or the OS, but a power cut may lose the last
	// commits; FULL syncs the log at every commit and keeps them through a
	// power cut too, at the cost of one fsync per write.
	Synchronous string
	// BusyTimeout is how long a statement waits for a lock (10 s when 0);
	// past it the request answers 503.
	BusyTimeout time.Duration
	// NoGroupCommit gives every write transaction a commit of its own
	// (store/group.go batches concurrent ones by default).
	NoGroupCommit bool
}

func (o Options) synchronous() string {
	if strings.EqualFold(o.Synchronous, "full") {
		return "FULL"
	}
	return "NORMAL"
}

func (o Options) busyTimeout() time.Duration {
	if o.BusyTimeout <= 0 {
		return 10 * time.Second
	}
	return o.BusyTimeout
}

// Open creates dataDir if needed, opens (or creates) the database in it and
// applies pending migrations, with the default options.
func Open(ctx context.Context, dataDir string, box store.Box) (*store.Store, error) {
	return OpenWith(ctx, dataDir, box, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dataDir string, box store.Box, o Options) (*store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	writer := sql.OpenDB(&connector{dsn: dsn(path, false, o)})
	// One writer: SQLite allows one at a time anyway, and queueing in the pool
	// is cheaper than retrying on SQLITE_BUSY.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	reader := sql.OpenDB(&connector{dsn: dsn(path, true, o)})
	n := readers()
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	s := store.New(writer, reader, dialect{}, box)
	if !o.NoGroupCommit {
		s.EnableGroupCommit()
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.DropValueSamples(ctx); err != nil { // before any reader loads the statistics
		s.Close()
		return nil, err
	}
	return s, nil
}
