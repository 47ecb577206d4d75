// Package faults is the sandbox's fault injection: rules that make chosen
// API calls answer 429 with Retry-After, 500 or 503 in CertCentral's
// envelope, wait, or lose their connection, so that an integrator can
// test how a client copes with what the real service does on a bad day.
//
// A rule is data (Spec, as an administrator writes it in JSON through the
// API or a --sandbox-fault flag); the Injector decides, call by call,
// whether one fires. It decides before the call's handler runs, and the
// API edge (internal/api) acts on the decision: a refused call never
// reaches the order rules, so it changes nothing. Rules live in the
// process, like the rate limiter's budgets.
package faults

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/seeded"
)

// Kind is what a rule does to the calls it picks.
type Kind string

const (
	// RateLimit answers 429 request_limit_exceeded with Retry-After, as the
	// real per-key limits do.
	RateLimit Kind = "rate_limit"
	// Error answers 500 internal_error or 503 service_unavailable.
	Error Kind = "error"
	// Delay waits before the call runs; the call then runs as usual.
	Delay Kind = "delay"
	// Drop reads the request and closes the connection without an
	// answer; the call runs first only when the rule says so.
	Drop Kind = "drop"
)

// Kinds lists every kind, in the order the docs name them.
var Kinds = []Kind{RateLimit, Error, Delay, Drop}

// Bounds of a rule.
const (
	// MaxDelay keeps an injected wait well inside the server's 60-second
	// write timeout, so a delayed call still gets its answer.
	MaxDelay = 30 * time.Second
	// MaxRetryAfter bounds the Retry-After a rule may send.
	MaxRetryAfter = time.Hour
	// MaxRules bounds the rules of one process.
	MaxRules = 100
)

// Defaults a rule takes when it names none.
const (
	DefaultRateLimitRetryAfter = 5 * time.Second  // the short window of the real limits is 5 s
	DefaultUnavailableRetry    = 10 * time.Second // as an unavailable store answers
)

// Spec is a rule as written: every field optional but fault. The matchers
// (route, api_key_id, product) all must hold; none given matches every
// API call. Durations are Go durations ("250ms", "5s"); times RFC 3339.
type Spec struct {
	// Route is "[METHOD ]PATH" below /services/v2 (the prefix may be
	// given). A segment "*" matches any one segment; "{name}" matches one
	// where the route itself has a parameter (so "{id}" in
	// /order/certificate/{id} is not status-changes); a last segment "**"
	// matches the rest; other segments match literally.
	Route string `json:"route,omitempty"`
	// APIKeyID picks the calls of one API key (by its id, as GET /key
	// lists it).
	APIKeyID int64 `json:"api_key_id,omitempty"`
	// Product picks the calls that name a product in their path (placing
	// an order, reading a product) by name_id or alias.
	Product string `json:"product,omitempty"`

	Fault Kind `json:"fault"`
	// Status of an error fault: 500 or 503 (the default).
	Status int `json:"status,omitempty"`
	// RetryAfter of a rate_limit (default 5s) or error fault (503: 10s;
	// 500: none); "0s" sends none.
	RetryAfter string `json:"retry_after,omitempty"`
	// Delay is the wait of a delay fault; with DelayMax the wait is drawn
	// uniformly between the two.
	Delay    string `json:"delay,omitempty"`
	DelayMax string `json:"delay_max,omitempty"`
	// RunHandler makes a drop fault run the call before it drops the
	// connection: the call's effect happens and its answer is lost.
	RunHandler bool `json:"run_handler,omitempty"`

	// Every picks every Nth matching call (default 1: each one).
	Every int `json:"every,omitempty"`
	// Probability, when set (0 < p ≤ 1), picks each such call with that
	// chance, drawn from the rule's own stream (--sandbox-seed repeats it).
	Probability float64 `json:"probability,omitempty"`
	// Count ends the rule after it has injected this many faults.
	Count int `json:"count,omitempty"`
	// StartsAt and EndsAt bound when the rule is in force; For is EndsAt
	// as a duration from the rule's creation.
	StartsAt string `json:"starts_at,omitempty"`
	EndsAt   string `json:"ends_at,omitempty"`
	For      string `json:"for,omitempty"`
}

// Rule is a compiled Spec with its tallies.
type Rule struct {
	ID int64
	// AccountID is the account whose calls the rule picks; 0 (a flag's
	// rule) picks every account's.
	AccountID int64
	Spec      Spec
	Created   time.Time

	method     string
	segs       []string
	rest       bool
	status     int
	retryAfter time.Duration
	delay      time.Duration
	delayMax   time.Duration
	every      int64
	count      int64
	startsAt   time.Time
	endsAt     time.Time
	rng        *seeded.Source

	hits, injected int64
}

// View is a rule as listed: its spec, and what it has done so far.
type View struct {
	ID int64 `json:"id"`
	Spec
	// Scope is "account" for a rule an administrator added (it picks the
	// calls of the account's keys) or "server" for a --sandbox-fault one
	// (every account's).
	Scope       string `json:"scope"`
	DateCreated string `json:"date_created"`
	// Hits counts the calls the rule matched while in force; Injected the
	// faults it injected.
	Hits     int64 `json:"hits"`
	Injected int64 `json:"injected"`
	// Active is false once the rule is spent (count reached) or past its
	// window.
	Active bool `json:"active"`
}

// Call is what a rule is matched against.
type Call struct {
	AccountID, KeyID int64
	Method           string
	// Path and Pattern are the request's path and the pattern of the
	// route that serves it, both with the /services/v2 prefix.
	Path, Pattern string
	// Products are the name_ids the path names (the product as sent and,
	// for an alias, the product it orders); empty when it names none.
	Products []string
}

// Fault is a decision: what to do to one call.
type Fault struct {
	RuleID     int64
	Kind       Kind
	Status     int           // RateLimit: 429; Error: 500 or 503
	RetryAfter time.Duration // 0: no Retry-After
	Delay      time.Duration
	RunHandler bool
}

// Injector holds the rules of a process and decides calls.
type Injector struct {
	// Now is the wall clock (windows are real time, as rate limits are).
	Now func() time.Time
	// Seed keys every rule's random stream (--sandbox-seed); empty draws
	// fresh streams.
	Seed string

	mu     sync.Mutex
	rules  []*Rule
	nextID int64

	counts [4]atomic.Int64 // by kind, in Kinds' order
}

// New is an injector holding the rules of specs (a --sandbox-fault flag's,
// for every account).
func New(now func() time.Time, seed string, specs []Spec) (*Injector, error) {
	in := &Injector{Now: now, Seed: seed}
	for i, sp := range specs {
		if _, err := in.Add(0, sp); err != nil {
			return nil, fmt.Errorf("fault rule %d: %w", i+1, err)
		}
	}
	return in, nil
}

func (in *Injector) now() time.Time {
	if in.Now == nil {
		return time.Now()
	}
	return in.Now()
}

// Counts is how many faults of each kind the process has injected: the
// hook for metrics.
func (in *Injector) Counts() map[Kind]int64 {
	out := make(map[Kind]int64, len(Kinds))
	for i, k := range Kinds {
		out[k] = in.counts[i].Load()
	}
	return out
}

// Add compiles sp into a rule of account (0: every account) and puts it
// in force.
func (in *Injector) Add(account int64, sp Spec) (View, error) {
	now := in.now()
	r, err := compile(sp, now)
	if err != nil {
		return View{}, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.rules) >= MaxRules {
		return View{}, errs.New(errs.Invalid, "invalid_value:fault", "A server holds at most %d fault rules; delete some first.", MaxRules)
	}
	in.nextID++
	r.ID, r.AccountID, r.Created = in.nextID, account, now
	r.rng = seeded.For(in.Seed, fmt.Sprintf("%s/%d", seeded.PurposeFaults, r.ID))
	in.rules = append(in.rules, r)
	return r.view(now), nil
}

// Delete ends rule id, when account may see it (its own, or a server
// rule); false when there is no such rule.
func (in *Injector) Delete(account, id int64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	i := slices.IndexFunc(in.rules, func(r *Rule) bool { return r.ID == id && visible(r, account) })
	if i < 0 {
		return false
	}
	in.rules = slices.Delete(in.rules, i, i+1)
	return true
}

// List is the rules account sees, oldest first.
func (in *Injector) List(account int64) []View {
	now := in.now()
	in.mu.Lock()
	defer in.mu.Unlock()
	out := []View{}
	for _, r := range in.rules {
		if visible(r, account) {
			out = append(out, r.view(now))
		}
	}
	return out
}

func visible(r *Rule, account int64) bool { return r.AccountID == 0 || r.AccountID == account }

// Decide matches c against the rules in force, oldest first. Each rule
// that matches counts the call; the first whose turn it is (every Nth,
// then its probability) decides, and nil means the call runs as usual.
func (in *Injector) Decide(c Call) *Fault {
	if in == nil {
		return nil
	}
	now := in.now()
	in.mu.Lock()
	defer in.mu.Unlock()
	var f *Fault
	for _, r := range in.rules {
		if !r.active(now) || !r.matches(c) {
			continue
		}
		r.hits++
		if r.hits%r.every != 0 {
			continue
		}
		if p := r.Spec.Probability; p > 0 && p < 1 && r.rng.Float64() >= p {
			continue
		}
		if f != nil {
			continue
		}
		r.injected++
		f = &Fault{RuleID: r.ID, Kind: r.Spec.Fault, Status: r.status, RetryAfter: r.retryAfter, Delay: r.delay, RunHandler: r.Spec.RunHandler}
		if r.delayMax > r.delay {
			f.Delay += time.Duration(r.rng.Float64() * float64(r.delayMax-r.delay+1))
		}
	}
	if f != nil {
		in.counts[slices.Index(Kinds, f.Kind)].Add(1)
	}
	return f
}

func (r *Rule) active(now time.Time) bool {
	if r.count > 0 && r.injected >= r.count {
		return false
	}
	if !r.startsAt.IsZero() && now.Before(r.startsAt) {
		return false
	}
	return r.endsAt.IsZero() || now.Before(r.endsAt)
}

func (r *Rule) view(now time.Time) View {
	scope := "account"
	if r.AccountID == 0 {
		scope = "server"
	}
	return View{ID: r.ID, Spec: r.Spec, Scope: scope, DateCreated: r.Created.UTC().Format("2006-01-02T15:04:05-07:00"),
		Hits: r.hits, Injected: r.injected, Active: r.active(now)}
}

func (r *Rule) matches(c Call) bool {
	if r.AccountID != 0 && r.AccountID != c.AccountID {
		return false
	}
	if r.Spec.APIKeyID != 0 && r.Spec.APIKeyID != c.KeyID {
		return false
	}
	if r.Spec.Product != "" && !slices.Contains(c.Products, r.Spec.Product) {
		return false
	}
	if r.method != "" && r.method != c.Method {
		return false
	}
	if r.segs == nil {
		return true
	}
	return matchPath(r.segs, r.rest, segments(c.Path), segments(c.Pattern))
}

// Base is the prefix of every API path, which routes may leave out.
const Base = "/services/v2"

func segments(p string) []string {
	p = strings.TrimPrefix(p, Base)
	p = strings.Trim(p, "/")
	if p == "" {
		return []string{}
	}
	return strings.Split(p, "/")
}

func isParam(seg string) bool { return len(seg) > 1 && seg[0] == '{' && seg[len(seg)-1] == '}' }

func matchPath(rule []string, rest bool, path, pattern []string) bool {
	if len(path) < len(rule) || (!rest && len(path) != len(rule)) {
		return false
	}
	for i, s := range rule {
		switch {
		case s == "*":
		case isParam(s):
			if i >= len(pattern) || !isParam(pattern[i]) {
				return false
			}
		case s != path[i]:
			return false
		}
	}
	return true
}

var zeroTime time.Time

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch}

func compile(sp Spec, now time.Time) (*Rule, error) {
	var l errs.List
	r := &Rule{Spec: sp, every: 1}
	if sp.Route != "" {
		route := strings.TrimSpace(sp.Route)
		method, path, ok := strings.Cut(route, " ")
		if !ok {
			method, path = "", route
		}
		method, path = strings.ToUpper(strings.TrimSpace(method)), strings.TrimSpace(path)
		switch {
		case method != "" && method != "*" && !slices.Contains(methods, method):
			l.Add(errs.InvalidValue("route", "route starts with a method (GET, POST, PUT, DELETE) or none, then a path such as /order/certificate/{product}."))
		case !strings.HasPrefix(path, "/"):
			l.Add(errs.InvalidValue("route", "route's path starts with /, such as /order/certificate/{product}."))
		default:
			if method != "*" {
				r.method = method
			}
			r.segs = segments(path)
			for i, s := range r.segs {
				if s == "**" || (isParam(s) && strings.HasSuffix(s, "...}")) {
					if i != len(r.segs)-1 {
						l.Add(errs.InvalidValue("route", "** matches the rest of a path and comes last."))
					}
					r.segs, r.rest = r.segs[:i], true
					break
				}
			}
			if len(r.segs) > 0 && r.segs[0] == "sandbox" {
				l.Add(errs.InvalidValue("route", "The sandbox's own routes are never faulted, so that a rule can always be deleted."))
			}
		}
	}
	if sp.APIKeyID < 0 {
		l.Add(errs.InvalidValue("api_key_id", "api_key_id is the id of an API key."))
	}
	dur := func(field, v string, max time.Duration) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > max {
			l.Add(errs.InvalidValue(field, "%s is a duration such as 500ms or 5s, at most %s.", field, max))
			return 0
		}
		return d
	}
	retry := dur("retry_after", sp.RetryAfter, MaxRetryAfter)
	switch sp.Fault {
	case RateLimit:
		if sp.Status != 0 && sp.Status != http.StatusTooManyRequests {
			l.Add(errs.InvalidValue("status", "A rate_limit fault answers 429."))
		}
		r.status, r.retryAfter = http.StatusTooManyRequests, DefaultRateLimitRetryAfter
		if sp.RetryAfter != "" {
			r.retryAfter = retry
		}
	case Error:
		r.status = sp.Status
		switch sp.Status {
		case 0, http.StatusServiceUnavailable:
			r.status, r.retryAfter = http.StatusServiceUnavailable, DefaultUnavailableRetry
		case http.StatusInternalServerError:
		default:
			l.Add(errs.InvalidValue("status", "An error fault answers 500 or 503."))
		}
		if sp.RetryAfter != "" {
			r.retryAfter = retry
		}
	case Delay, Drop:
		if sp.Status != 0 {
			l.Add(errs.InvalidValue("status", "Only rate_limit and error faults have a status."))
		}
		if sp.RetryAfter != "" {
			l.Add(errs.InvalidValue("retry_after", "Only rate_limit and error faults send Retry-After."))
		}
	case "":
		l.Add(errs.MissingField("fault"))
	default:
		l.Add(errs.InvalidValue("fault", "fault is one of rate_limit, error, delay, drop."))
	}
	if sp.Fault == Delay {
		r.delay = dur("delay", sp.Delay, MaxDelay)
		r.delayMax = dur("delay_max", sp.DelayMax, MaxDelay)
		if sp.Delay == "" {
			l.Add(errs.MissingField("delay"))
		}
		if sp.DelayMax != "" && r.delayMax < r.delay {
			l.Add(errs.InvalidValue("delay_max", "delay_max is at least delay."))
		}
	} else if sp.Delay != "" || sp.DelayMax != "" {
		l.Add(errs.InvalidValue("delay", "Only delay faults wait."))
	}
	if sp.RunHandler && sp.Fault != Drop {
		l.Add(errs.InvalidValue("run_handler", "Only drop faults take run_handler."))
	}
	if sp.Every < 0 {
		l.Add(errs.InvalidValue("every", "every is a positive number of calls."))
	} else if sp.Every > 0 {
		r.every = int64(sp.Every)
	}
	if p := sp.Probability; p < 0 || p > 1 || math.IsNaN(p) {
		l.Add(errs.InvalidValue("probability", "probability is above 0 and at most 1."))
	}
	if sp.Count < 0 {
		l.Add(errs.InvalidValue("count", "count is a positive number of faults."))
	}
	r.count = int64(sp.Count)
	at := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			l.Add(errs.InvalidValue(field, "%s is an RFC 3339 time such as 2027-01-01T00:00:00Z.", field))
		}
		return t
	}
	r.startsAt, r.endsAt = at("starts_at", sp.StartsAt), at("ends_at", sp.EndsAt)
	if sp.For != "" {
		if sp.EndsAt != "" {
			l.Add(errs.InvalidValue("for", "Send either for or ends_at, not both."))
		} else if d, err := time.ParseDuration(sp.For); err != nil || d <= 0 {
			l.Add(errs.InvalidValue("for", "for is a positive duration such as 10m."))
		} else {
			r.endsAt = now.Add(d)
			r.Spec.EndsAt = r.endsAt.UTC().Format(time.RFC3339)
		}
	}
	if !r.startsAt.IsZero() && !r.endsAt.IsZero() && !r.endsAt.After(r.startsAt) {
		l.Add(errs.InvalidValue("ends_at", "ends_at is after starts_at."))
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return r, nil
}
