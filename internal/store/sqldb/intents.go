package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

const intentCols = `serial_number, issuer_id, account_id, order_id, created_at`

func scanIntent(row interface{ Scan(...any) error }) (*store.IssuanceIntent, error) {
	var in store.IssuanceIntent
	var at string
	if err := row.Scan(&in.SerialNumber, &in.IssuerID, &in.AccountID, &in.OrderID, &at); err != nil {
		return nil, err
	}
	in.CreatedAt = parseTS(at)
	return &in, nil
}

// CreateIssuanceIntent and DeleteIssuanceIntent are held back where the
// transaction can: a pool's refill writes a batch of intents, each of
// which would otherwise cost a round trip under the write lock.
func (q *Queries) CreateIssuanceIntent(ctx context.Context, in *store.IssuanceIntent) error {
	return q.execLater(ctx, "record issuance intent", `INSERT INTO issuance_intents(`+intentCols+`) VALUES (?,?,?,?,?)`,
		in.SerialNumber, in.IssuerID, in.AccountID, in.OrderID, ts(in.CreatedAt))
}

func (q *Queries) DeleteIssuanceIntent(ctx context.Context, serialHex string) error {
	return q.execLater(ctx, "delete issuance intent", `DELETE FROM issuance_intents WHERE serial_number = ?`, serialHex)
}

// notReserved keeps the intents whose certificate was never recorded.
const notReserved = ` AND NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial_number = issuance_intents.serial_number)`

func (q *Queries) DeleteRecordedIntents(ctx context.Context, issuerID string) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM issuance_intents WHERE issuer_id = ?
		AND EXISTS (SELECT 1 FROM serials s WHERE s.serial_number = issuance_intents.serial_number)`, issuerID)
	if err != nil {
		return 0, writeErr(err, "delete recorded issuance intents")
	}
	n, err := res.RowsAffected()
	return n, err
}

func (q *Queries) ClaimCertificateSigning(ctx context.Context, accountID, certID int64, token string, now, until time.Time) (bool, error) {
	return q.claim(ctx, "claim certificate for signing", `UPDATE certificates SET signing_until = ?, signing_claim = ?
		WHERE account_id = ? AND id = ? AND status = ? AND (signing_until IS NULL OR signing_until <= ?)`,
		ts(until), token, accountID, certID, store.CertPending, ts(now))
}

func (q *Queries) HoldsCertificateSigning(ctx context.Context, accountID, certID int64, token string) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates WHERE account_id = ? AND id = ? AND signing_claim = ?`,
		accountID, certID, token).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read certificate signing claim: %w", err)
	}
	return n == 1, nil
}

func (q *Queries) ReleaseCertificateSigning(ctx context.Context, accountID, certID int64, token string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE certificates SET signing_until = NULL, signing_claim = NULL
		WHERE account_id = ? AND id = ? AND signing_claim = ?`, accountID, certID, token)
	return writeErr(err, "release certificate signing claim")
}

func (q *Queries) AbandonedIssuances(ctx context.Context, issuerID string, before time.Time) ([]store.IssuanceIntent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+intentCols+` FROM issuance_intents WHERE issuer_id = ? AND created_at < ?`+notReserved+`
		ORDER BY created_at, serial_number`, issuerID, ts(before))
	if err != nil {
		return nil, fmt.Errorf("list abandoned issuances: %w", err)
	}
	defer rows.Close()
	out := []store.IssuanceIntent{}
	for rows.Next() {
		in, err := scanIntent(rows)
		if err != nil {
			return nil, fmt.Errorf("scan issuance intent: %w", err)
		}
		out = append(out, *in)
	}
	return out, rows.Err()
}

func (q *Queries) AbandonedIssuance(ctx context.Context, serialHex string, before time.Time) (*store.IssuanceIntent, error) {
	in, err := scanIntent(q.q.QueryRowContext(ctx, `SELECT `+intentCols+` FROM issuance_intents
		WHERE serial_number = ? AND created_at < ?`+notReserved, serialHex, ts(before)))
	if err != nil {
		return nil, notFound(err, "issuance intent")
	}
	return in, nil
}
