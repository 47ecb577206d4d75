package jobs

import (
	"context"
	"time"
)

// NoticesAt runs the notice job at now without claiming its round, so that
// tests can race two engines on the per-notice record alone.
func (e *Engine) NoticesAt(ctx context.Context, now time.Time) (int, error) {
	return e.notices(ctx, now)
}

// RenewalsAt runs the auto-renew job at now without claiming its round, so
// that tests can race replicas on the renewal itself.
func (e *Engine) RenewalsAt(ctx context.Context, now time.Time) (int, error) {
	return e.renewals(ctx, now)
}
