// Package postgres is the store for more than one machine: PostgreSQL
// through pgx (as a database/sql driver), the SQL of internal/store/sqldb,
// and serializable transactions, so that several certorder processes on one
// database keep the guarantees SQLite's single writer gives one process.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

// Store is the PostgreSQL backend.
type Store struct {
	sqldb.Queries
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// migrationLock is the advisory lock replicas starting together take to
// migrate one at a time.
const migrationLock = `SELECT pg_advisory_xact_lock(7307001)`

// maxAttempts bounds the retries of a transaction that lost a
// serialization race.
const maxAttempts = 20

// Open connects to the database at dsn (postgres://...) and applies the
// embedded migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := sqldb.Migrate(ctx, db, sqldb.Postgres, migrationLock); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{Queries: sqldb.New(db, sqldb.Postgres), db: db}, nil
}

// InTx runs fn in one SERIALIZABLE transaction. When PostgreSQL aborts it
// for a serialization failure or a deadlock (another process wrote what it
// read), the whole of fn runs again in a new transaction, so callers see
// the same all-or-nothing, one-after-another behaviour as with SQLite.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.try(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		// Jittered backoff, so that the racers do not meet again.
		d := time.Duration(rand.IntN(1<<min(attempt, 8))+1) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// writeLock is the session-level advisory lock every write transaction
// holds, across all processes on the database: writers take turns, as
// SQLite's single writer makes them, so concurrent orders of one account
// (which all charge its balance) never abort each other. It is taken
// before BEGIN, so the transaction's snapshot is taken after the previous
// writer committed; SERIALIZABLE and the retries stay as the safety net.
const writeLock = 7307002

func (s *Store) try(ctx context.Context, fn func(store.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, writeLock); err != nil {
		return fmt.Errorf("take the write lock: %w", err)
	}
	defer func() {
		// Released on this connection even when ctx has ended; a
		// connection that cannot release it is closed (which releases it).
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, writeLock); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	return sqldb.RunTx(tx, sqldb.Postgres, fn)
}

// retryable: SQLSTATE 40001 (serialization failure) or 40P01 (deadlock).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40001") || strings.Contains(msg, "SQLSTATE 40P01")
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }
