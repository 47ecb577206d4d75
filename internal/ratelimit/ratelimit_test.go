package ratelimit

import (
	"errors"
	"testing"
	"time"
)

// clock is a hand-moved time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func allowN(l *Limiter, key string, n int) int {
	ok := 0
	for range n {
		if _, err := l.Allow(key); err == nil {
			ok++
		}
	}
	return ok
}

func TestBurstThenSteadyRate(t *testing.T) {
	c := newClock()
	l := New([]Rule{{N: 10, Per: 10 * time.Second}}, c.now)
	if got := allowN(l, "a", 15); got != 10 {
		t.Fatalf("burst allowed %d of 15, want 10", got)
	}
	wait, err := l.Allow("a")
	if !errors.Is(err, ErrLimited) || wait <= 0 || wait > time.Second {
		t.Fatalf("11th request: wait %v err %v; want ErrLimited within a second", wait, err)
	}
	c.add(wait)
	if _, err := l.Allow("a"); err != nil {
		t.Fatalf("after waiting %v: %v", wait, err)
	}
	// Another key has its own budget.
	if got := allowN(l, "b", 10); got != 10 {
		t.Fatalf("key b allowed %d of 10", got)
	}
	// After a whole window the full burst is back.
	c.add(10 * time.Second)
	if got := allowN(l, "a", 12); got != 10 {
		t.Fatalf("after a window allowed %d of 12, want 10", got)
	}
}

func TestEveryRuleApplies(t *testing.T) {
	c := newClock()
	// Short window 5 per second, long window 8 per minute.
	l := New([]Rule{{N: 5, Per: time.Second}, {N: 8, Per: time.Minute}}, c.now)
	if got := allowN(l, "k", 10); got != 5 {
		t.Fatalf("first second allowed %d, want 5 (short rule)", got)
	}
	c.add(time.Second)
	if got := allowN(l, "k", 10); got != 3 {
		t.Fatalf("second second allowed %d, want 3 (long rule leaves 8-5)", got)
	}
	c.add(time.Second)
	if _, err := l.Allow("k"); !errors.Is(err, ErrLimited) {
		t.Fatalf("long rule did not refuse: %v", err)
	}
	// Refused requests spend nothing: after the long rule's spacing
	// (60s/8) one more request is allowed.
	c.add(60 * time.Second / 8)
	if _, err := l.Allow("k"); err != nil {
		t.Fatalf("after the long spacing: %v", err)
	}
}

func TestOffAndNil(t *testing.T) {
	var nilLimiter *Limiter
	if _, err := nilLimiter.Allow("x"); err != nil {
		t.Fatal(err)
	}
	if got := allowN(New(nil, nil), "x", 10000); got != 10000 {
		t.Fatalf("limiter without rules refused requests: %d", got)
	}
}

func TestIdleKeysEvicted(t *testing.T) {
	c := newClock()
	l := New([]Rule{{N: 2, Per: time.Second}}, c.now)
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	c.add(2 * time.Minute)
	l.Allow("d")
	if len(l.keys) != 1 {
		t.Fatalf("%d keys kept after they went idle, want 1", len(l.keys))
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Rule
		bad  bool
	}{
		{in: "off"},
		{in: ""},
		{in: "100/5s,1000/5m", want: Default},
		{in: " 7/1m ", want: []Rule{{N: 7, Per: time.Minute}}},
		{in: "100", bad: true},
		{in: "0/5s", bad: true},
		{in: "x/5s", bad: true},
		{in: "5/forever", bad: true},
		{in: "5/-1s", bad: true},
		{in: "1000000000000/1ns", bad: true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("Parse(%q) error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("Parse(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Parse(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
