package sqldb

import (
	"context"
	"fmt"

	"github.com/certorder/certorder/internal/store"
)

func (q *Queries) FaultRules(ctx context.Context) ([]store.FaultRule, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, account_id, spec, max_count, hits, injected, created_at
		FROM sandbox_faults ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list fault rules: %w", err)
	}
	defer rows.Close()
	out := []store.FaultRule{}
	for rows.Next() {
		var r store.FaultRule
		var created string
		if err := rows.Scan(&r.ID, &r.AccountID, &r.Spec, &r.Count, &r.Hits, &r.Injected, &created); err != nil {
			return nil, fmt.Errorf("scan fault rule: %w", err)
		}
		r.CreatedAt = parseTS(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (q *Queries) CreateFaultRule(ctx context.Context, r *store.FaultRule) error {
	id, err := q.insert(ctx, "fault rule", `INSERT INTO sandbox_faults(account_id, spec, max_count, hits, injected, created_at)
		VALUES (?,?,?,?,?,?)`, r.AccountID, r.Spec, r.Count, r.Hits, r.Injected, ts(r.CreatedAt))
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

func (q *Queries) DeleteFaultRule(ctx context.Context, accountID, id int64) (bool, error) {
	return q.claim(ctx, "delete fault rule", `DELETE FROM sandbox_faults WHERE id = ? AND account_id IN (0, ?)`, id, accountID)
}

func (q *Queries) DeleteFaultRules(ctx context.Context, accountID int64) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM sandbox_faults WHERE account_id = ?`, accountID)
	return writeErr(err, "delete fault rules")
}

func (q *Queries) HitFaultRule(ctx context.Context, id int64) (int64, bool, error) {
	ok, err := q.claim(ctx, "count a fault rule's hit", `UPDATE sandbox_faults SET hits = hits + 1
		WHERE id = ? AND (max_count = 0 OR injected < max_count)`, id)
	if err != nil || !ok {
		return 0, false, err
	}
	var hits int64
	if err := q.q.QueryRowContext(ctx, `SELECT hits FROM sandbox_faults WHERE id = ?`, id).Scan(&hits); err != nil {
		return 0, false, fmt.Errorf("read a fault rule's hits: %w", err)
	}
	return hits, true, nil
}

func (q *Queries) InjectFaultRule(ctx context.Context, id int64) (bool, error) {
	return q.claim(ctx, "count a fault rule's fault", `UPDATE sandbox_faults SET injected = injected + 1
		WHERE id = ? AND (max_count = 0 OR injected < max_count)`, id)
}
