package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

func (q *Queries) Job(ctx context.Context, kind string) (*store.Job, error) {
	var j store.Job
	var next, updated string
	err := q.q.QueryRowContext(ctx, `SELECT kind, next_at, attempts, last_error, updated_at FROM jobs WHERE kind = ?`, kind).
		Scan(&j.Kind, &next, &j.Attempts, &j.LastError, &updated)
	if err != nil {
		return nil, notFound(err, "job")
	}
	j.NextAt, j.UpdatedAt = parseTS(next), parseTS(updated)
	return &j, nil
}

func (q *Queries) orderList(ctx context.Context, what, query string, args ...any) ([]store.Order, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []store.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: scan: %w", what, err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// noLiveRenewal: order o has no renewal but rejected or canceled ones
// (arguments: those two statuses). The index on renewal_of_order_id holds
// renewals only (renewal_of_order_id <> 0); the condition says so, for
// the planners to use it (TestRenewalLookupUsesItsIndex).
const noLiveRenewal = `NOT EXISTS (SELECT 1 FROM orders r WHERE r.renewal_of_order_id <> 0 AND r.renewal_of_order_id = o.id
		AND r.account_id = o.account_id AND r.status NOT IN (?, ?))`

func (q *Queries) OrdersToExpire(ctx context.Context, at time.Time, limit int) ([]store.Order, error) {
	return q.orderList(ctx, "list orders to expire", `SELECT `+orderCols+` FROM orders
		WHERE status = ? AND order_valid_till <= ? ORDER BY id LIMIT ?`, store.OrderIssued, ts(at), limit)
}

func (q *Queries) RenewalCandidates(ctx context.Context, notice string, after, until time.Time, afterID int64, limit int) ([]store.Order, error) {
	return q.orderList(ctx, "list renewal candidates", `SELECT `+prefixCols(orderCols, "o.")+` FROM orders o
		WHERE o.status IN (?, ?) AND o.order_valid_till > ? AND o.order_valid_till <= ? AND o.id > ?
		  AND o.disable_renewal_notifications = 0 AND o.is_renewed = 0
		  AND NOT EXISTS (SELECT 1 FROM order_notices n WHERE n.order_id = o.id AND n.notice = ?)
		  AND `+noLiveRenewal+`
		ORDER BY o.id LIMIT ?`,
		store.OrderIssued, store.OrderExpired, ts(after), ts(until), afterID, notice, store.OrderRejected, store.OrderCanceled, limit)
}

func (q *Queries) AutoRenewCandidates(ctx context.Context, after, until time.Time, afterID int64, limit int) ([]store.Order, error) {
	return q.orderList(ctx, "list auto-renew candidates", `SELECT `+prefixCols(orderCols, "o.")+` FROM orders o
		WHERE o.status = ? AND o.auto_renew > 0 AND o.is_renewed = 0
		  AND o.order_valid_till > ? AND o.order_valid_till <= ? AND o.id > ?
		  AND NOT EXISTS (SELECT 1 FROM order_notices n WHERE n.order_id = o.id AND n.notice = ?)
		  AND `+noLiveRenewal+`
		ORDER BY o.id LIMIT ?`,
		store.OrderIssued, ts(after), ts(until), afterID, store.NoticeAutoRenew, store.OrderRejected, store.OrderCanceled, limit)
}

func (q *Queries) AutoReissueCandidates(ctx context.Context, until time.Time, afterID int64, limit int) ([]store.Order, error) {
	return q.orderList(ctx, "list auto-reissue candidates", `SELECT `+prefixCols(orderCols, "o.")+` FROM orders o
		JOIN certificates c ON c.id = o.certificate_id AND c.account_id = o.account_id
		WHERE o.status = ? AND c.not_after IS NOT NULL AND c.not_after <= ? AND o.order_valid_till > c.not_after AND o.id > ?
		  AND NOT EXISTS (SELECT 1 FROM order_notices n WHERE n.order_id = o.id AND n.notice = 'reissue:' || CAST(o.certificate_id AS TEXT))
		ORDER BY o.id LIMIT ?`,
		store.OrderIssued, ts(until), afterID, limit)
}

func (q *Queries) OrderNotices(ctx context.Context, accountID, orderID int64) ([]store.OrderNotice, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT account_id, order_id, notice, sent, recorded_at FROM order_notices
		WHERE account_id = ? AND order_id = ? ORDER BY recorded_at, notice`, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("list order notices: %w", err)
	}
	defer rows.Close()
	out := []store.OrderNotice{}
	for rows.Next() {
		var n store.OrderNotice
		var sent int
		var at string
		if err := rows.Scan(&n.AccountID, &n.OrderID, &n.Notice, &sent, &at); err != nil {
			return nil, fmt.Errorf("scan order notice: %w", err)
		}
		n.Sent, n.RecordedAt = sent != 0, parseTS(at)
		out = append(out, n)
	}
	return out, rows.Err()
}

func (q *Queries) ScheduleJob(ctx context.Context, j *store.Job) error {
	_, err := q.claim(ctx, "schedule job", `INSERT INTO jobs(kind, next_at, attempts, last_error, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT (kind) DO NOTHING`, j.Kind, ts(j.NextAt), j.Attempts, j.LastError, ts(j.UpdatedAt))
	return err
}

func (q *Queries) ClaimJob(ctx context.Context, kind string, prev, next time.Time) (bool, error) {
	return q.claim(ctx, "claim job", `UPDATE jobs SET next_at = ? WHERE kind = ? AND next_at = ?`, ts(next), kind, ts(prev))
}

func (q *Queries) FinishJob(ctx context.Context, j *store.Job) error {
	return q.exec(ctx, "finish job", `UPDATE jobs SET next_at = ?, attempts = ?, last_error = ?, updated_at = ? WHERE kind = ?`,
		ts(j.NextAt), j.Attempts, j.LastError, ts(j.UpdatedAt), j.Kind)
}

func (q *Queries) RecordOrderNotice(ctx context.Context, n *store.OrderNotice) error {
	return q.exec(ctx, "record order notice", `INSERT INTO order_notices(account_id, order_id, notice, sent, recorded_at) VALUES (?,?,?,?,?)`,
		n.AccountID, n.OrderID, n.Notice, b2i(n.Sent), ts(n.RecordedAt))
}

func (q *Queries) ForgetPassedOverNotice(ctx context.Context, accountID, orderID int64, notice string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM order_notices WHERE account_id = ? AND order_id = ? AND notice = ? AND sent = 0`,
		accountID, orderID, notice)
	if err != nil {
		return writeErr(err, "forget passed-over notice")
	}
	return nil
}
