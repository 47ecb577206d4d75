package store

import (
	"context"
	"strconv"
	"time"
)

// Job is the schedule of one kind of time-driven job (internal/jobs): when
// it is next due, how many rounds in a row have failed and why the last
// one did. It lives in the store so that a restart resumes it and replicas
// sharing the store run each round once: a round claims the job by moving
// NextAt forward (compare-and-set) before it starts.
type Job struct {
	Kind      string
	NextAt    time.Time
	Attempts  int
	LastError string
	UpdatedAt time.Time
}

// OrderNotice records that a renewal notice of an order was handled:
// sent (its messages were written to the outbox in the same transaction)
// or passed over (its day fell while no engine ran and a later notice was
// due too). An order has at most one record per notice, which is what
// keeps a notice from being sent twice.
type OrderNotice struct {
	AccountID  int64
	OrderID    int64
	Notice     string // minus_90, minus_60, minus_30, minus_7, minus_3, plus_7
	Sent       bool
	RecordedAt time.Time
}

// JobReader reads the job schedules and what the jobs look at.
type JobReader interface {
	// Job is the schedule of kind; ErrNotFound when it has none yet.
	Job(ctx context.Context, kind string) (*Job, error)
	// OrdersToExpire lists, across accounts, up to limit orders in status
	// issued whose order_valid_till is at or before at, by id.
	OrdersToExpire(ctx context.Context, at time.Time, limit int) ([]Order, error)
	// RenewalCandidates lists, across accounts and by id after afterID, up
	// to limit orders in status issued or expired whose order_valid_till
	// falls in (after, until], that have no record of notice, whose
	// renewal notifications are not disabled, that are not marked renewed
	// and that no later order (neither rejected nor canceled) names as the
	// order it renews.
	RenewalCandidates(ctx context.Context, notice string, after, until time.Time, afterID int64, limit int) ([]Order, error)
	// AutoReissueCandidates lists, across accounts and by id after afterID,
	// up to limit orders in status issued whose current certificate ends at
	// or before until while the order ends after it (a multi-year plan
	// running on), and that have no record of that certificate's automatic
	// reissue (AutoReissueNotice).
	AutoReissueCandidates(ctx context.Context, until time.Time, afterID int64, limit int) ([]Order, error)
	// AutoRenewCandidates lists, across accounts and by id after afterID, up
	// to limit orders in status issued with auto_renew whose
	// order_valid_till falls in (after, until], that have no record of
	// their automatic renewal (NoticeAutoRenew), are not marked renewed and
	// that no later order (neither rejected nor canceled) renews.
	AutoRenewCandidates(ctx context.Context, after, until time.Time, afterID int64, limit int) ([]Order, error)
	// OrderNotices lists the recorded notices of an order.
	OrderNotices(ctx context.Context, accountID, orderID int64) ([]OrderNotice, error)
}

// JobWriter changes them.
type JobWriter interface {
	// ScheduleJob creates the schedule of j.Kind unless it has one.
	ScheduleJob(ctx context.Context, j *Job) error
	// ClaimJob moves kind's NextAt from prev to next only if it is still
	// prev, so that of several engines exactly one runs the round.
	ClaimJob(ctx context.Context, kind string, prev, next time.Time) (bool, error)
	// FinishJob writes the schedule after a round.
	FinishJob(ctx context.Context, j *Job) error
	// RecordOrderNotice records a notice; ErrConflict when the order's
	// notice is recorded already.
	RecordOrderNotice(ctx context.Context, n *OrderNotice) error
	// ForgetPassedOverNotice removes the record of an order's notice when
	// it was passed over (not sent), so that the job looks at the order
	// again; a sent notice's record stays, and no record is no error.
	ForgetPassedOverNotice(ctx context.Context, accountID, orderID int64, notice string) error
}

// Renewal notices of an order, by the order field that switches each
// (CertCentral's send_minus_* and send_plus_7, on unless set false).
const (
	NoticeMinus90 = "minus_90"
	NoticeMinus60 = "minus_60"
	NoticeMinus30 = "minus_30"
	NoticeMinus7  = "minus_7"
	NoticeMinus3  = "minus_3"
	NoticePlus7   = "plus_7"
)

// NoticeAutoRenew is the order_notices record of an order's automatic
// renewal: one per order, so that it is renewed once.
const NoticeAutoRenew = "auto_renew"

// AutoReissueNotice is the order_notices record of the automatic reissue
// of a multi-year plan's certificate: one per certificate, so that each is
// replaced once.
func AutoReissueNotice(certID int64) string { return "reissue:" + strconv.FormatInt(certID, 10) }

// NoticeFields names the order field of each notice.
var NoticeFields = map[string]string{
	NoticeMinus90: "send_minus_90", NoticeMinus60: "send_minus_60", NoticeMinus30: "send_minus_30",
	NoticeMinus7: "send_minus_7", NoticeMinus3: "send_minus_3", NoticePlus7: "send_plus_7",
}
