package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

const linkTokenCols = `id, account_id, kind, order_id, subject, token_hash, created_at, expires_at, used_at`

func scanLinkToken(sc interface{ Scan(...any) error }) (*store.LinkToken, error) {
	var t store.LinkToken
	var created, expires string
	var used sql.NullString
	if err := sc.Scan(&t.ID, &t.AccountID, &t.Kind, &t.OrderID, &t.Subject, &t.TokenHash, &created, &expires, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = parseTS(created), parseTS(expires), parseTSPtr(used)
	return &t, nil
}

func (q *Queries) LinkTokenByHash(ctx context.Context, kind string, hash []byte) (*store.LinkToken, error) {
	t, err := scanLinkToken(q.q.QueryRowContext(ctx, `SELECT `+linkTokenCols+` FROM link_tokens WHERE token_hash = ? AND kind = ?`, hash, kind))
	if err != nil {
		return nil, notFound(err, "link token")
	}
	return t, nil
}

func (q *Queries) LinkTokens(ctx context.Context, accountID, orderID int64, kind string) ([]store.LinkToken, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+linkTokenCols+` FROM link_tokens
		WHERE account_id = ? AND order_id = ? AND kind = ? ORDER BY id`, accountID, orderID, kind)
	if err != nil {
		return nil, fmt.Errorf("list link tokens: %w", err)
	}
	defer rows.Close()
	out := []store.LinkToken{}
	for rows.Next() {
		t, err := scanLinkToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan link token: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

func (q *Queries) CreateLinkToken(ctx context.Context, t *store.LinkToken) error {
	id, err := q.insert(ctx, "link token", `INSERT INTO link_tokens(account_id, kind, order_id, subject, token_hash, created_at, expires_at, used_at)
		VALUES (?,?,?,?,?,?,?,?)`,
		t.AccountID, t.Kind, t.OrderID, t.Subject, t.TokenHash, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt))
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

func (q *Queries) UseLinkToken(ctx context.Context, accountID, id int64, at time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE link_tokens SET used_at = ?
		WHERE account_id = ? AND id = ? AND used_at IS NULL AND expires_at > ?`, ts(at), accountID, id, ts(at))
	if err != nil {
		return false, writeErr(err, "use link token")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, writeErr(err, "use link token")
	}
	return n == 1, nil
}

func (q *Queries) ExpireLinkTokens(ctx context.Context, accountID, orderID int64, kind, subject string, at time.Time) error {
	return q.exec(ctx, "expire link tokens", `UPDATE link_tokens SET expires_at = ?
		WHERE account_id = ? AND order_id = ? AND kind = ? AND subject = ? AND used_at IS NULL AND expires_at > ?`,
		ts(at), accountID, orderID, kind, subject, ts(at))
}

func (q *Queries) DeleteLinkToken(ctx context.Context, accountID, id int64) error {
	return q.exec(ctx, "delete link token", `DELETE FROM link_tokens WHERE account_id = ? AND id = ?`, accountID, id)
}

func (q *Queries) MailboxValidation(ctx context.Context, accountID int64, email string) (*store.MailboxValidation, error) {
	var v store.MailboxValidation
	var at string
	err := q.q.QueryRowContext(ctx, `SELECT account_id, email, validated_at, order_id FROM mailbox_validations
		WHERE account_id = ? AND email = ?`, accountID, email).Scan(&v.AccountID, &v.Email, &at, &v.OrderID)
	if err != nil {
		return nil, notFound(err, "mailbox validation")
	}
	v.ValidatedAt = parseTS(at)
	return &v, nil
}

func (q *Queries) PutMailboxValidation(ctx context.Context, v *store.MailboxValidation) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO mailbox_validations(account_id, email, validated_at, order_id) VALUES (?,?,?,?)
		ON CONFLICT(account_id, email) DO UPDATE SET validated_at = excluded.validated_at, order_id = excluded.order_id`,
		v.AccountID, v.Email, ts(v.ValidatedAt), v.OrderID)
	return writeErr(err, "put mailbox validation")
}
