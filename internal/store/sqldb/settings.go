package sqldb

import "context"

func (q *Queries) Setting(ctx context.Context, key string) (string, error) {
	var v string
	if err := q.q.QueryRowContext(q.keyed(ctx), `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", notFound(err, "setting")
	}
	return v, nil
}

func (q *Queries) ReplaceSetting(ctx context.Context, key, old, value string) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE settings SET value = ? WHERE key = ? AND value = ?`, value, key, old)
	if err != nil {
		return false, writeErr(err, "replace setting")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, writeErr(err, "replace setting")
	}
	return n == 1, nil
}

func (q *Queries) PutSettingIfAbsent(ctx context.Context, key, value string) error {
	// Present already is no error: the insert then touches no row.
	_, err := q.q.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	return writeErr(err, "put setting")
}
