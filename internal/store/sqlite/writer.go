package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

// maxBatch bounds the transactions committed together: enough to carry
// every request a loaded server has in flight, few enough that one batch
// never holds the others' answers for long.
const maxBatch = 256

// errClosed answers a transaction submitted after Close.
var errClosed = errors.New("sqlite store is closed")

// writer is the single writer connection. Concurrent InTx calls queue
// here and are run by one of them, the leader, inside one SQLite
// transaction, each in a savepoint of its own, and committed together with
// one fsync (group commit). A call that fails rolls back to its savepoint
// and fails alone; the others still commit. Nobody is told a transaction
// committed before the COMMIT that made it durable returned.
//
// There is no writer goroutine: the caller that finds no leader becomes it
// and runs the queue on its own goroutine, so an uncontended transaction
// costs no hand-over between goroutines (each is a futex wake-up, dear on
// a virtual machine). After its batch the leader passes the lead to the
// first call still queued, if any, and returns: no caller runs batches for
// others once its own is done.
type writer struct {
	conn *sql.Conn

	mu      sync.Mutex
	queue   []*writeJob
	leading bool // a caller is running batches
	closed  bool
	idle    *sync.Cond // signalled when leading ends (Close waits for it)

	stmts map[string]*sql.Stmt // prepared on conn; only the leader touches it

	// batchHook, when set (tests), sees the size of each committed batch.
	batchHook func(n int)
}

type writeJob struct {
	ctx    context.Context
	fn     func(store.Tx) error
	result chan jobResult
}

type jobResult struct {
	err   error
	panic any  // re-raised in the caller's goroutine
	lead  bool // not a result: the caller is to lead the next batch
}

func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite writer connection: %w", err)
	}
	w := &writer{conn: conn, stmts: map[string]*sql.Stmt{}}
	w.idle = sync.NewCond(&w.mu)
	return w, nil
}

// inTx queues fn and waits for its outcome, leading batches when no other
// caller does. Once queued, a call is waited for even if ctx ends: it may
// already be part of a batch being committed, and its caller must learn
// whether it committed.
func (w *writer) inTx(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, fn: fn, result: make(chan jobResult, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.queue = append(w.queue, j)
	lead := !w.leading
	w.leading = true
	w.mu.Unlock()

	r := jobResult{lead: lead}
	if !lead {
		r = <-j.result // the outcome, or the lead handed over
	}
	for r.lead {
		// j is first in the queue, so the batch lead runs includes it and
		// its outcome is waiting when lead returns.
		w.lead()
		r = <-j.result
	}
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// lead runs one batch of everything queued, then hands the lead to the
// first call that arrived meanwhile, or ends leading.
func (w *writer) lead() {
	w.mu.Lock()
	batch := w.queue
	if len(batch) > maxBatch {
		batch = batch[:maxBatch]
	}
	w.queue = w.queue[len(batch):]
	w.mu.Unlock()
	for len(batch) > 0 {
		batch = w.runBatch(batch)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		w.queue[0].result <- jobResult{lead: true}
		return
	}
	w.leading = false
	w.idle.Broadcast()
}

func (w *writer) close() error {
	w.mu.Lock()
	w.closed = true
	for w.leading {
		w.idle.Wait()
	}
	w.mu.Unlock()
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

// runBatch runs the jobs in one transaction and commits it. It returns the
// jobs it did not get to (the transaction failed in a way that lost the
// savepoints); they run in a batch of their own.
func (w *writer) runBatch(batch []*writeJob) (rest []*writeJob) {
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		for _, j := range batch {
			j.result <- jobResult{err: fmt.Errorf("begin transaction: %w", err)}
		}
		return nil
	}
	q := sqldb.New(w, sqldb.SQLite)
	single := len(batch) == 1
	var ran []*writeJob // ran and kept
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.result <- jobResult{err: err}
			continue
		}
		if !single {
			if _, err := w.exec("SAVEPOINT job"); err != nil {
				return w.abort(ran, batch[i:], err)
			}
		}
		r := runJob(j.fn, &q)
		if r.err == nil && r.panic == nil {
			if !single {
				if _, err := w.exec("RELEASE job"); err != nil {
					return w.abort(append(ran, j), batch[i+1:], err)
				}
			}
			ran = append(ran, j)
			continue
		}
		if single {
			w.rollback()
			j.result <- r
			return nil
		}
		if _, err := w.exec("ROLLBACK TO job"); err != nil {
			j.result <- r
			return w.abort(ran, batch[i+1:], err)
		}
		if _, err := w.exec("RELEASE job"); err != nil {
			j.result <- r
			return w.abort(ran, batch[i+1:], err)
		}
		j.result <- r
	}
	if len(ran) == 0 {
		w.rollback()
		return nil
	}
	if _, err := w.exec("COMMIT"); err != nil {
		w.rollback()
		for _, j := range ran {
			j.result <- jobResult{err: fmt.Errorf("commit: %w", err)}
		}
		return nil
	}
	if w.batchHook != nil {
		w.batchHook(len(ran))
	}
	for _, j := range ran {
		j.result <- jobResult{}
	}
	return nil
}

// abort rolls the transaction back after SQLite refused a savepoint
// command (the transaction itself is then in doubt): the jobs that ran get
// the error, since their work is gone and running them twice could repeat
// their effects in memory; the jobs not yet run go on in a new batch.
func (w *writer) abort(ran, notRun []*writeJob, cause error) []*writeJob {
	w.rollback()
	for _, j := range ran {
		j.result <- jobResult{err: fmt.Errorf("transaction rolled back: %w", cause)}
	}
	return notRun
}

func (w *writer) rollback() {
	// An error here means no transaction is open any more (SQLite already
	// rolled it back); either way none is open afterwards.
	w.conn.ExecContext(bg, "ROLLBACK")
}

func runJob(fn func(store.Tx) error, tx store.Tx) (r jobResult) {
	defer func() {
		if p := recover(); p != nil {
			r = jobResult{panic: p}
		}
	}()
	return jobResult{err: fn(tx)}
}

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

func (w *writer) exec(query string, args ...any) (sql.Result, error) {
	return w.ExecContext(bg, query, args...)
}

// ExecContext, QueryContext and QueryRowContext make the writer the
// querier of the jobs' store.Tx: prepared statements, and never the
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
