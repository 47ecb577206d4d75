package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Census is a handful of aggregate reads, each a single scan. The orders
// and certificates counts read whole tables (no index serves a GROUP BY of
// every order or a range of notAfter across accounts); internal/metrics
// caches the census so that scrapes cost one census every few seconds at
// most.
func (q *Queries) Census(ctx context.Context, at time.Time) (*store.Census, error) {
	c := &store.Census{Expiring: map[time.Duration]int{}}
	rows, err := q.q.QueryContext(ctx, `SELECT product_name_id, status, COUNT(*) FROM orders GROUP BY product_name_id, status
		ORDER BY product_name_id, status`)
	if err != nil {
		return nil, fmt.Errorf("census of orders: %w", err)
	}
	for rows.Next() {
		var oc store.OrderCount
		if err := rows.Scan(&oc.Product, &oc.Status, &oc.N); err != nil {
			rows.Close()
			return nil, fmt.Errorf("census of orders: %w", err)
		}
		c.Orders = append(c.Orders, oc)
	}
	if err := closeRows(rows, "census of orders"); err != nil {
		return nil, err
	}

	// One pass over the issued certificates counts every window.
	windows := store.CensusWindows
	query := `SELECT `
	args := []any{}
	for i, w := range windows {
		if i > 0 {
			query += `, `
		}
		query += `COALESCE(SUM(CASE WHEN not_after <= ? THEN 1 ELSE 0 END), 0)`
		args = append(args, ts(at.Add(w)))
	}
	query += ` FROM certificates WHERE status = ? AND not_after > ? AND not_after <= ?`
	args = append(args, store.CertIssued, ts(at), ts(at.Add(windows[len(windows)-1])))
	counts := make([]int, len(windows))
	dest := make([]any, len(windows))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.q.QueryRowContext(ctx, query, args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("census of expiring certificates: %w", err)
	}
	for i, w := range windows {
		c.Expiring[w] = counts[i]
	}

	var oldest sql.NullString
	err = q.q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN sent_at IS NULL AND given_up_at IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN given_up_at IS NOT NULL THEN 1 ELSE 0 END), 0),
			MIN(CASE WHEN sent_at IS NULL AND given_up_at IS NULL THEN created_at END)
		FROM mail_outbox WHERE sent_at IS NULL`).Scan(&c.MailWaiting, &c.MailGivenUp, &oldest)
	if err != nil {
		return nil, fmt.Errorf("census of the outbox: %w", err)
	}
	if oldest.Valid {
		c.OldestMail = parseTS(oldest.String)
	}

	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM dcv_checks WHERE next_at <= ?`, ts(at)).Scan(&c.DCVDue); err != nil {
		return nil, fmt.Errorf("census of DCV checks: %w", err)
	}

	rows, err = q.q.QueryContext(ctx, `SELECT kind, next_at, attempts, last_error, updated_at FROM jobs ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("census of jobs: %w", err)
	}
	for rows.Next() {
		var j store.Job
		var next, updated string
		if err := rows.Scan(&j.Kind, &next, &j.Attempts, &j.LastError, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("census of jobs: %w", err)
		}
		j.NextAt, j.UpdatedAt = parseTS(next), parseTS(updated)
		c.Jobs = append(c.Jobs, j)
	}
	if err := closeRows(rows, "census of jobs"); err != nil {
		return nil, err
	}

	rows, err = q.q.QueryContext(ctx, `SELECT issuer_id, number, this_update, next_update, entries FROM crls ORDER BY issuer_id`)
	if err != nil {
		return nil, fmt.Errorf("census of CRLs: %w", err)
	}
	for rows.Next() {
		var crl store.StoredCRL
		var thisUpdate, nextUpdate string
		if err := rows.Scan(&crl.IssuerID, &crl.Number, &thisUpdate, &nextUpdate, &crl.Entries); err != nil {
			rows.Close()
			return nil, fmt.Errorf("census of CRLs: %w", err)
		}
		crl.ThisUpdate, crl.NextUpdate = parseTS(thisUpdate), parseTS(nextUpdate)
		c.CRLs = append(c.CRLs, crl)
	}
	if err := closeRows(rows, "census of CRLs"); err != nil {
		return nil, err
	}
	return c, nil
}

func closeRows(rows *rows, what string) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
