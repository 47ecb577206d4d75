package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

const dcvCheckCols = `account_id, kind, object_id, next_at, attempts, last_error, emails_sent_at, updated_at`

func scanDCVCheck(row interface{ Scan(...any) error }) (*store.DCVCheck, error) {
	var c store.DCVCheck
	var next, sent, upd string
	if err := row.Scan(&c.AccountID, &c.Kind, &c.ObjectID, &next, &c.Attempts, &c.LastError, &sent, &upd); err != nil {
		return nil, err
	}
	c.NextAt, c.EmailsSentAt, c.UpdatedAt = parseTS(next), parseTS(sent), parseTS(upd)
	return &c, nil
}

func (q *Queries) DueDCVChecks(ctx context.Context, at time.Time, limit int) ([]store.DCVCheck, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+dcvCheckCols+` FROM dcv_checks WHERE next_at <= ? ORDER BY next_at, kind, object_id LIMIT ?`,
		ts(at), limit)
	if err != nil {
		return nil, fmt.Errorf("list due dcv checks: %w", err)
	}
	defer rows.Close()
	out := []store.DCVCheck{}
	for rows.Next() {
		c, err := scanDCVCheck(rows)
		if err != nil {
			return nil, fmt.Errorf("scan dcv check: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (q *Queries) DCVCheck(ctx context.Context, accountID int64, kind string, objectID int64) (*store.DCVCheck, error) {
	c, err := scanDCVCheck(q.q.QueryRowContext(ctx, `SELECT `+dcvCheckCols+` FROM dcv_checks WHERE account_id = ? AND kind = ? AND object_id = ?`,
		accountID, kind, objectID))
	if err != nil {
		return nil, notFound(err, "dcv check")
	}
	return c, nil
}

func (q *Queries) PutDCVCheck(ctx context.Context, c *store.DCVCheck) error {
	return q.exec(ctx, "put dcv check", `INSERT INTO dcv_checks(`+dcvCheckCols+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(kind, object_id) DO UPDATE SET next_at = excluded.next_at, attempts = excluded.attempts,
		last_error = excluded.last_error, emails_sent_at = excluded.emails_sent_at, updated_at = excluded.updated_at`,
		c.AccountID, c.Kind, c.ObjectID, ts(c.NextAt), c.Attempts, c.LastError, tsOrEmpty(c.EmailsSentAt), ts(c.UpdatedAt))
}

func (q *Queries) ClaimDCVCheck(ctx context.Context, kind string, objectID int64, prev, next time.Time) (bool, error) {
	return q.claim(ctx, "claim dcv check", `UPDATE dcv_checks SET next_at = ? WHERE kind = ? AND object_id = ? AND next_at = ?`,
		ts(next), kind, objectID, ts(prev))
}

func (q *Queries) DeleteDCVCheck(ctx context.Context, kind string, objectID int64) error {
	// Gone already (another worker dropped it) is no error.
	_, err := q.q.ExecContext(ctx, `DELETE FROM dcv_checks WHERE kind = ? AND object_id = ?`, kind, objectID)
	return writeErr(err, "delete dcv check")
}

const dcvTokenCols = `id, account_id, order_id, domain_id, target, email, token_hash, created_at, expires_at, used_at`

func (q *Queries) DCVEmailTokenByHash(ctx context.Context, hash []byte) (*store.DCVEmailToken, error) {
	var t store.DCVEmailToken
	var created, expires string
	var used sql.NullString
	err := q.q.QueryRowContext(ctx, `SELECT `+dcvTokenCols+` FROM dcv_email_tokens WHERE token_hash = ?`, hash).
		Scan(&t.ID, &t.AccountID, &t.OrderID, &t.DomainID, &t.Target, &t.Email, &t.TokenHash, &created, &expires, &used)
	if err != nil {
		return nil, notFound(err, "dcv email token")
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = parseTS(created), parseTS(expires), parseTSPtr(used)
	return &t, nil
}

func (q *Queries) CreateDCVEmailToken(ctx context.Context, t *store.DCVEmailToken) error {
	id, err := q.insert(ctx, "dcv email token", `INSERT INTO dcv_email_tokens(account_id, order_id, domain_id, target, email, token_hash, created_at, expires_at, used_at)
		VALUES (?,?,?,?,?,?,?,?,?)`,
		t.AccountID, t.OrderID, t.DomainID, t.Target, t.Email, t.TokenHash, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt))
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

func (q *Queries) DeleteDCVEmailToken(ctx context.Context, accountID, id int64) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM dcv_email_tokens WHERE account_id = ? AND id = ?`, accountID, id)
	return writeErr(err, "delete dcv email token")
}

func (q *Queries) UseDCVEmailTokens(ctx context.Context, accountID, orderID int64, target string, at time.Time) error {
	return q.exec(ctx, "use dcv email tokens", `UPDATE dcv_email_tokens SET used_at = ?
		WHERE account_id = ? AND order_id = ? AND target = ? AND used_at IS NULL`, ts(at), accountID, orderID, target)
}

func (q *Queries) UnscheduledDCV(ctx context.Context, at time.Time) ([]store.DCVCheck, error) {
	rows, err := q.q.QueryContext(ctx, `
		SELECT 'order', o.id, o.account_id FROM orders o
		WHERE o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM dcv_checks c WHERE c.kind = 'order' AND c.object_id = o.id)
		UNION ALL
		SELECT 'domain', d.id, d.account_id FROM domains d
		WHERE d.dcv_status = 'pending' AND d.last_submitted_at <> '' AND d.is_active = 1
		AND NOT EXISTS (SELECT 1 FROM dcv_checks c WHERE c.kind = 'domain' AND c.object_id = d.id)`)
	if err != nil {
		return nil, fmt.Errorf("list unscheduled validations: %w", err)
	}
	defer rows.Close()
	out := []store.DCVCheck{}
	for rows.Next() {
		c := store.DCVCheck{NextAt: at, UpdatedAt: at}
		if err := rows.Scan(&c.Kind, &c.ObjectID, &c.AccountID); err != nil {
			return nil, fmt.Errorf("scan unscheduled validation: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (q *Queries) ScheduleDCVCheck(ctx context.Context, c *store.DCVCheck) error {
	// An existing check is no error: the insert then touches no row, which
	// q.exec would report as not found.
	_, err := q.q.ExecContext(ctx, `INSERT INTO dcv_checks(`+dcvCheckCols+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(kind, object_id) DO NOTHING`,
		c.AccountID, c.Kind, c.ObjectID, ts(c.NextAt), c.Attempts, c.LastError, tsOrEmpty(c.EmailsSentAt), ts(c.UpdatedAt))
	return writeErr(err, "schedule dcv check")
}
