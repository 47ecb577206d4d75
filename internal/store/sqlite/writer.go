package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	moderncsqlite "modernc.org/sqlite"

	"github.com/certorder/certorder/internal/store/sqldb"
)

// writer is the single writer connection, the transaction of every batch
// of the store's group commit (sqldb.Group). Statements are prepared on it
// once; only the Group's leader uses it, one batch at a time.
type writer struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt

	pages atomic.Int64 // written to the WAL, as of the last commit
}

var _ sqldb.GroupTx = (*writer)(nil)

func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite writer connection: %w", err)
	}
	return &writer{conn: conn, stmts: map[string]*sql.Stmt{}}, nil
}

// begin opens an IMMEDIATE transaction: the write lock is taken at once,
// so that another process on the same file makes it wait (busy_timeout)
// here rather than fail at its first write.
func (w *writer) begin() (sqldb.GroupTx, error) {
	if err := w.Exec("BEGIN IMMEDIATE"); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *writer) Exec(query string) error {
	_, err := w.ExecContext(bg, query)
	return err
}

// Commit commits the batch, then adds the pages it wrote to the WAL to
// w.pages (WriteStats, /metrics). Only the group's leader calls it, so the
// connection is its own here; the count is lost, not the commit, if SQLite
// will not say.
func (w *writer) Commit() error {
	if err := w.Exec("COMMIT"); err != nil {
		return err
	}
	w.countPages()
	return nil
}

// Rollback: an error means no transaction is open any more (SQLite already
// rolled it back); either way none is open afterwards.
func (w *writer) Rollback() { w.conn.ExecContext(bg, "ROLLBACK") }

func (w *writer) close() error {
	for _, st := range w.stmts {
		st.Close()
	}
	return w.conn.Close()
}

// bg is the context of every statement the writer runs. A caller's
// context must not reach SQLite: cancelling a statement interrupts the
// connection, and SQLite may then roll back the whole transaction, other
// callers' work included. A caller that goes away while its call runs
// simply gets its answer unread.
var bg = context.Background()

// stmt returns the statement prepared on the writer connection for query,
// or nil when the cache is full (list queries are built from filters).
func (w *writer) stmt(query string) *sql.Stmt {
	if st, ok := w.stmts[query]; ok {
		return st
	}
	if len(w.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := w.conn.PrepareContext(bg, query)
	if err != nil {
		return nil // run unprepared, so the error surfaces from the query itself
	}
	w.stmts[query] = st
	return st
}

// ExecContext, QueryContext and QueryRowContext make the writer the
// querier of the calls' store.Tx: prepared statements, and never the
// caller's context (see bg).
func (w *writer) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmt(query); st != nil {
		return st.ExecContext(bg, args...)
	}
	return w.conn.ExecContext(bg, query, args...)
}

func (w *writer) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(query); st != nil {
		return st.QueryContext(bg, args...)
	}
	return w.conn.QueryContext(bg, query, args...)
}

func (w *writer) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	if st := w.stmt(query); st != nil {
		return st.QueryRowContext(bg, args...)
	}
	return w.conn.QueryRowContext(bg, query, args...)
}

// countPages adds the pages the writer connection wrote to the WAL since
// the last call to w.pages. SQLite's per-connection counter is a C int, so
// it is read and reset each time.
func (w *writer) countPages() {
	w.conn.Raw(func(dc any) error {
		if st, ok := dc.(moderncsqlite.DBStatus); ok {
			if n, _, err := st.Status(moderncsqlite.DBStatusCacheWrite, true); err == nil {
				w.pages.Add(int64(n))
			}
		}
		return nil
	})
}
