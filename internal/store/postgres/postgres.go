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
	db    *sql.DB
	group *sqldb.Group
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
	s := &Store{Queries: sqldb.New(db, sqldb.Postgres, unavailable), db: db}
	s.group = sqldb.NewGroup(sqldb.GroupConfig{Dialect: sqldb.Postgres, Begin: s.begin, Retry: retryable, MaxAttempts: maxAttempts,
		Unavailable: unavailable})
	return s, nil
}

// InTx runs fn in a SERIALIZABLE transaction, together with the other
// transactions of this process that queued meanwhile (group commit,
// sqldb.Group: one turn of the write lock, one commit for the batch). When
// PostgreSQL aborts it for a serialization failure or a deadlock, the batch
// runs again, so callers see the same all-or-nothing, one-after-another
// behaviour as with SQLite; fn must therefore be safe to run twice.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.group.InTx(ctx, fn)
}

// writeLock is the session-level advisory lock every write transaction
// holds, across all processes on the database: writers take turns, as
// SQLite's single writer makes them, so concurrent orders of one account
// (which all charge its balance) never abort each other. It is taken
// before BEGIN, so the transaction's snapshot is taken after the previous
// writer committed; SERIALIZABLE and the retries stay as the safety net.
const writeLock = 7307002

// bg is the context of every statement of a batch: a caller's context
// must not cancel a statement of a transaction that carries other
// callers' work.
var bg = context.Background()

// batch is the transaction of one batch, on a connection holding the
// write lock.
type batch struct {
	conn *sql.Conn
	tx   *sql.Tx
}

var _ sqldb.GroupTx = (*batch)(nil)

func (s *Store) begin() (sqldb.GroupTx, error) {
	conn, err := s.db.Conn(bg)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	if _, err := conn.ExecContext(bg, `SELECT pg_advisory_lock($1)`, writeLock); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take the write lock: %w", err)
	}
	tx, err := conn.BeginTx(bg, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		b := &batch{conn: conn}
		b.unlock()
		return nil, err
	}
	return &batch{conn: conn, tx: tx}, nil
}

func (b *batch) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return b.tx.ExecContext(bg, query, args...)
}

func (b *batch) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return b.tx.QueryContext(bg, query, args...)
}

func (b *batch) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return b.tx.QueryRowContext(bg, query, args...)
}

func (b *batch) Exec(query string) error {
	_, err := b.tx.ExecContext(bg, query)
	return err
}

func (b *batch) Commit() error {
	err := b.tx.Commit()
	if err == nil {
		b.unlock()
	}
	return err // Rollback follows a failed commit and unlocks
}

func (b *batch) Rollback() {
	if b.conn == nil {
		return // already ended
	}
	if err := b.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		b.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	b.unlock()
}

// unlock releases the write lock and the connection; a connection that
// cannot release the lock is closed (which releases it).
func (b *batch) unlock() {
	if _, err := b.conn.ExecContext(bg, `SELECT pg_advisory_unlock($1)`, writeLock); err != nil {
		b.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	b.conn.Close()
	b.conn = nil
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

// Health reports whether the store takes writes (sqldb.Group.Health): a
// refused write, or a server the pool cannot reach, is
// store.ErrUnavailable.
func (s *Store) Health(ctx context.Context) error {
	return s.group.Health(ctx, &s.Queries)
}

// Close waits for the running batch and closes the pool.
func (s *Store) Close() error {
	s.group.Close()
	return s.db.Close()
}
