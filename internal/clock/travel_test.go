package clock_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/store/sqlite"
)

func TestParseAdvance(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"720h", 720 * time.Hour, true},
		{"30d", 720 * time.Hour, true},
		{" 1d ", 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"-2d", -48 * time.Hour, true}, // parsed; Advance refuses it
		{"1.5d", 0, false},
		{"d", 0, false},
		{"99999999d", 0, false},
		{"a month", 0, false},
		{"", 0, false},
	} {
		got, err := clock.ParseAdvance(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseAdvance(%q) = %s, %v", c.in, got, err)
		}
	}
}

// TestTravel: the offset only grows, concurrent moves from two clocks on
// one store all count, a clock trusts what it read for its TTL and then
// sees another's move, and Now is Base plus the offset.
func TestTravel(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	fixed := func() time.Time { return base }
	a := &clock.Travel{Store: st, Base: fixed, TTL: time.Hour}
	b := &clock.Travel{Store: st, Base: fixed, TTL: time.Millisecond}
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if !a.Now().Equal(base) {
		t.Fatalf("fresh Now = %s", a.Now())
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(2)
		go func() { defer wg.Done(); a.Advance(ctx, time.Hour) }()
		go func() { defer wg.Done(); b.Advance(ctx, time.Minute) }()
	}
	wg.Wait()
	want := 10*time.Hour + 10*time.Minute
	// Read by a clock that has not read yet: b's own may still be within
	// its TTL of its last move, which need not be the last of all.
	fresh := &clock.Travel{Store: st, Base: fixed, TTL: time.Hour}
	if off, _ := fresh.Offset(ctx); off != want {
		t.Fatalf("after concurrent moves: %s, want %s", off, want)
	}
	if _, err := a.AdvanceTo(ctx, base.Add(want)); err == nil {
		t.Fatal("AdvanceTo the clock's own time moved it")
	}
	if _, err := a.Advance(ctx, -time.Second); err == nil {
		t.Fatal("a negative advance was taken")
	}
	if _, err := a.AdvanceTo(ctx, base.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if got := b.Now(); !got.Equal(base.Add(48 * time.Hour)) {
		t.Fatalf("b.Now() = %s after a's move", got)
	}
	b.Advance(ctx, time.Hour)
	if got := a.Now(); !got.Equal(base.Add(48 * time.Hour)) {
		t.Fatalf("a read again within its TTL: %s", got)
	}
}
