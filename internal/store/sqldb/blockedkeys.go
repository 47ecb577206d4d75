package sqldb

import (
	"context"

	"github.com/certorder/certorder/internal/store"
)

func (q *Queries) BlockedKey(ctx context.Context, spkiSHA256 []byte) (*store.BlockedKey, error) {
	k := store.BlockedKey{}
	var at string
	err := q.q.QueryRowContext(q.keyed(ctx), `SELECT spki_sha256, blocked_at, account_id, certificate_id, serial_number
		FROM blocked_keys WHERE spki_sha256 = ?`, spkiSHA256).Scan(&k.SPKISHA256, &at, &k.AccountID, &k.CertificateID, &k.SerialNumber)
	if err != nil {
		return nil, notFound(err, "blocked key")
	}
	k.BlockedAt = parseTS(at)
	return &k, nil
}

func (q *Queries) BlockKey(ctx context.Context, k *store.BlockedKey) error {
	// A key blocked already keeps its first block: the insert then
	// touches no row, and that is no error.
	_, err := q.q.ExecContext(ctx, `INSERT INTO blocked_keys(spki_sha256, blocked_at, account_id, certificate_id, serial_number)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (spki_sha256) DO NOTHING`,
		k.SPKISHA256, ts(k.BlockedAt), k.AccountID, k.CertificateID, k.SerialNumber)
	return writeErr(err, "block key")
}
