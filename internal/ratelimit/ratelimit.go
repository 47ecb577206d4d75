// Package ratelimit holds per-key request budgets: CertCentral limits each
// API key over a short burst window and a long window at once (spec §1.6).
//
// Each rule is a generic cell rate algorithm (GCRA): a key's state is one
// "theoretical arrival time" per rule, so memory is constant per key
// whatever the window, and a burst of a rule's full count is allowed at
// once, then one request per Per/N.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule allows N requests per Per.
type Rule struct {
	N   int
	Per time.Duration
}

func (r Rule) String() string { return fmt.Sprintf("%d/%s", r.N, r.Per) }

// interval is the steady spacing between requests under the rule.
func (r Rule) interval() time.Duration { return r.Per / time.Duration(r.N) }

// Default is the generous end of what the spec found: 100 requests per
// 5 seconds and 1000 per 5 minutes.
var Default = []Rule{{N: 100, Per: 5 * time.Second}, {N: 1000, Per: 5 * time.Minute}}

// Parse reads "100/5s,1000/5m"; "off" or "" means no limit (nil rules).
func Parse(s string) ([]Rule, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return nil, nil
	}
	var rules []Rule
	for _, part := range strings.Split(s, ",") {
		n, per, ok := strings.Cut(strings.TrimSpace(part), "/")
		if !ok {
			return nil, fmt.Errorf("rate limit %q: want N/duration, e.g. 100/5s", part)
		}
		count, err := strconv.Atoi(n)
		if err != nil || count < 1 {
			return nil, fmt.Errorf("rate limit %q: count must be a positive integer", part)
		}
		d, err := time.ParseDuration(per)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("rate limit %q: bad duration", part)
		}
		if d/time.Duration(count) <= 0 {
			return nil, fmt.Errorf("rate limit %q: window too short for its count", part)
		}
		rules = append(rules, Rule{N: count, Per: d})
	}
	return rules, nil
}

// Limiter tracks every key. The zero value and a nil *Limiter allow all.
type Limiter struct {
	rules []Rule
	now   func() time.Time

	mu    sync.Mutex
	keys  map[string][]time.Time // per key, one theoretical arrival time per rule
	sweep time.Time
}

// New makes a limiter for rules; now may be nil (time.Now).
func New(rules []Rule, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rules: rules, now: now, keys: map[string][]time.Time{}}
}

// ErrLimited is returned by Allow with the rule that refused.
var ErrLimited = errors.New("ratelimit: request limit exceeded")

// Allow spends one request of key's budget, or reports how long until the
// next one would be allowed. A refused request spends nothing, so a client
// that backs off recovers.
func (l *Limiter) Allow(key string) (retryAfter time.Duration, err error) {
	if l == nil || len(l.rules) == 0 {
		return 0, nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	tats := l.keys[key]
	if tats == nil {
		tats = make([]time.Time, len(l.rules))
	}
	next := make([]time.Time, len(l.rules))
	for i, r := range l.rules {
		tat := tats[i]
		if tat.Before(now) {
			tat = now
		}
		// The request fits when the backlog it leaves stays within the
		// rule's window.
		newTAT := tat.Add(r.interval())
		if wait := newTAT.Sub(now) - r.Per; wait > 0 {
			return wait, fmt.Errorf("%w (%s)", ErrLimited, r)
		}
		next[i] = newTAT
	}
	l.keys[key] = next
	return 0, nil
}

// evictIdle drops, at most once a minute, the keys whose budgets are full
// again, so that the map holds only recently active keys.
func (l *Limiter) evictIdle(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	for k, tats := range l.keys {
		idle := true
		for _, t := range tats {
			if t.After(now) {
				idle = false
				break
			}
		}
		if idle {
			delete(l.keys, k)
		}
	}
}
