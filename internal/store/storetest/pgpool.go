package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL tests each get a database of their own, taken from a pool of
// copies of the migrated template (template.go) kept on the server between
// runs. Making a database and dropping one both wait on the disk (a copy
// writes the template, about 10 MB, to the write-ahead log; a drop waits for
// a checkpoint of the whole server, seconds on a busy machine), and
// migrating from empty costs about a second of DDL; emptying the tables of a
// pooled database costs tens of milliseconds.
//
// A process owns a pooled database through a session advisory lock held on
// one connection of its own (the keeper) while a test uses it; a database
// nobody holds is free, whoever made it, and when its process ends or is
// killed the server releases the lock. Before handing a database to a test
// the pool ends every session still connected to it (the previous test's
// listeners, janitor locks, a child process), renames it (so that none of
// them can reconnect) and deletes every row but the migration history, so
// each test starts as on a fresh copy: same schema, no data, nobody else
// connected. What may differ from a fresh copy is only
// what the planner knows (statistics, dead space), which changes no result.

// pgPoolPrefix starts the name of pooled databases, then the migrations
// hash, so that a new migration set gets a pool of its own.
const pgPoolPrefix = "gatehouse_p_"

type pgPool struct {
	base  string
	tpl   string
	admin *sql.DB // the base database: CREATE DATABASE, pg_stat_activity

	keepMu sync.Mutex
	keeper *sql.Conn
	owned  map[string]bool // locks held on keeper (advisory locks are re-entrant)

	resetMu  sync.Mutex
	resetSQL string // deletes every row, children before parents
}

// pgBloated is the size past which a database is copied afresh instead of
// emptied: a heavy test (a 100,000-event seed, say) leaves its dead rows
// and index pages behind, which deleting does not give back.
const pgBloated = 64 << 20

var pgPools struct {
	sync.Mutex
	m map[string]*pgPool
}

// getPGPool returns the pool of the server of base, making the template on
// first use.
func getPGPool(base string) (*pgPool, error) {
	pgPools.Lock()
	defer pgPools.Unlock()
	if p := pgPools.m[base]; p != nil {
		return p, nil
	}
	tpl, err := pgTemplate(base)
	if err != nil {
		return nil, err
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	keeper, err := admin.Conn(context.Background())
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("is PostgreSQL running at %s? %w", base, err)
	}
	p := &pgPool{base: base, tpl: tpl, admin: admin, keeper: keeper, owned: map[string]bool{}}
	if pgPools.m == nil {
		pgPools.m = map[string]*pgPool{}
	}
	pgPools.m[base] = p
	return p, nil
}

// lockID is the advisory lock owning database name.
func lockID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("gatehouse-test-database:" + name))
	return int64(h.Sum64() >> 1)
}

// own takes the lock of name on the keeper without waiting: ok is false
// when another process, or this one, holds it.
func (p *pgPool) own(name string) (ok bool, err error) {
	p.keepMu.Lock()
	defer p.keepMu.Unlock()
	if p.owned[name] {
		return false, nil
	}
	err = p.keeper.QueryRowContext(context.Background(), `SELECT pg_try_advisory_lock($1)`, lockID(name)).Scan(&ok)
	if ok {
		p.owned[name] = true
	}
	return ok, err
}

func (p *pgPool) disown(name string) {
	p.keepMu.Lock()
	defer p.keepMu.Unlock()
	if p.owned[name] {
		_, _ = p.keeper.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, lockID(name))
		delete(p.owned, name)
	}
}

// take returns a pooled database holding no data, owned until release.
func (p *pgPool) take() (dsn string, release func(), err error) {
	prefix := pgPoolPrefix + migrationsHash() + "_"
	rows, err := p.admin.Query(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname`, prefix)
	if err != nil {
		return "", nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	name := ""
	for _, n := range names {
		ok, err := p.own(n)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			continue
		}
		// Another process may have taken and renamed it since the list
		// (it renames while holding the lock of the old name).
		var exists bool
		if err := p.admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, n).Scan(&exists); err != nil {
			p.disown(n)
			return "", nil, err
		}
		if exists {
			name = n
			break
		}
		p.disown(n)
	}
	if name == "" {
		// All in use: the pool grows by one copy of the template.
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name = prefix + hex.EncodeToString(b)
		if ok, err := p.own(name); err != nil || !ok {
			return "", nil, fmt.Errorf("lock new test database %s: %v %v", name, ok, err)
		}
		// Copies of one template may be made concurrently: a copy fails
		// only when a session is connected to the template, which its
		// ALLOW_CONNECTIONS false rules out.
		if _, err := p.admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + p.tpl); err != nil {
			p.disown(name)
			return "", nil, fmt.Errorf("create test database from %s: %w", p.tpl, err)
		}
	} else {
		fresh, err := p.reuse(prefix, name)
		if err != nil {
			p.disown(name)
			return "", nil, fmt.Errorf("reuse test database %s: %w", name, err)
		}
		name = fresh
	}
	dsn, err = withDatabase(p.base, name)
	if err != nil {
		p.disown(name)
		return "", nil, err
	}
	return dsn, func() { p.disown(name) }, nil
}

// reuse ends the sessions left on database name, renames it (a client of
// its previous user that reconnects finds no database by the old name) and
// deletes its rows. It returns the new name, owned in place of the old.
func (p *pgPool) reuse(prefix, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	fresh := prefix + hex.EncodeToString(b)
	if ok, err := p.own(fresh); err != nil || !ok {
		return "", fmt.Errorf("lock %s: %v %v", fresh, ok, err)
	}
	for {
		// Renaming needs nobody connected; a client may reconnect between
		// the two statements, so end sessions until the rename goes through.
		if _, err := p.admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
			p.disown(fresh)
			return "", err
		}
		_, err := p.admin.ExecContext(ctx, `ALTER DATABASE `+name+` RENAME TO `+fresh)
		if err == nil {
			break
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55006" { // object_in_use
			p.disown(fresh)
			return "", err
		}
		select {
		case <-ctx.Done():
			p.disown(fresh)
			return "", fmt.Errorf("sessions still connected: %w", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.disown(name)
	var size int64
	if err := p.admin.QueryRowContext(ctx, `SELECT pg_database_size($1)`, fresh).Scan(&size); err != nil {
		p.disown(fresh)
		return "", err
	}
	if size > pgBloated {
		_, err := p.admin.ExecContext(ctx, `DROP DATABASE `+fresh)
		if err == nil {
			_, err = p.admin.ExecContext(ctx, `CREATE DATABASE `+fresh+` TEMPLATE `+p.tpl)
		}
		if err != nil {
			p.disown(fresh)
			return "", fmt.Errorf("copy %s afresh: %w", fresh, err)
		}
		return fresh, nil
	}
	if err := p.empty(ctx, fresh); err != nil {
		p.disown(fresh)
		return "", err
	}
	return fresh, nil
}

// empty deletes every row of database name but the migration history.
func (p *pgPool) empty(ctx context.Context, name string) error {
	dsn, err := withDatabase(p.base, name)
	if err != nil {
		return err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p.resetMu.Lock()
	if p.resetSQL == "" {
		p.resetSQL, err = resetStatements(ctx, db)
	}
	q := p.resetSQL
	p.resetMu.Unlock()
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, q)
	return err
}

// resetStatements builds one transaction deleting every row of every table
// but goose's history, referencing tables before the tables they reference.
func resetStatements(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.relname, COALESCE(r.relname, '')
		FROM pg_class c
		LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid
		LEFT JOIN pg_class r ON r.oid = k.confrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'goose_db_version'`)
	if err != nil {
		return "", err
	}
	refs := map[string]map[string]bool{} // table -> tables it references
	for rows.Next() {
		var t, r string
		if err := rows.Scan(&t, &r); err != nil {
			rows.Close()
			return "", err
		}
		if refs[t] == nil {
			refs[t] = map[string]bool{}
		}
		if r != "" {
			refs[t][r] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(refs) == 0 {
		return "", fmt.Errorf("no tables in the test database")
	}
	// Delete a table once nothing left references it.
	var order []string
	left := map[string]bool{}
	for t := range refs {
		left[t] = true
	}
	for len(left) > 0 {
		var next []string
		for t := range left {
			referenced := false
			for u := range left {
				if u != t && refs[u][t] {
					referenced = true
					break
				}
			}
			if !referenced {
				next = append(next, t)
			}
		}
		if len(next) == 0 {
			return "", fmt.Errorf("foreign keys form a cycle among %v", left)
		}
		sort.Strings(next)
		for _, t := range next {
			order = append(order, t)
			delete(left, t)
		}
	}
	var b strings.Builder
	b.WriteString("BEGIN; SET LOCAL synchronous_commit = off;")
	for _, t := range order {
		fmt.Fprintf(&b, " DELETE FROM %q;", t)
	}
	b.WriteString(" COMMIT;")
	return b.String(), nil
}

// takeEmpty makes a schema without any table in the base database (for
// migrating from nothing) and drops it at release.
func (p *pgPool) takeEmpty() (dsn string, release func(), err error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gatehouse_empty_" + hex.EncodeToString(b)
	if _, err := p.admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(p.base)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { _, _ = p.admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) }, nil
}
