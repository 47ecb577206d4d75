package clock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// OffsetKey is the setting that holds the sandbox clock's offset from the
// wall clock, in nanoseconds. Only a sandbox server creates it (at 0, on
// start), so its presence also says that the store is a sandbox's.
const OffsetKey = "sandbox_clock_offset"

// MaxOffset bounds how far the sandbox clock may travel: a century is
// beyond every validity and notice an integrator could want to see, and
// far from time.Duration's limit.
const MaxOffset = 100 * 365 * 24 * time.Hour

// DefaultTTL is how long a process trusts the offset it last read before
// reading it again: another process's travel shows here within it.
const DefaultTTL = time.Second

// Settings is what Travel needs of the store.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	InTx(ctx context.Context, fn func(store.Tx) error) error
}

// Travel is the sandbox's business clock: the wall clock (Base) plus an
// offset that only grows, kept in the store so that every process on it
// and every restart shares it. Only business time moves; leases, I/O
// deadlines and timeouts keep the real clock.
type Travel struct {
	Store Settings
	// Base is the clock the offset is added to; nil is the wall clock.
	Base func() time.Time
	// TTL is how long a read offset is trusted; zero is DefaultTTL.
	TTL time.Duration
	Log *slog.Logger

	mu     sync.Mutex
	offset time.Duration
	readAt time.Time // real time of the last read; zero: never read
}

func (c *Travel) base() time.Time { return Now(c.Base) }

// Now is business time. A store that cannot be read leaves the offset
// last read in force (the clock never jumps back for an outage).
func (c *Travel) Now() time.Time {
	off, err := c.Offset(context.Background())
	if err != nil && c.Log != nil {
		c.Log.Warn("read the sandbox clock", "err", err)
	}
	return c.base().Add(off)
}

// Offset is how far the clock is ahead of Base, read from the store unless
// read within TTL.
func (c *Travel) Offset(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if !c.readAt.IsZero() && time.Since(c.readAt) < ttl {
		return c.offset, nil
	}
	off, _, err := readOffset(ctx, c.Store)
	if err != nil {
		return c.offset, err
	}
	c.offset = max(c.offset, off)
	c.readAt = time.Now()
	return c.offset, nil
}

func readOffset(ctx context.Context, st Settings) (time.Duration, string, error) {
	v, err := st.Setting(ctx, OffsetKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, v, fmt.Errorf("sandbox clock offset %q: %w", v, err)
	}
	return time.Duration(n), v, nil
}

// Init records a zero offset unless one is recorded: the store is a
// sandbox's from now on.
func (c *Travel) Init(ctx context.Context) error {
	return c.Store.InTx(ctx, func(tx store.Tx) error { return tx.PutSettingIfAbsent(ctx, OffsetKey, "0") })
}

// Advance moves the clock forward by d and returns the new offset.
func (c *Travel) Advance(ctx context.Context, d time.Duration) (time.Duration, error) {
	if d <= 0 {
		return 0, errs.InvalidValue("advance", "The sandbox clock only moves forward: advance must be positive.")
	}
	return c.move(ctx, func(cur time.Duration) (time.Duration, error) { return cur + d, nil })
}

// AdvanceTo moves the clock forward to t and returns the new offset; a t
// that is not after business time now is refused.
func (c *Travel) AdvanceTo(ctx context.Context, t time.Time) (time.Duration, error) {
	return c.move(ctx, func(cur time.Duration) (time.Duration, error) {
		base := c.base()
		if !t.After(base.Add(cur)) {
			return 0, errs.InvalidValue("to", "The sandbox clock only moves forward: %s is not after its time %s.",
				t.UTC().Format(time.RFC3339), base.Add(cur).Format(time.RFC3339))
		}
		return t.Sub(base), nil
	})
}

// move replaces the offset by next(offset), a compare-and-set against the
// stored value so that concurrent travels (from several processes) add up
// and none is lost.
func (c *Travel) move(ctx context.Context, next func(time.Duration) (time.Duration, error)) (time.Duration, error) {
	if err := c.Init(ctx); err != nil {
		return 0, errs.Internalf(err, "record the sandbox clock")
	}
	for range 100 {
		cur, raw, err := readOffset(ctx, c.Store)
		if err != nil {
			return 0, errs.Internalf(err, "read the sandbox clock")
		}
		off, err := next(cur)
		if err != nil {
			return 0, err
		}
		if off > MaxOffset || off < cur {
			return 0, errs.InvalidValue("advance", "The sandbox clock travels at most %d years ahead of the wall clock.", MaxOffset/(365*24*time.Hour))
		}
		var ok bool
		err = c.Store.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.ReplaceSetting(ctx, OffsetKey, raw, strconv.FormatInt(int64(off), 10))
			return err
		})
		if err != nil {
			return 0, errs.Internalf(err, "move the sandbox clock")
		}
		if ok {
			c.mu.Lock()
			c.offset, c.readAt = max(c.offset, off), time.Now()
			c.mu.Unlock()
			return off, nil
		}
	}
	return 0, errs.Internalf(errors.New("too many concurrent moves"), "move the sandbox clock")
}

// ParseAdvance reads how far to move the clock: a Go duration ("720h",
// "90m") or a whole number of days ("30d").
func ParseAdvance(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > int64(MaxOffset/(24*time.Hour)) || n < -int64(MaxOffset/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a duration (720h) nor a number of days (30d)", s)
	}
	return d, nil
}
