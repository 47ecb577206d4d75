package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// AcquireLease is one statement: insert the lease, or take over the row
// only when it is ours or has expired. A row the condition keeps is not
// written, and the statement then affects no row (both SQLite and
// PostgreSQL report upserts so).
func (q *Queries) AcquireLease(ctx context.Context, name, holder string, now, expiresAt time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `INSERT INTO leases(name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`, name, holder, ts(expiresAt), ts(now))
	if err != nil {
		return false, writeErr(err, "acquire lease "+name)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return n == 1, nil
}

func (q *Queries) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return writeErr(err, "release lease "+name)
}

func (q *Queries) SaveCRL(ctx context.Context, c *store.StoredCRL) (bool, error) {
	res, err := q.q.ExecContext(ctx, `INSERT INTO crls(issuer_id, number, this_update, next_update, entries, der) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (issuer_id) DO UPDATE SET number = excluded.number, this_update = excluded.this_update,
			next_update = excluded.next_update, entries = excluded.entries, der = excluded.der
		WHERE crls.number < excluded.number`,
		c.IssuerID, c.Number, ts(c.ThisUpdate), ts(c.NextUpdate), c.Entries, c.DER)
	if err != nil {
		return false, writeErr(err, "save CRL of "+c.IssuerID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save CRL of %s: %w", c.IssuerID, err)
	}
	return n == 1, nil
}

func (q *Queries) LatestCRL(ctx context.Context, issuerID string) (*store.StoredCRL, error) {
	c := &store.StoredCRL{IssuerID: issuerID}
	var thisUpdate, nextUpdate string
	err := q.q.QueryRowContext(ctx, `SELECT number, this_update, next_update, entries, der FROM crls WHERE issuer_id = ?`, issuerID).
		Scan(&c.Number, &thisUpdate, &nextUpdate, &c.Entries, &c.DER)
	if err != nil {
		return nil, notFound(err, "CRL of "+issuerID)
	}
	c.ThisUpdate, c.NextUpdate = parseTS(thisUpdate), parseTS(nextUpdate)
	return c, nil
}

func (q *Queries) CRLNumbers(ctx context.Context) (map[string]int64, error) {
	return q.perIssuer(ctx, `SELECT issuer_id, number FROM crls`, "CRL numbers")
}
