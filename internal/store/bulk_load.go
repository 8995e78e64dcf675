package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// Bulk loading of seeds (SeedOrgs) into an otherwise idle database: the
// writer is held for the whole load and each engine takes its fastest path.
// On SQLite, multi-row INSERTs with "?" placeholders (binding them is linear,
// unlike "$N": see DefaultBulkRows) run on the one writer connection with
// foreign-key checks and syncs off, restored after; on PostgreSQL, COPY.

// BulkTable is rows for one table, each row's values in Cols' order.
type BulkTable struct {
	Name string
	Cols []string
	Rows [][]any
}

// BulkCopier is implemented by a Dialect with a faster way than INSERT to
// load rows (PostgreSQL's COPY).
type BulkCopier interface {
	// CopyTables copies the tables' rows, in order, in one transaction on
	// the driver connection dc (as sql.Conn.Raw passes it).
	CopyTables(ctx context.Context, dc any, tables []BulkTable) error
}

// sqliteBulkRows is how many rows one SQLite INSERT carries in a bulk load
// (capped by maxBulkVariables). CPU time (user + sys) of BenchmarkSeedOrgs
// (20,000 organizations), two rounds: 1 row per statement 8.5 s and 6.9 s,
// 16 rows 5.3 s and 4.9 s, 64 rows 5.1 s and 4.6 s, 256 rows 4.9 s and
// 4.5 s: the per-statement work of the VDBE and database/sql is paid once
// per statement instead of once per row.
const sqliteBulkRows = 256

// bulkLoad calls load with a function that writes one batch of tables in a
// transaction of its own; other writers wait until load returns.
func (s *Store) bulkLoad(ctx context.Context, load func(write func([]BulkTable) error) error) error {
	if s.dialect.Name() == "sqlite" {
		return s.sqliteBulkLoad(ctx, load)
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return s.connErr(err)
	}
	defer conn.Close()
	if c, ok := s.dialect.(BulkCopier); ok {
		return load(func(ts []BulkTable) error {
			if err := conn.Raw(func(dc any) error { return c.CopyTables(ctx, dc, ts) }); err != nil {
				return s.connErr(err)
			}
			return nil
		})
	}
	return load(func(ts []BulkTable) error { return s.insertTables(ctx, conn, ts, s.DefaultBulkRows(), false) })
}

func (s *Store) connErr(err error) error {
	if s.IsUnavailable(err) {
		return unavailable(err)
	}
	return gatehouse.Internal(fmt.Errorf("bulk load: %w", err))
}

// sqliteBulkLoad holds SQLite's writer (group commit's turn, whose open
// batch it commits first, then the connection) and sets the pragmas of a
// bulk load on it: no foreign-key checks (the loader's rows reference each
// other by construction; TestSeedOrgsRows runs foreign_key_check), no sync
// at commit (a crash may lose the seed, not corrupt the file), a large
// page cache (seedCacheKiB). All three come back afterwards.
func (s *Store) sqliteBulkLoad(ctx context.Context, load func(write func([]BulkTable) error) error) (err error) {
	if g := s.group; g != nil {
		if err := g.acquire(ctx); err != nil {
			return gatehouse.Internal(fmt.Errorf("begin: %w", err))
		}
		g.mu.Lock()
		b := g.cur
		g.cur = nil
		g.mu.Unlock()
		if b != nil {
			s.finish(b) // its members wait for this commit
		}
		defer func() {
			g.mu.Lock()
			g.handOff()
			g.mu.Unlock()
		}()
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return s.connErr(err)
	}
	defer conn.Close()
	restore, err := sqlitePragmas(ctx, conn, [][2]string{
		{"foreign_keys", "0"}, {"synchronous", "0"}, {"cache_size", itoa(-seedCacheKiB)}})
	if err != nil {
		return err
	}
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return load(func(ts []BulkTable) error { return s.insertTables(ctx, conn, ts, sqliteBulkRows, true) })
}

// sqlitePragmas sets pragmas on conn (outside any transaction: foreign_keys
// is a no-op inside one) and returns a function restoring their values.
func sqlitePragmas(ctx context.Context, conn *sql.Conn, set [][2]string) (func() error, error) {
	var old [][2]string
	restore := func() error {
		bg := context.WithoutCancel(ctx)
		for i := len(old) - 1; i >= 0; i-- {
			if _, err := conn.ExecContext(bg, "PRAGMA "+old[i][0]+" = "+old[i][1]); err != nil {
				return gatehouse.Internal(fmt.Errorf("restore %s: %w", old[i][0], err))
			}
		}
		return nil
	}
	for _, p := range set {
		var v int
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p[0]).Scan(&v); err != nil {
			return nil, gatehouse.Internal(fmt.Errorf("read %s: %w", p[0], err))
		}
		old = append(old, [2]string{p[0], itoa(v)})
		if _, err := conn.ExecContext(ctx, "PRAGMA "+p[0]+" = "+p[1]); err != nil {
			return nil, gatehouse.Internal(fmt.Errorf("set %s: %w (restored: %v)", p[0], err, restore()))
		}
	}
	return restore, nil
}

// insertTables inserts the tables' rows in one transaction on conn,
// perStmt rows per INSERT, with "?" placeholders when positional.
func (s *Store) insertTables(ctx context.Context, conn *sql.Conn, ts []BulkTable, perStmt int, positional bool) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.connErr(err)
	}
	c := &Conn{q: s.wrapQ(tx), s: s, inTx: true}
	for _, t := range ts {
		if err := c.insertRows(ctx, t, perStmt, positional); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return s.connErr(err)
	}
	return nil
}

// insertRows inserts t's rows with multi-row INSERTs of perStmt rows, one
// prepared statement reused for the full ones.
func (c *Conn) insertRows(ctx context.Context, t BulkTable, perStmt int, positional bool) error {
	if len(t.Rows) == 0 {
		return nil
	}
	per := max(1, min(perStmt, maxBulkVariables/len(t.Cols)))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(per, len(t.Rows))*len(t.Cols))
	for start := 0; start < len(t.Rows); start += per {
		batch := t.Rows[start:min(start+per, len(t.Rows))]
		args = args[:0]
		for _, r := range batch {
			args = append(args, r...)
		}
		var err error
		if len(batch) == per {
			if full == nil {
				if full, err = c.prepare(ctx, insertSQL(t.Name, t.Cols, per, positional)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = c.q.ExecContext(ctx, insertSQL(t.Name, t.Cols, len(batch), positional), args...)
		}
		if err != nil {
			return c.wrap(err, fmt.Sprintf("bulk insert %s (%d rows)", t.Name, len(batch)))
		}
	}
	return nil
}

// insertSQL is bulkInsertSQL, or the same with "?" placeholders.
func insertSQL(table string, cols []string, rows int, positional bool) string {
	q := bulkInsertSQL(table, cols, rows)
	if !positional {
		return q
	}
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			b = append(b, q[i])
			continue
		}
		b = append(b, '?')
		for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			i++
		}
	}
	return string(b)
}
