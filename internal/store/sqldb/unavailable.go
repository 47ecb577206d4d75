package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Unavailability: every error a statement, a row or a transaction of the
// store returns passes through the backend's Unavailable test, and one that
// says the database is unreachable or full is wrapped in
// store.ErrUnavailable (the edge answers 503). The test is the backend's,
// as only it knows its driver's errors.

// checked is the querier Queries runs on: it classifies the errors of
// statements, of scanned rows and of row iteration.
type checked struct {
	q           querier
	unavailable func(error) bool
}

func (c checked) classify(err error) error {
	if err == nil || c.unavailable == nil || !c.unavailable(err) {
		return err
	}
	return store.Unavailable(err)
}

func (c checked) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	return res, c.classify(err)
}

func (c checked) QueryContext(ctx context.Context, query string, args ...any) (*rows, error) {
	rs, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, c.classify(err)
	}
	return &rows{Rows: rs, c: c}, nil
}

func (c checked) QueryRowContext(ctx context.Context, query string, args ...any) *row {
	return &row{r: c.q.QueryRowContext(ctx, query, args...), c: c}
}

// rows is *sql.Rows whose errors are classified.
type rows struct {
	*sql.Rows
	c checked
}

func (r *rows) Scan(dest ...any) error { return r.c.classify(r.Rows.Scan(dest...)) }
func (r *rows) Err() error             { return r.c.classify(r.Rows.Err()) }

// row is *sql.Row whose error is classified.
type row struct {
	r *sql.Row
	c checked
}

func (r *row) Scan(dest ...any) error { return r.c.classify(r.r.Scan(dest...)) }

// HealthHold is how long a write refused for unavailability keeps Health
// failing before a probe write may clear it: a store that refuses some
// writes and takes others (a database full to its last page takes a
// one-row update but not a new order) then reads as unavailable for at
// least that long after each refusal, instead of flapping with every
// probe.
const HealthHold = 10 * time.Second

// healthState is what the Group remembers of its writes for Health.
type healthState struct {
	mu       sync.Mutex
	failed   error // the last write refused for unavailability, nil once one commits
	failedAt time.Time
	probing  bool
	hold     time.Duration // HealthHold unless a test shortens it
}

// SetHealthHold replaces HealthHold for this Group (tests).
func (g *Group) SetHealthHold(d time.Duration) {
	g.health.mu.Lock()
	defer g.health.mu.Unlock()
	g.health.hold = d
}

// note records the outcome of one InTx call: a commit clears a refusal,
// an unavailability error is one; other errors (a rule refused the work)
// say nothing about the store.
func (h *healthState) note(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.failed = nil
	case errors.Is(err, store.ErrUnavailable):
		h.failed, h.failedAt = err, time.Now()
	}
}

// Health reports whether the store takes writes. While the last write was
// refused for unavailability it fails with that error; once HealthHold has
// passed, one probe write at a time (a one-row upsert through the same
// group commit as every other write) decides, so that a store that came
// back is seen without waiting for a client's write. Otherwise one read
// through read (the backend's read pool) shows a lost connection or a
// database file that cannot be opened, without writing.
func (g *Group) Health(ctx context.Context, read *Queries) error {
	h := &g.health
	h.mu.Lock()
	failed, at, probing := h.failed, h.failedAt, h.probing
	hold := h.hold
	if hold == 0 {
		hold = HealthHold
	}
	probe := failed != nil && !probing && time.Since(at) >= hold
	if probe {
		h.probing = true
	}
	h.mu.Unlock()
	if failed != nil && !probe {
		return failed
	}
	if probe {
		defer func() { h.mu.Lock(); h.probing = false; h.mu.Unlock() }()
		return g.InTx(ctx, func(tx store.Tx) error { return tx.(*Queries).probeWrite(ctx) })
	}
	return read.probeRead(ctx)
}

// probeKey is the setting the health probe writes (the time of the last
// probe; nothing reads it).
const probeKey = "health_probe"

func (q *Queries) probeWrite(ctx context.Context) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, probeKey, ts(nowUTC()))
	return writeErr(err, "health probe")
}

func (q *Queries) probeRead(ctx context.Context) error {
	var n int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("health probe: %w", err)
	}
	return nil
}
