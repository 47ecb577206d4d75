package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/certorder/certorder/internal/store"
)

const revocationCols = `certificate_id, account_id, order_id, serial_number, issuer_id, reason, revoked_at, user_id, request_id, comments`

func scanRevocation(row interface{ Scan(...any) error }) (*store.Revocation, error) {
	var r store.Revocation
	var at string
	if err := row.Scan(&r.CertificateID, &r.AccountID, &r.OrderID, &r.SerialNumber, &r.IssuerID, &r.Reason, &at,
		&r.UserID, &r.RequestID, &r.Comments); err != nil {
		return nil, err
	}
	r.RevokedAt = parseTS(at)
	return &r, nil
}

func (q *Queries) Revocation(ctx context.Context, accountID, certificateID int64) (*store.Revocation, error) {
	r, err := scanRevocation(q.q.QueryRowContext(ctx, `SELECT `+revocationCols+` FROM revocations WHERE account_id = ? AND certificate_id = ?`,
		accountID, certificateID))
	if err != nil {
		return nil, notFound(err, "revocation")
	}
	return r, nil
}

func (q *Queries) RevokedByIssuer(ctx context.Context, issuerID string) ([]store.Revocation, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+revocationCols+` FROM revocations WHERE issuer_id = ? ORDER BY revoked_at, certificate_id`, issuerID)
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	defer rows.Close()
	out := []store.Revocation{}
	for rows.Next() {
		r, err := scanRevocation(rows)
		if err != nil {
			return nil, fmt.Errorf("scan revocation: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func (q *Queries) SerialStatus(ctx context.Context, serialHex string) (*store.SerialStatus, error) {
	st := &store.SerialStatus{SerialNumber: serialHex}
	var notAfter sql.NullString
	err := q.q.QueryRowContext(ctx, `SELECT issuer_id, not_after FROM certificates WHERE serial_number = ? AND der IS NOT NULL`, serialHex).
		Scan(&st.IssuerID, &notAfter)
	if err != nil {
		return nil, notFound(err, "certificate")
	}
	if notAfter.Valid {
		st.NotAfter = parseTS(notAfter.String)
	}
	r, err := scanRevocation(q.q.QueryRowContext(ctx, `SELECT `+revocationCols+` FROM revocations WHERE serial_number = ?`, serialHex))
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, fmt.Errorf("read revocation of %s: %w", serialHex, err)
	default:
		st.Revocation = r
	}
	return st, nil
}

func (q *Queries) CreateRevocation(ctx context.Context, r *store.Revocation) error {
	return q.exec(ctx, "insert revocation", `INSERT INTO revocations(`+revocationCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		r.CertificateID, r.AccountID, r.OrderID, r.SerialNumber, r.IssuerID, r.Reason, ts(r.RevokedAt), r.UserID, r.RequestID, r.Comments)
}

func (q *Queries) NextCRLNumber(ctx context.Context, issuerID string) (int64, error) {
	var n int64
	err := q.q.QueryRowContext(ctx, `INSERT INTO crl_numbers(issuer_id, number) VALUES (?, 1)
		ON CONFLICT (issuer_id) DO UPDATE SET number = crl_numbers.number + 1 RETURNING number`, issuerID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next CRL number of %s: %w", issuerID, err)
	}
	return n, nil
}

func (q *Queries) RevocationCounts(ctx context.Context) (map[string]int64, error) {
	return q.perIssuer(ctx, `SELECT issuer_id, COUNT(*) FROM revocations GROUP BY issuer_id`, "revocation counts")
}

// perIssuer reads a query of (issuer_id, number) rows into a map.
func (q *Queries) perIssuer(ctx context.Context, query, what string) (map[string]int64, error) {
	rows, err := q.q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
