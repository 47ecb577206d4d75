package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

const mailCols = `id, account_id, kind, order_id, domain_id, recipient, payload, message_id, created_at, next_at, attempts, last_error, sent_at, given_up_at, subject, body`

func scanMail(row interface{ Scan(...any) error }) (*store.OutboxMail, error) {
	var m store.OutboxMail
	var created, next string
	var sent, givenUp sql.NullString
	if err := row.Scan(&m.ID, &m.AccountID, &m.Kind, &m.OrderID, &m.DomainID, &m.Recipient, &m.Payload, &m.MessageID,
		&created, &next, &m.Attempts, &m.LastError, &sent, &givenUp, &m.Subject, &m.Body); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAt = parseTS(created), parseTS(next)
	m.SentAt, m.GivenUpAt = optTS(sent), optTS(givenUp)
	return &m, nil
}

func (q *Queries) mailList(ctx context.Context, what, query string, args ...any) ([]store.OutboxMail, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []store.OutboxMail{}
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("scan mail: %w", err)
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// optTS is a nullable time column.
func optTS(v sql.NullString) *time.Time {
	if !v.Valid || v.String == "" {
		return nil
	}
	t := parseTS(v.String)
	return &t
}

func (q *Queries) DueMail(ctx context.Context, at, realAt time.Time, limit int) ([]store.OutboxMail, error) {
	// The first bound lets the due index narrow the scan; the second is
	// the row's own clock.
	return q.mailList(ctx, "list due mail", `SELECT `+mailCols+` FROM mail_outbox WHERE sent_at IS NULL AND given_up_at IS NULL
		AND next_at <= ? AND next_at <= CASE WHEN attempts = 0 THEN ? ELSE ? END
		ORDER BY next_at, id LIMIT ?`, ts(latest(at, realAt)), ts(at), ts(realAt), limit)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (q *Queries) MailByOrder(ctx context.Context, accountID, orderID int64) ([]store.OutboxMail, error) {
	return q.mailList(ctx, "list mail of order", `SELECT `+mailCols+` FROM mail_outbox WHERE account_id = ? AND order_id = ?
		ORDER BY id`, accountID, orderID)
}

func (q *Queries) ListMail(ctx context.Context, f store.MailFilter) ([]store.OutboxMail, int, error) {
	where := ` FROM mail_outbox WHERE account_id = ?`
	args := []any{f.AccountID}
	if f.OrderID != 0 {
		where += ` AND order_id = ?`
		args = append(args, f.OrderID)
	}
	if f.Recipient != "" {
		where += ` AND LOWER(recipient) = LOWER(?)`
		args = append(args, f.Recipient)
	}
	if f.Kind != "" {
		where += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	var total int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count mail: %w", err)
	}
	list, err := q.mailList(ctx, "list mail", `SELECT `+mailCols+where+` ORDER BY id DESC LIMIT ? OFFSET ?`,
		append(args, limit(f.Page.Limit), f.Page.Offset)...)
	return list, total, err
}

func (q *Queries) CountMail(ctx context.Context, c store.MailCount) (int, error) {
	query := `SELECT COUNT(*) FROM mail_outbox WHERE account_id = ? AND created_at >= ?`
	args := []any{c.AccountID, ts(c.Since)}
	if c.Kind != "" {
		query += ` AND kind = ?`
		args = append(args, c.Kind)
	}
	if c.OrderID != 0 {
		query += ` AND order_id = ?`
		args = append(args, c.OrderID)
	}
	if c.DomainID != 0 {
		query += ` AND domain_id = ?`
		args = append(args, c.DomainID)
	}
	var n int
	if err := q.q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count mail: %w", err)
	}
	return n, nil
}

func (q *Queries) CreateMail(ctx context.Context, m *store.OutboxMail) error {
	id, err := q.insert(ctx, "mail", `INSERT INTO mail_outbox(account_id, kind, order_id, domain_id, recipient, payload, message_id,
		created_at, next_at, attempts, last_error, sent_at, given_up_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.AccountID, m.Kind, m.OrderID, m.DomainID, m.Recipient, m.Payload, m.MessageID, ts(m.CreatedAt), ts(m.NextAt),
		m.Attempts, m.LastError, tsPtr(m.SentAt), tsPtr(m.GivenUpAt))
	if err != nil {
		return err
	}
	m.ID = id
	return nil
}

func (q *Queries) ClaimMail(ctx context.Context, id int64, prev, next time.Time) (bool, error) {
	return q.claim(ctx, "claim mail", `UPDATE mail_outbox SET next_at = ? WHERE id = ? AND next_at = ? AND sent_at IS NULL AND given_up_at IS NULL`,
		ts(next), id, ts(prev))
}

func (q *Queries) MailSent(ctx context.Context, id int64, at time.Time) error {
	return q.exec(ctx, "record mail sent", `UPDATE mail_outbox SET sent_at = ? WHERE id = ?`, ts(at), id)
}

func (q *Queries) MailKept(ctx context.Context, id int64, at time.Time, subject, body string) error {
	return q.exec(ctx, "record mail kept", `UPDATE mail_outbox SET sent_at = ?, subject = ?, body = ? WHERE id = ?`, ts(at), subject, body, id)
}

func (q *Queries) MailFailed(ctx context.Context, id int64, attempts int, lastError string, next time.Time) error {
	return q.exec(ctx, "record mail failure", `UPDATE mail_outbox SET attempts = ?, last_error = ?, next_at = ? WHERE id = ? AND sent_at IS NULL`,
		attempts, lastError, ts(next), id)
}

func (q *Queries) MailGivenUp(ctx context.Context, id int64, attempts int, lastError string, at time.Time) error {
	return q.exec(ctx, "record mail given up", `UPDATE mail_outbox SET attempts = ?, last_error = ?, given_up_at = ? WHERE id = ? AND sent_at IS NULL`,
		attempts, lastError, ts(at), id)
}
