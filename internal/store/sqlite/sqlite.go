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
func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// dsn builds a connection string. busy_timeout comes first so that every
// later pragma already waits for locks instead of failing with SQLITE_BUSY.
func dsn(path string, readOnly bool) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		v.Add("mode", "ro")
	} else {
		v.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + v.Encode()
}

// Open creates dataDir if needed, opens (or creates) the database in it and
// applies pending migrations.
func Open(ctx context.Context, dataDir string, box store.Box) (*store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	writer, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
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
	reader, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU()*2)
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	s := store.New(writer, reader, dialect{}, box)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
