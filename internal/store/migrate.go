package store

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migration files (tests key the migrated
// template databases they copy on their contents).
func Migrations() fs.FS {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return fsys
}

// Migrate applies every pending migration. Both engines share one history.
func (s *Store) Migrate(ctx context.Context) error {
	fsys := Migrations()
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.dialect.Name() == "postgres" {
		dialect = goose.DialectPostgres
		// Processes starting together on one schema take turns; the lock id
		// comes from the schema so that separate schemas (tests) need not.
		var schema string
		if err := s.writer.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("gatehouse-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.writer, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
