package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Bulk loading, for load tests that seed millions of rows (cmd/gatehouse-bench).
// Both engines take the same multi-row INSERT with $N placeholders; only the
// number of rows per statement differs (DefaultBulkRows).

// bulkInvitationColumns are the columns BulkInsertInvitations writes.
var bulkInvitationColumns = []string{"id", "org_id", "email", "email_norm", "name", "role_id", "grants", "authentication", "status",
	"token_hash", "valid_days", "created_by", "updated_by", "accepted_by", "created_at", "updated_at", "expires_at", "sent_at"}

// maxBulkVariables keeps one statement within SQLite's limit on bound
// variables (SQLITE_MAX_VARIABLE_NUMBER, 32766) and PostgreSQL's 65535.
const maxBulkVariables = 32766

// BulkOptions tune a bulk load; zero values take the defaults.
type BulkOptions struct {
	// RowsPerInsert is how many rows one INSERT statement carries (default:
	// DefaultBulkRows for the engine), capped so that a statement binds at
	// most maxBulkVariables values.
	RowsPerInsert int
	// RowsPerTx is how many rows one transaction commits (SeedInvitations;
	// default SeedInvitationsPerTx).
	RowsPerTx int
}

// DefaultBulkRows is the default number of rows per INSERT on an engine.
//
// SQLite gets one row per statement, prepared once per transaction: it
// looks up a "$N" parameter's name by a linear scan of the statement's
// parameter list (sqlite3VListNumToName, which modernc.org/sqlite calls for
// every bound value through sqlite3_bind_parameter_name), so binding a
// statement costs O(values²). 1,000 rows of 18 columns spent ~0.5 s per
// statement in that scan alone (1,500 rows/s); measured on 300,000 rows,
// 1 row per statement inserted ~40,000 rows/s, 4 rows ~25,000, 16 rows
// ~22,000. PostgreSQL binds in O(values) and gains from fewer round trips:
// on 200,000 rows, 1 row per statement ~11,000 rows/s, 100 rows ~20,000,
// 1,000 rows ~24,000.
func (s *Store) DefaultBulkRows() int {
	if s.dialect.Name() == "sqlite" {
		return 1
	}
	return 1000
}

func (s *Store) bulkRows(o BulkOptions, ncol int) int {
	n := o.RowsPerInsert
	if n <= 0 {
		n = s.DefaultBulkRows()
	}
	return max(1, min(n, maxBulkVariables/ncol))
}

// bulkInsertSQL returns "INSERT INTO table (cols) VALUES ($1, …), (…)" for rows rows.
func bulkInsertSQL(table string, cols []string, rows int) string {
	var b strings.Builder
	b.Grow(len(table) + 32 + rows*len(cols)*7)
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// BulkInsertInvitations inserts invitations with multi-row INSERTs of
// DefaultBulkRows rows, reusing one prepared statement. It skips what
// CreateInvitation's callers check (daily limit, mail, audit); the rows must
// be valid already: distinct ids and token hashes, and at most one pending
// invitation per organization and address. Call it inside Store.Tx (on
// SQLite the reader pool is read-only); the caller chooses how many rows one
// transaction carries (see Store.SeedInvitations).
func (c *Conn) BulkInsertInvitations(ctx context.Context, is []*gatehouse.Invitation) error {
	return c.BulkInsertInvitationsWith(ctx, is, BulkOptions{})
}

// BulkInsertInvitationsWith is BulkInsertInvitations with o.RowsPerInsert
// rows per statement.
func (c *Conn) BulkInsertInvitationsWith(ctx context.Context, is []*gatehouse.Invitation, o BulkOptions) error {
	if len(is) == 0 {
		return nil
	}
	ncol := len(bulkInvitationColumns)
	per := c.s.bulkRows(o, ncol)
	args := make([]any, 0, min(len(is), per)*ncol)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < len(is); start += per {
		batch := is[start:min(start+per, len(is))]
		args = args[:0]
		for _, i := range batch {
			grants := "[]"
			if len(i.Grants) > 0 {
				g, err := marshalGrants(i.Grants)
				if err != nil {
					return gatehouse.Internal(err)
				}
				grants = g
			}
			auth := i.Authentication
			if auth == "" {
				auth = gatehouse.AuthPassword
			}
			status := i.Status
			if status == "" {
				status = gatehouse.InvitationPending
			}
			args = append(args, i.ID, i.OrgID, i.Email, NormalizeEmail(i.Email), i.Name, nullStr(i.RoleID), grants, auth, status,
				i.TokenHash, i.ValidDays, i.CreatedBy, i.UpdatedBy, nullStr(i.AcceptedBy),
				ts(i.CreatedAt), ts(i.UpdatedAt), ts(i.ExpiresAt), ts(i.SentAt))
		}
		var err error
		if len(batch) == per {
			if full == nil {
				if full, err = c.prepare(ctx, bulkInsertSQL("invitations", bulkInvitationColumns, per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = c.q.ExecContext(ctx, bulkInsertSQL("invitations", bulkInvitationColumns, len(batch)), args...)
		}
		if err != nil {
			return c.wrap(err, fmt.Sprintf("bulk insert invitations (%d rows)", len(batch)))
		}
	}
	return nil
}

// prepare prepares a statement on the Conn's transaction or pool.
func (c *Conn) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	p, ok := c.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return nil, gatehouse.Internal(fmt.Errorf("store: %T cannot prepare statements", c.q))
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.wrap(err, query)
	}
	return st, nil
}

// SeedInvitationsPerTx is the default number of rows SeedInvitations commits
// at once: large enough that commits cost little, small enough that the
// writer is not held for long.
const SeedInvitationsPerTx = 50_000

// SeedInvitations bulk-inserts invitations in transactions of o.RowsPerTx
// rows (see SeedInvitationsFunc).
func (s *Store) SeedInvitations(ctx context.Context, is []*gatehouse.Invitation, o BulkOptions) error {
	return s.SeedInvitationsFunc(ctx, o, func(buf []gatehouse.Invitation) int {
		n := min(len(buf), len(is))
		for i := range n {
			buf[i] = *is[i]
		}
		is = is[n:]
		return n
	})
}

// SeedInvitationsFunc bulk-inserts the invitations gen produces, one
// transaction of up to o.RowsPerTx rows per call: gen fills buf (reused from
// call to call, so millions of rows need not be held at once) and returns
// how many it filled, 0 when done. On SQLite the writer connection's page
// cache is enlarged meanwhile (seedCacheKiB) so that growing indexes are not
// spilled to the file and read back: on 300,000 rows that took pread/pwrite
// from 22% of the seed's CPU profile to 10%.
func (s *Store) SeedInvitationsFunc(ctx context.Context, o BulkOptions, gen func(buf []gatehouse.Invitation) int) (err error) {
	perTx := o.RowsPerTx
	if perTx <= 0 {
		perTx = SeedInvitationsPerTx
	}
	if s.dialect.Name() == "sqlite" {
		restore, err := s.sqliteCacheSize(ctx, -seedCacheKiB)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, restore()) }()
	}
	buf := make([]gatehouse.Invitation, perTx)
	ptrs := make([]*gatehouse.Invitation, perTx)
	for i := range buf {
		ptrs[i] = &buf[i]
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := gen(buf)
		if n <= 0 {
			return nil
		}
		if err := s.Tx(ctx, func(tx *Conn) error { return tx.BulkInsertInvitationsWith(ctx, ptrs[:n], o) }); err != nil {
			return err
		}
	}
}

// seedCacheKiB is SQLite's page cache on the writer while seeding.
const seedCacheKiB = 256 << 10

// sqliteCacheSize sets PRAGMA cache_size on the writer connection (SQLite
// keeps one) and returns a function restoring the previous value.
func (s *Store) sqliteCacheSize(ctx context.Context, size int) (func() error, error) {
	var old int
	if err := s.writer.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&old); err != nil {
		return nil, gatehouse.Internal(fmt.Errorf("read cache_size: %w", err))
	}
	if _, err := s.writer.ExecContext(ctx, "PRAGMA cache_size = "+itoa(size)); err != nil {
		return nil, gatehouse.Internal(fmt.Errorf("set cache_size: %w", err))
	}
	return func() error {
		if _, err := s.writer.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = "+itoa(old)); err != nil {
			return gatehouse.Internal(fmt.Errorf("restore cache_size: %w", err))
		}
		return nil
	}, nil
}

// Analyze refreshes the planner's statistics for the given tables (ANALYZE,
// which both engines understand), as a database that grew over time would
// have them; call it after a bulk load.
func (s *Store) Analyze(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if strings.Trim(t, "abcdefghijklmnopqrstuvwxyz_") != "" {
			return gatehouse.Internal(fmt.Errorf("analyze: bad table name %q", t))
		}
		if _, err := s.writer.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return gatehouse.Internal(fmt.Errorf("analyze %s: %w", t, err))
		}
	}
	return s.DropValueSamples(ctx)
}

// DropValueSamples, on SQLite, keeps SQLite's per-index row counts (sqlite_stat1) and drops
// its value samples (sqlite_stat4; the driver is built with STAT4). With
// samples, a prepared statement whose plan might depend on a bound value is
// expired by every new binding and parsed and planned again on each run
// (measured: sqlite3Reprepare 8% of the CPU of a scale run's checks). Every
// query here looks rows up by key, where the counts alone pick the index.
// Analyze calls it, and so does opening the database, in case someone ran
// ANALYZE on the file by hand. A no-op on PostgreSQL.
func (s *Store) DropValueSamples(ctx context.Context) error {
	if s.dialect.Name() != "sqlite" {
		return nil
	}
	var n int
	if err := s.writer.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&n); err != nil {
		return gatehouse.Internal(fmt.Errorf("drop stat4: %w", err))
	}
	if n == 0 {
		return nil
	}
	for _, q := range []string{`DELETE FROM sqlite_stat4`, `ANALYZE sqlite_schema`} { // the second reloads the statistics
		if _, err := s.writer.ExecContext(ctx, q); err != nil {
			return gatehouse.Internal(fmt.Errorf("drop stat4: %w", err))
		}
	}
	return nil
}
