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
