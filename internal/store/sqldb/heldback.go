package sqldb

import (
	"context"
	"errors"
	"fmt"
)

// Writes held back. On PostgreSQL every statement of a transaction costs a
// round trip, taken under the write lock every writer waits for; a write
// whose outcome its caller does not read (no id, no count, no error it
// tells apart from others) can instead travel with the next statement that
// needs an answer, or with the COMMIT. A backend whose transactions can do
// this offers LaterExecer; one that can take ids ahead of the insert
// offers IDTaker, so that an insert whose id the rest of the transaction
// needs may be held back too. SQLite's transactions offer neither: a
// statement there is a function call.

// LaterExecer is a transaction that may hold a write back. The statement
// runs after every statement already sent and before any sent later, as if
// run at once; only its error comes late: from the next statement sent,
// from the Group's flush at the end of a job run alone in a savepoint, or
// from the commit, as a *HeldBackError.
type LaterExecer interface {
	// ExecLater holds the statement back; what names it in its error
	// (NewHeldBackError).
	ExecLater(what, query string, args ...any)
}

// IDTaker gives the transaction ids of a table's id sequence taken ahead of
// its inserts. An id it gave and no insert used is skipped, as the id of a
// rolled-back insert is.
type IDTaker interface {
	TakeID(table string) (int64, error)
}

// JobTx is what a batch's transaction tells apart between the jobs it
// carries (the Group's calls).
type JobTx interface {
	// StartJob says a job starts, left being the jobs of the batch not yet
	// run, this one included: how many ids to take ahead at most.
	StartJob(left int)
	// Flush sends what is held back and returns its first failure, and
	// that failure again until the transaction ends or Discard.
	Flush() error
	// Discard drops what is held back and forgets a held-back write's
	// failure: the job failed, and its work is rolled back to its
	// savepoint next, which ends the failure's hold on the transaction.
	Discard()
}

// HeldBackError is the failure of a held-back write, returned by whatever
// statement or commit carried it. Its statement may belong to another job
// of the batch than the one that sees it: the Group therefore runs the
// batch again, each job in a savepoint, where a job's held-back writes are
// flushed before the next job starts.
type HeldBackError struct{ Err error }

// NewHeldBackError is the error of the held-back write what: a unique
// violation is a store.ErrConflict, as it is when the write is sent at once.
func NewHeldBackError(what string, err error) *HeldBackError {
	return &HeldBackError{Err: writeErr(err, what)}
}

func (e *HeldBackError) Error() string {
	return fmt.Sprintf("a write held back for the next round trip: %v", e.Err)
}
func (e *HeldBackError) Unwrap() error { return e.Err }

// heldBack reports whether err is, or carries, a held-back write's failure.
func heldBack(err error) bool {
	var hb *HeldBackError
	return errors.As(err, &hb)
}

// numberedLater renumbers the placeholders of the statements it holds back.
type numberedLater struct{ l LaterExecer }

func (n numberedLater) ExecLater(what, query string, args ...any) {
	n.l.ExecLater(what, renumber(query), args...)
}

// inner is the transaction under numbering, and whether it was numbered.
func (c checked) inner() (q querier, numbered bool) {
	if n, ok := c.q.(numbering); ok {
		return n.q, true
	}
	return c.q, false
}

// laterExecer is the transaction's LaterExecer, seen through numbering;
// nil when it has none.
func (c checked) laterExecer() LaterExecer {
	q, numbered := c.inner()
	l, ok := q.(LaterExecer)
	switch {
	case !ok:
		return nil
	case numbered:
		return numberedLater{l}
	}
	return l
}

// idTaker is the transaction's IDTaker; nil when it has none.
func (c checked) idTaker() IDTaker {
	q, _ := c.inner()
	t, _ := q.(IDTaker)
	return t
}

// takeID is the next id of table taken ahead, with its error classified.
func (c checked) takeID(t IDTaker, table string) (int64, error) {
	id, err := t.TakeID(table)
	if err != nil {
		return 0, fmt.Errorf("take an id of %s: %w", table, c.classify(err))
	}
	return id, nil
}

// execLater holds a write back when the transaction can, and runs it now
// otherwise.
func (q *Queries) execLater(ctx context.Context, what, query string, args ...any) error {
	if l := q.q.laterExecer(); l != nil {
		l.ExecLater(what, query, args...)
		return nil
	}
	_, err := q.q.ExecContext(ctx, query, args...)
	return writeErr(err, what)
}
