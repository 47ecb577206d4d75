// Package sqldb is the SQL both store backends share: every query of
// store.Reader and store.Writer, written once for SQLite and PostgreSQL, and
// the migrations that create and upgrade both schemas. The backends
// (internal/store/sqlite, internal/store/postgres) own connections,
// transactions and durability; the few places where the two SQL dialects
// differ are the Dialect's.
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dialect is what differs between the backends' SQL.
type Dialect struct {
	Name string
	// numbered placeholders ($1, $2...) instead of ?.
	numbered bool
	// returning: inserts report their id with RETURNING instead of
	// LastInsertId.
	returning bool
}

var (
	SQLite   = &Dialect{Name: "sqlite"}
	Postgres = &Dialect{Name: "postgres", numbered: true, returning: true}
)

// Querier is what both *sql.DB and *sql.Tx offer.
type Querier = querier

// New returns the queries of dialect d over q (a pool or a transaction).
// unavailable, the backend's test for errors that mean the database is
// unreachable or full, makes those errors wrap store.ErrUnavailable; nil
// classifies nothing.
func New(q Querier, d *Dialect, unavailable func(error) bool) Queries {
	if d.numbered {
		q = numbering{q}
	}
	return Queries{q: checked{q: q, unavailable: unavailable}, d: d}
}

func nowUTC() time.Time { return time.Now().UTC() }

// textArray is a FROM item giving each element of the JSON array of
// strings in col as a row with a text column named value.
func (d *Dialect) textArray(col string) string {
	if d == Postgres {
		return "jsonb_array_elements_text(" + col + "::jsonb) AS je(value)"
	}
	return "json_each(" + col + ")"
}

// objectArray is a FROM item giving each object of the JSON array in col
// as a row with a column named value; field reads one of its members as
// text.
func (d *Dialect) objectArray(col string) string {
	if d == Postgres {
		return "jsonb_array_elements(" + col + "::jsonb) AS je(value)"
	}
	return "json_each(" + col + ")"
}

func (d *Dialect) field(key string) string {
	if d == Postgres {
		return "(value->>'" + key + "')"
	}
	return "CAST(json_extract(value, '$." + key + "') AS TEXT)"
}

// contains: b occurs in a.
func (d *Dialect) contains(a, b string) string {
	if d == Postgres {
		return "strpos(" + a + ", " + b + ") > 0"
	}
	return "instr(" + a + ", " + b + ") > 0"
}

// numbering rewrites ? placeholders as $1, $2, ... outside quoted text.
type numbering struct{ q querier }

var numbered sync.Map // query → rewritten

func renumber(query string) string {
	if v, ok := numbered.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for _, r := range query {
		switch {
		case r == '\'':
			quoted = !quoted
			b.WriteRune(r)
		case r == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	numbered.Store(query, out)
	return out
}

func (n numbering) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return n.q.ExecContext(ctx, renumber(query), args...)
}

func (n numbering) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return n.q.QueryContext(ctx, renumber(query), args...)
}

func (n numbering) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return n.q.QueryRowContext(ctx, renumber(query), args...)
}

// keyed is the context for the reads every order makes that find their
// rows by a unique key (the API key, the blocked-key fingerprint, a
// setting, a domain of the account by name). On SQLite it is ctx without
// its cancellation: such a read of the local file ends in microseconds,
// before a departed client could be noticed, while watching for a
// cancellation costs database/sql and the driver a goroutine each per
// query, a third of the read (BenchmarkPointRead). A deadline, when ctx
// has one, is kept, and so is everything on PostgreSQL, where a read is a
// round trip that a hung network could stretch without end. Reads that
// may scan many rows (lists, their totals, censuses) keep ctx as it is.
func (q *Queries) keyed(ctx context.Context) context.Context {
	if q.d != SQLite {
		return ctx
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are written in SQLite's SQL. For PostgreSQL a migration
// NAME.sql is translated (the column types below), unless a hand-written
// NAME.postgres.sql stands beside it (triggers, which the two write
// differently).
var pgTypes = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^(\s*id\s+)INTEGER PRIMARY KEY( AUTOINCREMENT)?`), "${1}BIGSERIAL PRIMARY KEY"},
	{regexp.MustCompile(`\bINTEGER\b`), "BIGINT"},
	{regexp.MustCompile(`\bBLOB\b`), "BYTEA"},
}

func migrationSQL(name string, d *Dialect) (string, error) {
	if d == Postgres {
		if b, err := migrations.ReadFile(strings.TrimSuffix(name, ".sql") + ".postgres.sql"); err == nil {
			return string(b), nil
		}
	}
	b, err := migrations.ReadFile(name)
	if err != nil {
		return "", err
	}
	s := string(b)
	if d == Postgres {
		for _, t := range pgTypes {
			s = t.re.ReplaceAllString(s, t.with)
		}
	}
	return s, nil
}

// Migrate applies, in order, every embedded migration db has not had, each
// in its own transaction with its record in schema_migrations. lock, when
// set, runs first in each transaction (PostgreSQL takes an advisory lock
// there, so that replicas starting together migrate one at a time).
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, lock string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, ".postgres.sql") {
			continue
		}
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		body, err := migrationSQL(name, d)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin migration %s: %w", version, err)
		}
		tq := New(tx, d, nil)
		if lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				tx.Rollback()
				return fmt.Errorf("lock for migration %s: %w", version, err)
			}
		}
		var n int
		if err := tq.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, body); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply migration %s: %w", version, err)
		}
		if _, err := tq.q.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, ts(nowUTC())); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", version, err)
		}
	}
	return nil
}
