package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
)

// Tests get migrated databases by copying a template migrated once, not by
// migrating each from empty: a migration run costs tens of milliseconds on
// SQLite and about a second on PostgreSQL, and hundreds of tests open
// databases. The stores still run their migrate step on open (it finds
// nothing to do); TestOpen of each engine package migrates from empty.

// migrationsHash identifies the embedded migrations: a changed, added or
// removed migration file makes new templates.
var migrationsHash = sync.OnceValue(func() string {
	h := sha256.New()
	fsys := store.Migrations()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// sqliteTemplate is a migrated SQLite database file, made once per test
// process and kept in memory (nothing is left on disk).
var sqliteTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "gatehouse-sqlite-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	key, err := secret.NewKey(TestKey)
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(context.Background(), dir, key)
	if err != nil {
		return nil, fmt.Errorf("migrate the SQLite template: %w", err)
	}
	// Move every page out of the write-ahead log into the main file, so
	// that the file alone is the whole database.
	if _, err := s.WriterDB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		s.Close()
		return nil, fmt.Errorf("checkpoint the SQLite template: %w", err)
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, sqlite.FileName)
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("SQLite template: %d bytes left in the write-ahead log", fi.Size())
	}
	return os.ReadFile(path)
})

// newSQLiteDir makes a folder holding a copy of the migrated template.
func newSQLiteDir(dir string) error {
	b, err := sqliteTemplate()
	if err != nil {
		return err
	}
	// 0644 as SQLite creates its files; the folder (TempDir) is private.
	return os.WriteFile(filepath.Join(dir, sqlite.FileName), b, 0o644)
}

// PostgreSQL: a template database per migration hash, copied per test by
// CREATE DATABASE ... TEMPLATE. It is made once by whichever test process
// comes first, under an advisory lock on the base database, and marked as a
// template only when fully migrated; its comment records when a test process
// last used it, so that templates of other migration sets (old branches)
// can be dropped once nobody has used them for a day.
const (
	pgTemplatePrefix = "gatehouse_tpl_"
	pgTemplateIdle   = 24 * time.Hour
)

var pgTemplateOnce struct {
	sync.Mutex
	done map[string]error // by base URL
}

// pgTemplate returns the name of the migrated template database on the
// server of base, making it if needed.
func pgTemplate(base string) (string, error) {
	name := pgTemplatePrefix + migrationsHash()
	pgTemplateOnce.Lock()
	defer pgTemplateOnce.Unlock()
	if err, ok := pgTemplateOnce.done[base]; ok {
		return name, err
	}
	err := ensurePGTemplate(base, name)
	if pgTemplateOnce.done == nil {
		pgTemplateOnce.done = map[string]error{}
	}
	pgTemplateOnce.done[base] = err
	return name, err
}

func ensurePGTemplate(base, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("is PostgreSQL running at %s? %w", base, err)
	}
	defer conn.Close()
	h := fnv.New64a()
	h.Write([]byte("gatehouse-test-templates"))
	lockID := int64(h.Sum64() >> 1)
	// Session lock: test processes of several packages start together.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return fmt.Errorf("lock test templates: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID) }()
	now := time.Now()

	var ready bool
	err = conn.QueryRowContext(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case !ready:
		// Left half-made by a process that died while migrating it.
		if _, err := conn.ExecContext(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			return err
		}
	}
	if !ready {
		if err := makePGTemplate(ctx, conn, base, name); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`COMMENT ON DATABASE %s IS 'gatehouse test template; last used %d'`, name, now.Unix())); err != nil {
		return err
	}
	dropStale(ctx, conn, name, now)
	return nil
}

// makePGTemplate creates the database name, migrates it, and then makes it
// a template nobody connects to (copies need the template left alone).
func makePGTemplate(ctx context.Context, conn *sql.Conn, base, name string) error {
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		return fmt.Errorf("create the template database: %w", err)
	}
	key, err := secret.NewKey(TestKey)
	if err != nil {
		return err
	}
	dsn, err := withDatabase(base, name)
	if err != nil {
		return err
	}
	s, err := postgres.Open(ctx, dsn, key)
	if err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	if err := s.Close(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+name+` WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`); err != nil {
		return fmt.Errorf("mark the template database: %w", err)
	}
	return nil
}

// dropStale drops, best effort, templates of other migration sets that no
// test process has used for pgTemplateIdle, with the free databases of
// their pools (pgpool.go).
func dropStale(ctx context.Context, conn *sql.Conn, keep string, now time.Time) {
	rows, err := conn.QueryContext(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)`, pgTemplatePrefix, pgPoolPrefix)
	if err != nil {
		return
	}
	kept := map[string]bool{} // migration hashes whose template stays
	var templates, pooled []string
	for rows.Next() {
		var name, comment string
		if rows.Scan(&name, &comment) != nil {
			break
		}
		if hash, ok := strings.CutPrefix(name, pgTemplatePrefix); ok {
			_, used, _ := strings.Cut(comment, "last used ")
			if t, err := strconv.ParseInt(used, 10, 64); name == keep || err == nil && now.Sub(time.Unix(t, 0)) <= pgTemplateIdle {
				kept[hash] = true
			} else {
				templates = append(templates, name)
			}
		} else {
			pooled = append(pooled, name)
		}
	}
	rows.Close()
	for _, name := range pooled {
		hash, _, _ := strings.Cut(strings.TrimPrefix(name, pgPoolPrefix), "_")
		if kept[hash] {
			continue
		}
		var free bool
		if conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockID(name)).Scan(&free) == nil && free {
			_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
			_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lockID(name))
		}
	}
	for _, name := range templates {
		_, _ = conn.ExecContext(ctx, `ALTER DATABASE `+name+` IS_TEMPLATE false`)
		_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
}

// withDatabase is base with its database replaced.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
