// Package sqlite is the embedded store: one SQLite file in WAL mode through
// the pure-Go modernc.org/sqlite driver. All writes go through one writer
// connection that commits concurrent callers' transactions together
// (writer.go and sqldb.Group: SQLite allows one writer, so callers queue in
// Go instead of meeting "database is locked", and one fsync makes a whole
// batch durable); reads use a small pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is the SQLite backend.
type Store struct {
	sqldb.Queries
	db     *sql.DB // the writer's pool: one connection, held by w
	w      *writer
	group  *sqldb.Group
	reader *sql.DB
	cache  *cachedReader
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.WriteCounter = (*Store)(nil)
)

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL makes every commit durable in WAL mode, not only checkpoints.
	q.Add("_pragma", "synchronous(FULL)")
	// Temporary files in memory: above all the sub-journal of each
	// savepoint, which group commit opens per caller (sqldb.Group). On
	// disk it is a file under /var/tmp written page by page with pwrite
	// as soon as a batch's savepoints pass 64 KiB; it never needs to
	// survive a crash (the WAL does), so memory loses nothing.
	q.Add("_pragma", "temp_store(MEMORY)")
	// An order rewrites the same hot pages (the rightmost leaves of the
	// order list's indexes, the account's balance) in every commit. A
	// checkpoint copies each page once however often the WAL holds it, so
	// one every 10,000 pages instead of SQLite's 1,000 copies far fewer
	// (its fsyncs of the database file too); the WAL grows to about 40 MB
	// before it is reused. 16 MB of page cache per connection keeps the
	// indexes' inner pages read from memory instead of pread.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_pragma", "cache_size(-16384)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and applies
// the embedded migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := sqldb.Migrate(ctx, w, sqldb.SQLite, ""); err != nil {
		w.Close()
		return nil, err
	}
	wr, err := newWriter(ctx, w)
	if err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wr.close()
		w.Close()
		return nil, fmt.Errorf("open sqlite reader %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	cr := newCachedReader(r)
	return &Store{Queries: sqldb.New(cr, sqldb.SQLite, readUnavailable), db: w, w: wr,
		group:  sqldb.NewGroup(sqldb.GroupConfig{Dialect: sqldb.SQLite, Begin: wr.begin, Unavailable: writeUnavailable}),
		reader: r, cache: cr}, nil
}

// InTx runs fn inside an IMMEDIATE transaction on the writer connection,
// possibly together with other callers' (group commit, sqldb.Group), and
// returns once it is durable or rolled back.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.group.InTx(ctx, fn)
}

// WriteStats: the group's commits and calls, and the pages the writer
// wrote to the WAL (counted by the writer after each commit, so that a
// scrape never waits for the writer).
func (s *Store) WriteStats() store.WriteStats {
	commits, calls := s.group.Counts()
	return store.WriteStats{Commits: commits, Calls: calls, Pages: s.w.pages.Load()}
}

// Health reports whether the store takes writes (sqldb.Group.Health): a
// refused write, or a database file the read pool cannot read, is
// store.ErrUnavailable.
func (s *Store) Health(ctx context.Context) error {
	return s.group.Health(ctx, &s.Queries)
}

// Close closes both pools; the WAL is checkpointed by SQLite on the last close.
func (s *Store) Close() error {
	s.cache.close()
	s.group.Close()
	return errors.Join(s.w.close(), s.reader.Close(), s.db.Close())
}
