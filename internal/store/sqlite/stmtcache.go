package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the cache: most SQL text is fixed, but list
// queries are built from filters, and their variants should not pin
// prepared statements without limit.
const maxCachedStmts = 512

// cachedReader is the read pool with prepared statements kept across
// calls. SQLite (a C library translated to Go) spends a large part of a
// short read parsing its SQL; a statement prepared once per connection is
// reused by database/sql on that connection afterwards.
//
// The writer connection keeps statements of its own (writer.go): preparing
// on its one-connection pool while a batch holds the connection would wait
// for itself.
type cachedReader struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newCachedReader(db *sql.DB) *cachedReader {
	return &cachedReader{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement for query, or nil when it cannot or
// should not be cached (the caller then runs the query directly, so an SQL
// error surfaces exactly as without the cache).
func (c *cachedReader) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return prev
	}
	c.stmts[query] = st
	return st
}

func (c *cachedReader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	// The read pool is query_only; writes never come this way, but an
	// accidental one must fail as SQLite says, not from a cached statement.
	return c.db.ExecContext(ctx, query, args...)
}

func (c *cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// close releases every cached statement.
func (c *cachedReader) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
