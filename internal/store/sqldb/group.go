package sqldb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// maxBatch bounds the transactions committed together: enough to carry
// every request a loaded server has in flight, few enough that one batch
// never holds the others' answers for long.
const maxBatch = 256

// ErrClosed answers a transaction submitted after Close.
var ErrClosed = errors.New("store is closed")

// GroupTx is the transaction of one batch, opened by a backend.
type GroupTx interface {
	Querier
	// Exec runs a savepoint command.
	Exec(query string) error
	Commit() error
	// Rollback ends the transaction; afterwards none is open.
	Rollback()
}

// GroupConfig is what a backend gives a Group.
type GroupConfig struct {
	Dialect *Dialect
	// Begin opens the transaction of a batch.
	Begin func() (GroupTx, error)
	// Retry reports errors after which a transaction is run again from the
	// start (PostgreSQL's serialization failures); nil: none.
	Retry func(error) bool
	// MaxAttempts bounds those runs; default 20.
	MaxAttempts int
	// Unavailable reports the driver's errors that mean the database is
	// unreachable or full (the backend's test); InTx wraps them in
	// store.ErrUnavailable, and they make Health fail.
	Unavailable func(error) bool
	// BatchHook, when set (tests), sees the size of each committed batch.
	BatchHook func(n int)
}

// Group runs transactions with group commit. Concurrent InTx calls queue
// and are run by one of them, the leader, inside one database transaction,
// each in a savepoint of its own, and committed together (one fsync on
// SQLite; one turn of the write lock and one commit on PostgreSQL). A call
// that fails rolls back to its savepoint and fails alone; the others still
// commit. Nobody is told a transaction committed before the COMMIT that
// made it durable returned.
//
// There is no goroutine of its own: the caller that finds no leader
// becomes it and runs the queue on its own goroutine, so an uncontended
// transaction costs no hand-over between goroutines (each a futex wake-up,
// dear on a virtual machine). After its batch the leader passes the lead
// to the first call still queued, if any, and returns: no caller runs
// batches for others once its own is done.
type Group struct {
	cfg GroupConfig

	mu      sync.Mutex
	queue   []*groupJob
	leading bool // a caller is running batches
	closed  bool
	idle    *sync.Cond // signalled when leading ends (Close waits for it)

	health healthState

	commits, calls atomic.Int64 // transactions committed and the calls in them
}

type groupJob struct {
	ctx      context.Context
	fn       func(store.Tx) error
	result   chan jobResult
	attempts int
}

type jobResult struct {
	err   error
	panic any  // re-raised in the caller's goroutine
	lead  bool // not a result: the caller is to lead the next batch
}

// NewGroup returns a Group over cfg.
func NewGroup(cfg GroupConfig) *Group {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	g := &Group{cfg: cfg}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// InTx queues fn and waits for its outcome, leading batches when no other
// caller does. Once queued, a call is waited for even if ctx ends: it may
// already be part of a batch being committed, and its caller must learn
// whether it committed. fn may run more than once when Retry says so.
func (g *Group) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &groupJob{ctx: ctx, fn: fn, result: make(chan jobResult, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.queue = append(g.queue, j)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()

	r := jobResult{lead: lead}
	if !lead {
		r = <-j.result // the outcome, or the lead handed over
	}
	for r.lead {
		// j is first in the queue, so the batch lead runs includes it and
		// its outcome is waiting when lead returns.
		g.lead()
		r = <-j.result
	}
	if r.panic != nil {
		panic(r.panic)
	}
	// A job's own statements were classified already; what begin, commit
	// and the savepoint commands returned is classified here.
	err := r.err
	if err != nil && g.cfg.Unavailable != nil && g.cfg.Unavailable(err) {
		err = store.Unavailable(err)
	}
	g.health.note(err)
	return err
}

// SetBatchHook sets GroupConfig.BatchHook (tests; before any call).
func (g *Group) SetBatchHook(f func(n int)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg.BatchHook = f
}

// Counts are the transactions the group committed and the calls they
// carried.
func (g *Group) Counts() (commits, calls int64) {
	return g.commits.Load(), g.calls.Load()
}

// Queued is how many calls wait (tests).
func (g *Group) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// lead runs one batch of everything queued (and again what a retry or an
// aborted transaction gives back), then hands the lead to the first call
// that arrived meanwhile, or ends leading.
func (g *Group) lead() {
	g.mu.Lock()
	batch := make([]*groupJob, min(len(g.queue), maxBatch))
	copy(batch, g.queue)
	// Shift the rest down and clear the tail, so that the queue's array
	// does not keep answered calls (and their requests) alive.
	rest := copy(g.queue, g.queue[len(batch):])
	clear(g.queue[rest:])
	g.queue = g.queue[:rest]
	g.mu.Unlock()
	for len(batch) > 0 {
		var retry bool
		batch, retry = g.runBatch(batch)
		if retry {
			// Jittered, so that the other process's writer moves on.
			time.Sleep(time.Duration(1+rand.IntN(8)) * time.Millisecond)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		g.queue[0].result <- jobResult{lead: true}
		return
	}
	g.leading = false
	g.idle.Broadcast()
}

// Close refuses new calls and waits until the running batches end.
func (g *Group) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.leading {
		g.idle.Wait()
	}
}

// runBatch runs the jobs in one transaction and commits it. It returns the
// jobs to run again: all of them when the transaction must be retried
// (retry is then true), or those it did not get to when a savepoint
// command failed.
func (g *Group) runBatch(batch []*groupJob) (again []*groupJob, retry bool) {
	if len(batch) == 1 {
		return g.runSavepoints(batch)
	}
	whole, again, retry := g.runWhole(batch)
	if whole {
		return again, retry
	}
	return g.runSavepoints(again)
}

// runWhole runs the batch as one transaction without a savepoint per job:
// the common case, in which every job succeeds, costs no savepoint
// commands (two statements per job, and on SQLite a copy of every page a
// job first touches). When a job fails, its work cannot be taken back
// alone: the transaction is rolled back and whole is false, with the jobs
// still to be answered, which runSavepoints then runs again each in its
// own savepoint, so that the failing one fails alone (a job's function may
// run twice, as the retries of PostgreSQL already make it). Otherwise it
// is runSavepoints' outcome.
func (g *Group) runWhole(batch []*groupJob) (whole bool, again []*groupJob, retry bool) {
	tx, err := g.cfg.Begin()
	if err != nil {
		for _, j := range batch {
			j.result <- jobResult{err: fmt.Errorf("begin transaction: %w", err)}
		}
		return true, nil, false
	}
	q := New(tx, g.cfg.Dialect, g.cfg.Unavailable)
	jt, _ := tx.(JobTx)
	var ran []*groupJob
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.result <- jobResult{err: err}
			continue
		}
		if jt != nil {
			jt.StartJob(len(batch) - i)
		}
		r := runJob(j.fn, &q)
		if r.err == nil && r.panic == nil {
			ran = append(ran, j)
			continue
		}
		tx.Rollback()
		if r.err != nil && g.retryable(r.err) {
			return true, g.again(append(ran, j), batch[i+1:], r.err), true
		}
		return false, append(append(ran, j), batch[i+1:]...), false
	}
	again, retry, heldBack := g.commit(tx, ran)
	if heldBack {
		// A held-back write failed at the commit: whose it was is not
		// known here, so each job runs again in a savepoint of its own.
		return false, again, false
	}
	return true, again, retry
}

// commit commits the jobs that ran in tx and answers them; it returns
// them for another run when the database asks for one (retry), and
// unanswered when a write held back by one of several jobs failed
// (heldBack), for the caller to run them each in a savepoint.
func (g *Group) commit(tx GroupTx, ran []*groupJob) (again []*groupJob, retry, heldBackFailed bool) {
	if len(ran) == 0 {
		tx.Rollback()
		return nil, false, false
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		if g.retryable(err) {
			again = g.again(ran, nil, err)
			return again, len(again) > 0, false
		}
		if len(ran) > 1 && heldBack(err) {
			return ran, false, true
		}
		for _, j := range ran {
			j.result <- jobResult{err: fmt.Errorf("commit: %w", err)}
		}
		return nil, false, false
	}
	g.commits.Add(1)
	g.calls.Add(int64(len(ran)))
	if g.cfg.BatchHook != nil {
		g.cfg.BatchHook(len(ran))
	}
	for _, j := range ran {
		j.result <- jobResult{}
	}
	return nil, false, false
}

// runSavepoints runs the jobs in one transaction, each in a savepoint of
// its own (none for a single job), and commits it.
func (g *Group) runSavepoints(batch []*groupJob) (again []*groupJob, retry bool) {
	tx, err := g.cfg.Begin()
	if err != nil {
		for _, j := range batch {
			j.result <- jobResult{err: fmt.Errorf("begin transaction: %w", err)}
		}
		return nil, false
	}
	q := New(tx, g.cfg.Dialect, g.cfg.Unavailable)
	jt, _ := tx.(JobTx)
	single := len(batch) == 1
	var ran []*groupJob // ran and kept
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.result <- jobResult{err: err}
			continue
		}
		if !single {
			if err := tx.Exec("SAVEPOINT job"); err != nil {
				return g.abort(tx, ran, batch[i:], err), false
			}
		}
		if jt != nil {
			jt.StartJob(len(batch) - i)
		}
		r := runJob(j.fn, &q)
		if jt != nil && !single {
			// The job's held-back writes go before its savepoint is
			// released, so that their failure is the job's own; a single
			// job's go with the commit, whose failure is its own too.
			if r.err == nil && r.panic == nil {
				if err := jt.Flush(); err != nil {
					r.err = err // classified by InTx
				}
			}
			if r.err != nil || r.panic != nil {
				jt.Discard() // its work goes back to the savepoint
			}
		}
		if r.err == nil && r.panic == nil {
			if !single {
				if err := tx.Exec("RELEASE job"); err != nil {
					return g.abort(tx, append(ran, j), batch[i+1:], err), false
				}
			}
			ran = append(ran, j)
			continue
		}
		if r.err != nil && g.retryable(r.err) {
			// The database gave up on the transaction, not the call on its
			// work: everything in the batch runs again.
			tx.Rollback()
			return g.again(append(ran, j), batch[i+1:], r.err), true
		}
		if single {
			tx.Rollback()
			j.result <- r
			return nil, false
		}
		if err := tx.Exec("ROLLBACK TO job"); err != nil {
			j.result <- r
			return g.abort(tx, ran, batch[i+1:], err), false
		}
		if err := tx.Exec("RELEASE job"); err != nil {
			j.result <- r
			return g.abort(tx, ran, batch[i+1:], err), false
		}
		j.result <- r
	}
	again, retry, _ = g.commit(tx, ran) // no job holds writes back here but a single one
	return again, retry
}

func (g *Group) retryable(err error) bool { return g.cfg.Retry != nil && g.cfg.Retry(err) }

// again returns the jobs of a transaction given up for a retry: those that
// ran (or were running) count an attempt, and fail with cause once they
// have had MaxAttempts; those not yet run simply go again.
func (g *Group) again(ranOrRunning, notRun []*groupJob, cause error) []*groupJob {
	var out []*groupJob
	for _, j := range ranOrRunning {
		j.attempts++
		if j.attempts >= g.cfg.MaxAttempts {
			j.result <- jobResult{err: cause}
			continue
		}
		out = append(out, j)
	}
	return append(out, notRun...)
}

// abort rolls the transaction back after the database refused a savepoint
// command (the transaction itself is then in doubt): the jobs that ran get
// the error, since their work is gone and running them twice could repeat
// their effects in memory; the jobs not yet run go on in a new batch.
func (g *Group) abort(tx GroupTx, ran, notRun []*groupJob, cause error) []*groupJob {
	tx.Rollback()
	for _, j := range ran {
		j.result <- jobResult{err: fmt.Errorf("transaction rolled back: %w", cause)}
	}
	return notRun
}

func runJob(fn func(store.Tx) error, tx store.Tx) (r jobResult) {
	defer func() {
		if p := recover(); p != nil {
			r = jobResult{panic: p}
		}
	}()
	return jobResult{err: fn(tx)}
}
