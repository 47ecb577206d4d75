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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

// Store is the PostgreSQL backend.
type Store struct {
	sqldb.Queries
	db    *sql.DB
	group *sqldb.Group
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.WriteCounter = (*Store)(nil)
)

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
// write lock. The transaction is opened and ended by plain statements on
// the connection rather than through database/sql's Tx, so that taking
// the lock and BEGIN go in one round trip, and COMMIT and releasing the
// lock in another: each pair is pipelined, each statement followed by a
// sync point of its own, so that each runs as it would alone (a BEGIN in
// the lock's implicit transaction would take its snapshot before the lock
// is held; an unlock still runs after a COMMIT that failed). A connection
// given back with a transaction still open is discarded by the driver,
// which also ends its lock.
//
// A batch holds back the writes sqldb asks it to (sqldb.LaterExecer) and
// sends them, in order, ahead of the next statement that needs an answer
// or of the COMMIT, all in one round trip (a pgx batch: one sync point,
// so that a failure skips everything after it, as it would have aborted
// the transaction anyway). It also takes the ids of orders and
// certificates ahead of their inserts (sqldb.IDTaker), as many at once as
// the batch has jobs left.
type batch struct {
	conn  *sql.Conn
	later []heldStmt
	// failed is the failure of a held-back write: the transaction is
	// aborted, and every later statement and the commit return it.
	failed error
	left   int // jobs of the batch not yet run, the running one included
	// ids taken ahead and not yet given
	orderIDs, certIDs []int64
}

type heldStmt struct {
	what  string // named in its error
	query string
	args  []any
}

var (
	_ sqldb.GroupTx     = (*batch)(nil)
	_ sqldb.LaterExecer = (*batch)(nil)
	_ sqldb.IDTaker     = (*batch)(nil)
	_ sqldb.JobTx       = (*batch)(nil)
)

var (
	lockSQL   = fmt.Sprintf(`SELECT pg_advisory_lock(%d)`, writeLock)
	unlockSQL = fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, writeLock)
)

func (s *Store) begin() (sqldb.GroupTx, error) {
	conn, err := s.db.Conn(bg)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	_, err = pipelined(conn, lockSQL, `BEGIN ISOLATION LEVEL SERIALIZABLE`)
	if err != nil {
		// The lock may be held or the transaction open: the connection
		// goes, and its session with them.
		discard(conn)
		return nil, fmt.Errorf("take the write lock and begin: %w", err)
	}
	return &batch{conn: conn}, nil
}

// pipelined runs stmts (without parameters) on conn in one round trip,
// each with a sync point of its own, and returns their command tags and
// the first error: a statement's own, or the connection's.
func pipelined(conn *sql.Conn, stmts ...string) (tags []string, err error) {
	tags = make([]string, len(stmts))
	rawErr := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: driver connection is %T", dc)
		}
		pl := c.Conn().PgConn().StartPipeline(bg)
		for _, s := range stmts {
			pl.SendQueryParams(s, nil, nil, nil, nil)
			pl.SendPipelineSync()
		}
		if err := pl.Flush(); err != nil {
			pl.Close()
			return err
		}
		for i := 0; i < len(stmts); {
			res, rerr := pl.GetResults()
			var pgErr *pgconn.PgError
			switch r := res.(type) {
			case nil:
				if rerr == nil {
					pl.Close()
					return errors.New("postgres: pipeline ended early")
				}
				if !errors.As(rerr, &pgErr) {
					pl.Close()
					return rerr
				}
				// The statement failed; its sync point comes next.
				if err == nil {
					err = rerr
				}
			case *pgconn.ResultReader:
				tag, cerr := r.Close()
				tags[i] = tag.String()
				if cerr != nil && err == nil {
					err = cerr
				}
			case *pgconn.PipelineSync:
				i++
			}
		}
		return pl.Close()
	})
	if rawErr != nil {
		return tags, rawErr
	}
	return tags, err
}

func (b *batch) ExecLater(what, query string, args ...any) {
	b.later = append(b.later, heldStmt{what, query, args})
}

func (b *batch) StartJob(left int) { b.left = left }

func (b *batch) Discard() {
	clear(b.later)
	b.later, b.failed = b.later[:0], nil
}

// Flush sends the held-back writes; the statements that go through
// database/sql, which cannot carry them, flush first.
func (b *batch) Flush() error {
	if len(b.later) == 0 {
		return b.failed
	}
	_, err := b.send(nil)
	return err
}

// send sends the held-back writes and then tail in one round trip, and
// returns tail's command tags; read, when set, reads the last statement's
// rows instead. A held-back write's failure comes back as a
// *sqldb.HeldBackError.
func (b *batch) send(read func(pgx.Rows) error, tail ...heldStmt) ([]pgconn.CommandTag, error) {
	if b.failed != nil {
		return nil, b.failed
	}
	var pb pgx.Batch
	held := make([]string, len(b.later))
	for i, st := range b.later {
		pb.Queue(st.query, st.args...)
		held[i] = st.what
	}
	clear(b.later) // the arguments may be large (a certificate's DER)
	b.later = b.later[:0]
	for _, st := range tail {
		pb.Queue(st.query, st.args...)
	}
	var tags []pgconn.CommandTag
	err := b.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: driver connection is %T", dc)
		}
		br := c.Conn().SendBatch(bg, &pb)
		for _, what := range held {
			if _, err := br.Exec(); err != nil {
				br.Close()
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) {
					// Not the statement's refusal but the connection's (or
					// the driver's) failure: what PostgreSQL ran of the
					// batch, a COMMIT included, is not known. It goes back
					// as it is, so that a failed commit stays in doubt and
					// is not taken for a write to run again.
					return err
				}
				b.failed = sqldb.NewHeldBackError(what, err)
				return b.failed
			}
		}
		for i := range tail {
			if read != nil && i == len(tail)-1 {
				rows, err := br.Query()
				if err == nil {
					err = read(rows)
					rows.Close()
					if err == nil {
						err = rows.Err()
					}
				}
				if err != nil {
					br.Close()
					return err
				}
				tags = append(tags, rows.CommandTag())
				continue
			}
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			tags = append(tags, tag)
		}
		return br.Close()
	})
	return tags, err
}

// execResult is the sql.Result of a statement sent with held-back writes.
type execResult struct{ n int64 }

func (r execResult) LastInsertId() (int64, error) {
	return 0, errors.New("postgres: no LastInsertId (use RETURNING)")
}
func (r execResult) RowsAffected() (int64, error) { return r.n, nil }

func (b *batch) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if len(b.later) == 0 && b.failed == nil {
		return b.conn.ExecContext(bg, query, args...)
	}
	tags, err := b.send(nil, heldStmt{query: query, args: args})
	if err != nil {
		return nil, err
	}
	return execResult{tags[0].RowsAffected()}, nil
}

// QueryContext and QueryRowContext carry the held-back writes when they
// can (carried.go), and answer a held-back write's failure rather than
// what the aborted transaction would: a caller told "not found" might
// act on it.
func (b *batch) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	if a, err := b.beforeRead(query, args); err != nil {
		return nil, err
	} else if a != nil {
		return answerRows(a)
	}
	return b.conn.QueryContext(bg, query, args...)
}

func (b *batch) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	if a, err := b.beforeRead(query, args); err != nil {
		return answerRow(&answeredRows{err: err})
	} else if a != nil {
		return answerRow(a)
	}
	return b.conn.QueryRowContext(bg, query, args...)
}

// beforeRead sends the held-back writes before a read: with it, answering
// its rows, when it can be carried; otherwise alone, answering nil rows
// for the read to be sent the usual way.
func (b *batch) beforeRead(query string, args []any) (*answeredRows, error) {
	if b.failed != nil {
		return nil, b.failed
	}
	if len(b.later) == 0 {
		return nil, nil
	}
	if carriable(query) {
		return b.carry(query, args)
	}
	return nil, b.Flush()
}

// takeAheadSQL takes the next ids of both tables whose ids are taken
// ahead, orders and certificates (the rest of an order's transaction needs
// their ids): an order that issues at once needs one of each, so both
// come in one round trip, and a certificate id an order did not need is
// skipped.
const takeAheadSQL = `SELECT nextval('orders_id_seq'), nextval('certificates_id_seq') FROM generate_series(1, $1::int)`

// TakeID gives the next id of table taken ahead, taking as many of both
// tables as the batch has jobs left when table's are used up.
func (b *batch) TakeID(table string) (int64, error) {
	var ids *[]int64
	switch table {
	case "orders":
		ids = &b.orderIDs
	case "certificates":
		ids = &b.certIDs
	default:
		return 0, fmt.Errorf("postgres: no ids are taken ahead for %s", table)
	}
	if len(*ids) == 0 {
		_, err := b.send(func(rows pgx.Rows) error {
			for rows.Next() {
				var o, c int64
				if err := rows.Scan(&o, &c); err != nil {
					return err
				}
				b.orderIDs, b.certIDs = append(b.orderIDs, o), append(b.certIDs, c)
			}
			return nil
		}, heldStmt{query: takeAheadSQL, args: []any{max(1, b.left)}})
		if err != nil {
			return 0, err
		}
		if len(*ids) == 0 {
			return 0, fmt.Errorf("postgres: no id of %s was taken", table)
		}
	}
	id := (*ids)[0]
	*ids = (*ids)[1:]
	return id, nil
}

func (b *batch) Exec(query string) error {
	_, err := b.ExecContext(bg, query)
	return err
}

// Commit commits and releases the lock, sending the held-back writes
// first in the same round trip. PostgreSQL answers COMMIT of a
// transaction that an earlier statement aborted with ROLLBACK, not an
// error: only the COMMIT tag counts as committed.
func (b *batch) Commit() error {
	var tags []string
	var err error
	if len(b.later) == 0 && b.failed == nil {
		tags, err = pipelined(b.conn, "COMMIT", unlockSQL)
	} else {
		// One sync point: a failed write skips the COMMIT and the unlock,
		// which Rollback then sends.
		var ct []pgconn.CommandTag
		ct, err = b.send(nil, heldStmt{query: "COMMIT"}, heldStmt{query: unlockSQL})
		for _, t := range ct {
			tags = append(tags, t.String())
		}
	}
	if err != nil {
		return err // Rollback follows a failed commit
	}
	b.conn.Close()
	b.conn = nil
	if tags[0] != "COMMIT" {
		return fmt.Errorf("postgres: the transaction was rolled back at commit (%q)", tags[0])
	}
	return nil
}

func (b *batch) Rollback() {
	b.later, b.failed = nil, nil
	if b.conn == nil {
		return // already ended
	}
	if _, err := pipelined(b.conn, "ROLLBACK", unlockSQL); err != nil {
		discard(b.conn)
	} else {
		b.conn.Close()
	}
	b.conn = nil
}

// discard closes conn's session (which ends its transaction and releases
// its locks) instead of giving it back to the pool.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
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

// WriteStats: this process's commits and the calls they carried; the pages
// PostgreSQL writes are its own to count (pg_stat_wal).
func (s *Store) WriteStats() store.WriteStats {
	commits, calls := s.group.Counts()
	return store.WriteStats{Commits: commits, Calls: calls, Pages: -1}
}

// Close waits for the running batch and closes the pool.
func (s *Store) Close() error {
	s.group.Close()
	return s.db.Close()
}
