// Package postgres opens Gatehouse on PostgreSQL through pgx. Several
// Gatehouse processes may share one database.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/store"
)

type dialect struct{}

func (dialect) Name() string       { return "postgres" }
func (dialect) SkipLocked() string { return "FOR UPDATE SKIP LOCKED" }
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
	return s, nil
}
