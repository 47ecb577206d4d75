package faults

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/errs"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func code(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return ""
	}
	var cs []string
	for _, d := range e.Details {
		cs = append(cs, d.Code)
	}
	return strings.Join(cs, ",")
}

// TestCompileRefuses: every field is checked, and all failures come
// together.
func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		sp   Spec
		want string
	}{
		{"no fault", Spec{}, "missing_field:fault"},
		{"unknown fault", Spec{Fault: "explode"}, "invalid_value:fault"},
		{"rate limit status", Spec{Fault: RateLimit, Status: 503}, "invalid_value:status"},
		{"error status", Spec{Fault: Error, Status: 502}, "invalid_value:status"},
		{"delay without delay", Spec{Fault: Delay}, "missing_field:delay"},
		{"delay too long", Spec{Fault: Delay, Delay: "31s"}, "invalid_value:delay"},
		{"delay max below delay", Spec{Fault: Delay, Delay: "2s", DelayMax: "1s"}, "invalid_value:delay_max"},
		{"delay on an error", Spec{Fault: Error, Delay: "1s"}, "invalid_value:delay"},
		{"retry after on a drop", Spec{Fault: Drop, RetryAfter: "1s"}, "invalid_value:retry_after"},
		{"run handler on an error", Spec{Fault: Error, RunHandler: true}, "invalid_value:run_handler"},
		{"bad retry after", Spec{Fault: RateLimit, RetryAfter: "soon"}, "invalid_value:retry_after"},
		{"every negative", Spec{Fault: Error, Every: -1}, "invalid_value:every"},
		{"probability above 1", Spec{Fault: Error, Probability: 1.5}, "invalid_value:probability"},
		{"count negative", Spec{Fault: Error, Count: -2}, "invalid_value:count"},
		{"bad method", Spec{Fault: Error, Route: "FETCH /order/certificate"}, "invalid_value:route"},
		{"relative path", Spec{Fault: Error, Route: "GET order/certificate"}, "invalid_value:route"},
		{"sandbox route", Spec{Fault: Error, Route: "DELETE /services/v2/sandbox/faults/{id}"}, "invalid_value:route"},
		{"rest not last", Spec{Fault: Error, Route: "/order/**/x"}, "invalid_value:route"},
		{"bad time", Spec{Fault: Error, StartsAt: "tomorrow"}, "invalid_value:starts_at"},
		{"for and ends at", Spec{Fault: Error, For: "1m", EndsAt: "2030-01-01T00:00:00Z"}, "invalid_value:for"},
		{"empty window", Spec{Fault: Error, StartsAt: "2030-01-01T00:00:00Z", EndsAt: "2029-01-01T00:00:00Z"}, "invalid_value:ends_at"},
		{"several at once", Spec{Fault: Error, Status: 404, Count: -1}, "invalid_value:status,invalid_value:count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(tc.sp, time.Now())
			if got := code(err); got != tc.want {
				t.Errorf("codes %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

// TestMatch: routes by method and path, "{name}" only where the route has
// a parameter, "**" for the rest; keys, products and accounts.
func TestMatch(t *testing.T) {
	info := Call{AccountID: 1, KeyID: 7, Method: "GET", Path: "/services/v2/order/certificate/42", Pattern: "/services/v2/order/certificate/{id}"}
	changes := Call{AccountID: 1, KeyID: 7, Method: "GET", Path: "/services/v2/order/certificate/status-changes", Pattern: "/services/v2/order/certificate/status-changes"}
	place := Call{AccountID: 1, KeyID: 8, Method: "POST", Path: "/services/v2/order/certificate/ssl_plus", Pattern: "/services/v2/order/certificate/{product}",
		Products: []string{"ssl_plus"}}
	other := place
	other.AccountID = 2
	for _, tc := range []struct {
		name    string
		account int64
		sp      Spec
		want    []bool // info, changes, place, other
	}{
		{"everything", 0, Spec{}, []bool{true, true, true, true}},
		{"param", 0, Spec{Route: "GET /order/certificate/{id}"}, []bool{true, false, false, false}},
		{"star", 0, Spec{Route: "GET /order/certificate/*"}, []bool{true, true, false, false}},
		{"literal id", 0, Spec{Route: "/services/v2/order/certificate/42"}, []bool{true, false, false, false}},
		{"any method", 0, Spec{Route: "* /order/certificate/*"}, []bool{true, true, true, true}},
		{"rest", 0, Spec{Route: "/order/**"}, []bool{true, true, true, true}},
		{"rest needs its prefix", 0, Spec{Route: "/order/certificate/42/**"}, []bool{true, false, false, false}},
		{"method", 0, Spec{Route: "post /order/certificate/{product}"}, []bool{false, false, true, true}},
		{"key", 0, Spec{APIKeyID: 7}, []bool{true, true, false, false}},
		{"product", 0, Spec{Product: "ssl_plus"}, []bool{false, false, true, true}},
		{"account", 1, Spec{}, []bool{true, true, true, false}},
		{"key and product", 0, Spec{APIKeyID: 7, Product: "ssl_plus"}, []bool{false, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.sp.Fault = Error
			r, err := compile(tc.sp, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			r.AccountID = tc.account
			for i, c := range []Call{info, changes, place, other} {
				if got := r.matches(c); got != tc.want[i] {
					t.Errorf("call %d (%s %s): %v, want %v", i, c.Method, c.Path, got, tc.want[i])
				}
			}
		})
	}
}

// TestDecide: every Nth call, a count that spends the rule, a window, the
// oldest firing rule deciding, and the tallies.
func TestDecide(t *testing.T) {
	clk := &fakeClock{t: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	in, err := New(clk.now, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	call := Call{AccountID: 1, KeyID: 1, Method: "GET", Path: "/services/v2/product", Pattern: "/services/v2/product"}
	every3, _ := in.Add(1, Spec{Fault: Error, Every: 3, Count: 2})
	var got []int64
	for range 10 {
		if f := in.Decide(call); f != nil {
			if f.Status != http.StatusServiceUnavailable || f.RetryAfter != DefaultUnavailableRetry {
				t.Errorf("fault %+v, want 503 with the default Retry-After", f)
			}
			got = append(got, f.RuleID)
		} else {
			got = append(got, 0)
		}
	}
	want := []int64{0, 0, every3.ID, 0, 0, every3.ID, 0, 0, 0, 0}
	if !slices.Equal(got, want) {
		t.Errorf("decisions %v, want %v (every 3rd, twice)", got, want)
	}
	v := in.List(1)[0]
	if v.Hits != 6 || v.Injected != 2 || v.Active {
		t.Errorf("spent rule %+v: want 6 hits (none once spent), 2 injected, inactive", v)
	}

	// A window: not before its start, not after its end.
	win, _ := in.Add(1, Spec{Fault: RateLimit, StartsAt: "2027-01-01T00:01:00Z", For: "1h"})
	if f := in.Decide(call); f != nil {
		t.Errorf("before the window: %+v", f)
	}
	clk.t = clk.t.Add(2 * time.Minute)
	if f := in.Decide(call); f == nil || f.RuleID != win.ID || f.Status != 429 || f.RetryAfter != DefaultRateLimitRetryAfter {
		t.Errorf("in the window: %+v", f)
	}
	// The rule of the other account and a later rule do not decide.
	in.Add(2, Spec{Fault: Drop})
	later, _ := in.Add(1, Spec{Fault: Delay, Delay: "10ms"})
	if f := in.Decide(call); f == nil || f.RuleID != win.ID {
		t.Errorf("the oldest firing rule decides: %+v", f)
	}
	clk.t = clk.t.Add(time.Hour)
	if f := in.Decide(call); f == nil || f.RuleID != later.ID || f.Delay != 10*time.Millisecond {
		t.Errorf("after the window the later rule: %+v", f)
	}
	if c := in.Counts(); c[Error] != 2 || c[RateLimit] != 2 || c[Delay] != 1 || c[Drop] != 0 {
		t.Errorf("counts %v", c)
	}
	if len(in.List(1)) != 3 || len(in.List(2)) != 1 {
		t.Errorf("account 1 sees %d rules, account 2 %d", len(in.List(1)), len(in.List(2)))
	}
	if in.Delete(2, later.ID) {
		t.Error("account 2 deleted account 1's rule")
	}
	if !in.Delete(1, later.ID) || in.Delete(1, later.ID) {
		t.Error("delete once")
	}
}

// TestSeedRepeats: with a seed, probabilities and random delays repeat
// from one process to the next; without one they need not.
func TestSeedRepeats(t *testing.T) {
	run := func(seed string) []time.Duration {
		in, err := New(time.Now, seed, []Spec{{Fault: Delay, Delay: "1ms", DelayMax: "30s", Probability: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Duration
		for range 40 {
			var d time.Duration = -1
			if f := in.Decide(Call{Method: "GET", Path: "/services/v2/product"}); f != nil {
				if f.Delay < time.Millisecond || f.Delay > 30*time.Second {
					t.Fatalf("delay %s outside [1ms, 30s]", f.Delay)
				}
				d = f.Delay
			}
			out = append(out, d)
		}
		return out
	}
	a, b, c := run("replay"), run("replay"), run("other")
	if !slices.Equal(a, b) {
		t.Errorf("one seed, two runs:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Error("two seeds gave the same faults")
	}
	fired := 0
	for _, d := range a {
		if d >= 0 {
			fired++
		}
	}
	if fired < 8 || fired > 32 {
		t.Errorf("probability 0.5 fired %d of 40", fired)
	}
}

func TestParseFlag(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{`{"route":"POST /order/certificate/{product}","fault":"error","status":503,"count":1}`, true},
		{`{"fault":"rate_limit","retry_after":"2s","every":5}`, true},
		{`{"fault":"rate_limit","retry_afer":"2s"}`, false}, // a typo is refused
		{`{"fault":"error","status":418}`, false},
		{`{"fault":"error"} {"fault":"drop"}`, false},
		{`fault=error`, false},
	} {
		_, err := ParseFlag(tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}
