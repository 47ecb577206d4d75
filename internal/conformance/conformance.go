// Package conformance is the sandbox's client conformance report: for each
// API key, what its client sends (routes, methods, JSON fields and their
// types, header names) and the findings where that departs from what
// CertCentral documents, or leans on what certorder accepts only for
// compatibility: a product CertCentral replaced, a deprecated field, a
// number or boolean sent as a string, a field nobody reads, a GET with a
// body, a body without Content-Type, an order sent again without
// alternative_order_id after an answer that may have placed it, a call
// made before a 429's Retry-After had passed, or the same resource polled
// faster than advised.
//
// The API edge (internal/api) hands each authenticated call to a Recorder
// in three steps (Begin, Body from the JSON decoder, End with the answer);
// the recorder keeps per key a bounded summary and a bounded list of
// distinct findings, each with one redacted example of a request that
// showed it. Nothing secret is kept: no API key, no header value but a
// few harmless ones, no card number beyond its last four digits, no
// password, token or secret field, no path secret, and a CSR only when
// the operator asks (KeepCSR).
package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/catalog"
)

// Kinds of finding.
const (
	KindDeprecatedProduct = "deprecated_product"
	KindDeprecatedField   = "deprecated_field"
	KindStringForNumber   = "string_for_number"
	KindStringForBoolean  = "string_for_boolean"
	KindUnknownField      = "unknown_field"
	KindGETBody           = "get_with_body"
	KindContentType       = "missing_content_type"
	KindRetryWithoutAltID = "retry_without_alternative_order_id"
	KindIgnoredRetryAfter = "ignored_retry_after"
	KindPollingTooFast    = "polling_too_fast"
)

const (
	orderPlacementRoute  = "/order/certificate/{product}"
	orderPlacementMethod = http.MethodPost
	altOrderIDField      = "alternative_order_id"
	noAnswer             = 0  // an answer nobody received (a dropped connection)
	inFlight             = -1 // the first attempt has not been answered yet
	// retryAfterGuess is the wait of a 429 that named none.
	retryAfterGuess = time.Second
)

// Bounds: what one key costs at most, and how many keys are kept.
const (
	MaxKeys        = 256  // the least recently seen key goes first
	MaxFindings    = 64   // distinct findings per key; the oldest goes first
	MaxFields      = 200  // field paths per route and key
	MaxHeaders     = 48   // header names per key
	MaxUserAgents  = 8    // User-Agent values per key
	MaxPolled      = 64   // resources whose polling pace is followed per key
	MaxRecentPosts = 16   // order placements remembered per key for retries
	ExcerptBytes   = 2048 // of a request body shown with a finding
)

// Pace and windows of the checks.
const (
	// PollInterval is the pace certorder advises for reading one resource
	// again: the sandbox's jobs look for due work every 5 seconds, so a
	// faster look sees nothing new.
	PollInterval = 5 * time.Second
	// PollStreak is how many reads of one resource in a row, each sooner
	// than PollInterval after the one before, make a finding.
	PollStreak = 3
	// RetryWindow is how long an order placement counts as the first
	// attempt of the same body sent again.
	RetryWindow = 10 * time.Minute
)

// Key identifies the caller of a call (never the key itself).
type Key struct {
	AccountID, KeyID, UserID int64
	Name                     string
}

// Recorder keeps the reports of one process.
type Recorder struct {
	// Now is the wall clock (paces are real time).
	Now func() time.Time
	// Catalog names the products CertCentral replaced and those that take
	// the multi-year plan model; nil is the built-in one.
	Catalog *catalog.Catalog
	// KeepCSR keeps CSRs in full in the request examples; otherwise a CSR
	// shows as its length.
	KeepCSR bool

	mu   sync.Mutex
	keys map[int64]*keyLog
}

func (rc *Recorder) now() time.Time {
	if rc.Now == nil {
		return time.Now()
	}
	return rc.Now()
}

func (rc *Recorder) catalog() *catalog.Catalog {
	if rc.Catalog == nil {
		return catalog.Default()
	}
	return rc.Catalog
}

// keyLog is what one key's client has sent.
type keyLog struct {
	mu         sync.Mutex
	key        Key
	requests   int64
	first      time.Time
	last       time.Time
	routes     map[string]*routeUse // by method and route
	headers    map[string]int64
	userAgents []string
	findings   []*finding // oldest first
	dropped    int64
	retryUntil time.Time // a 429's Retry-After, until obeyed or broken
	polled     map[string]*pollPace
	posts      []*post // order placements, oldest first
}

type routeUse struct {
	method, route string
	count         int64
	fields        map[string]map[string]bool // path → JSON types
}

type pollPace struct {
	last   time.Time
	streak int
}

type post struct {
	hash   [32]byte
	at     time.Time
	status int
}

type finding struct {
	kind, route, field string
	count              int64
	first, last        time.Time
	message, advice    string
	example            Example
}

// Example is the request that showed a finding, redacted.
type Example struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// Status is the answer's; 0 when none was given (a dropped connection).
	Status int `json:"status"`
}

func (rc *Recorder) log(k Key, now time.Time) *keyLog {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.keys == nil {
		rc.keys = map[int64]*keyLog{}
	}
	l := rc.keys[k.KeyID]
	if l == nil {
		if len(rc.keys) >= MaxKeys {
			var oldest *keyLog
			for _, o := range rc.keys {
				o.mu.Lock()
				if oldest == nil || o.last.Before(oldest.last) {
					oldest = o
				}
				o.mu.Unlock()
			}
			delete(rc.keys, oldest.key.KeyID)
		}
		l = &keyLog{key: k, first: now, routes: map[string]*routeUse{}, headers: map[string]int64{}, polled: map[string]*pollPace{}}
		rc.keys[k.KeyID] = l
	}
	return l
}

// Call is the record of one call, from Begin to End.
type Call struct {
	rc      *Recorder
	log     *keyLog
	at      time.Time
	method  string
	route   string // the route pattern below /services/v2
	path    string // redacted
	query   string
	product string
	header  http.Header
	body    []byte
	// doc is body's first JSON value as Body decodes it, when Begin has
	// decoded it already (an order placement): Body then reads it instead
	// of decoding the same bytes again.
	doc     any
	decoded bool
	post    *post
	pending []*finding
}

type ctxKey struct{}

// WithCall carries c to the JSON decoder.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// CallFrom is the call being recorded, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(ctxKey{}).(*Call)
	return c
}

// Begin records what the request line and headers of r show. pattern is
// the route's path pattern (with or without /services/v2).
func (rc *Recorder) Begin(k Key, r *http.Request, pattern string) *Call {
	now := rc.now()
	c := &Call{rc: rc, at: now, method: r.Method, route: strings.TrimPrefix(pattern, "/services/v2"),
		path: redactPath(r, pattern), query: clipString(redactQuery(r.URL.RawQuery), 512), header: r.Header, product: r.PathValue("product")}
	l := rc.log(k, now)
	c.log = l
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	l.last = now
	ru := l.routes[c.method+" "+c.route]
	if ru == nil {
		ru = &routeUse{method: c.method, route: c.route, fields: map[string]map[string]bool{}}
		l.routes[c.method+" "+c.route] = ru
	}
	ru.count++
	for name := range r.Header {
		if _, ok := l.headers[name]; ok || len(l.headers) < MaxHeaders {
			l.headers[name]++
		}
	}
	if ua := clipString(r.UserAgent(), 200); ua != "" && !slices.Contains(l.userAgents, ua) && len(l.userAgents) < MaxUserAgents {
		l.userAgents = append(l.userAgents, ua)
	}

	if !l.retryUntil.IsZero() {
		if now.Before(l.retryUntil) {
			c.add(KindIgnoredRetryAfter, "", "The call came "+roundUp(l.retryUntil.Sub(now))+" before the Retry-After of a 429 answered to this key had passed.",
				"After a 429, wait the seconds Retry-After gives before calling again with this key; a call sooner is likely refused again.")
		}
		l.retryUntil = time.Time{}
	}
	hasBody := r.ContentLength > 0 || r.ContentLength < 0 && len(r.TransferEncoding) > 0
	if hasBody && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		c.add(KindGETBody, "", "A "+r.Method+" came with a body, which CertCentral does not read (and some proxies refuse).",
			"Send GET without a body; filters, sort and paging go in the query string.")
	}
	if hasBody && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		switch ct := r.Header.Get("Content-Type"); {
		case ct == "":
			c.add(KindContentType, "", "The body came without Content-Type; certorder reads it as JSON anyway.",
				"Send Content-Type: application/json with every JSON body, as CertCentral's documentation does.")
		case !isJSON(ct):
			c.add(KindContentType, "", "The body came as "+clipString(ct, 80)+"; certorder reads it as JSON anyway.",
				"Send Content-Type: application/json with every JSON body, as CertCentral's documentation does.")
		}
	}
	if r.Method == http.MethodGet {
		c.pollPace(l, r.URL.Path+"?"+r.URL.RawQuery, now)
	}
	if c.method == orderPlacementMethod && c.route == orderPlacementRoute {
		// An order placement's body is read here, before a fault or the
		// rate limit may refuse the call, so that sending it again is
		// recognised whatever the first attempt was answered.
		c.body = peekBody(r)
		top := c.decodeBody()
		c.retry(l, top)
		if p, ok := rc.catalog().Orderable(c.product); ok {
			c.deprecatedFields(p, top)
		}
	}
	if c.product != "" {
		if p, ok := rc.catalog().Orderable(c.product); ok && p.ReplacedBy != "" {
			c.add(KindDeprecatedProduct, c.product, "The product "+c.product+" ("+p.Name+") is one CertCentral replaced by "+p.ReplacedBy+"; certorder still takes it for older clients.",
				"Order "+p.ReplacedBy+" instead: "+c.product+" may stop being sold.")
		}
	}
	return c
}

// peekBody reads r's body and puts it back for the handler (with the
// error the read ended on, such as a body over the size bound).
func peekBody(r *http.Request) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(r.Body)
	rest := io.Reader(bytes.NewReader(b))
	if err != nil {
		rest = io.MultiReader(rest, errReader{err})
	}
	r.Body = readCloser{rest, r.Body}
	return b
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type readCloser struct {
	io.Reader
	io.Closer
}

// pollPace follows how often key reads one resource.
func (c *Call) pollPace(l *keyLog, resource string, now time.Time) {
	p := l.polled[resource]
	if p == nil {
		if len(l.polled) >= MaxPolled {
			var oldest string
			for k, v := range l.polled {
				if oldest == "" || v.last.Before(l.polled[oldest].last) {
					oldest = k
				}
			}
			delete(l.polled, oldest)
		}
		p = &pollPace{}
		l.polled[resource] = p
	}
	if !p.last.IsZero() && now.Sub(p.last) < PollInterval {
		p.streak++
	} else {
		p.streak = 1
	}
	p.last = now
	if p.streak == PollStreak {
		c.add(KindPollingTooFast, "", "The same resource was read "+itoa(PollStreak)+" times in a row, each less than "+PollInterval.String()+" after the one before.",
			"Read an order or request at most every "+PollInterval.String()+", backing off while it waits; to follow many orders, read GET /order/certificate/status-changes instead.")
	}
}

// End records the answer: its status (0 when none was given) and headers.
func (c *Call) End(status int, hdr http.Header) {
	if c == nil {
		return
	}
	now := c.rc.now()
	l := c.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if status == http.StatusTooManyRequests {
		wait, ok := parseRetryAfter(hdr.Get("Retry-After"))
		if !ok {
			wait = retryAfterGuess
		}
		l.retryUntil = now.Add(wait)
	}
	if c.post != nil {
		c.post.status = status
	}
	if len(c.pending) == 0 {
		return
	}
	ex := c.example(status)
	for _, f := range c.pending {
		l.record(f, ex)
	}
}

// record adds f to the key's findings, or counts it again.
func (l *keyLog) record(f *finding, ex Example) {
	for _, g := range l.findings {
		if g.kind == f.kind && g.route == f.route && g.field == f.field {
			g.count++
			g.last = f.last
			return
		}
	}
	if len(l.findings) >= MaxFindings {
		l.findings = slices.Delete(l.findings, 0, 1)
		l.dropped++
	}
	f.example = ex
	l.findings = append(l.findings, f)
}

func (c *Call) add(kind, field, message, advice string) {
	c.pending = append(c.pending, &finding{kind: kind, route: c.method + " " + c.route, field: field, count: 1,
		first: c.at, last: c.at, message: message, advice: advice})
}

// ScopeProcess is the scope of every report: what one server process
// saw (docs/decisions.md, "Client conformance report").
const ScopeProcess = "process"

// ProcessNote says what ScopeProcess means, in the report itself.
const ProcessNote = "This report holds the calls this server process served since it started: a restart empties it, and with several replicas on one store each keeps the report of the calls it served, so point a client's test run at one replica."

// Report is GET /sandbox/conformance's answer.
type Report struct {
	// Scope is always ScopeProcess, and Note says what that means: the
	// report is kept in the process, not in the store.
	Scope string      `json:"scope"`
	Note  string      `json:"note"`
	Keys  []KeyReport `json:"keys"`
}

// KeyReport is what one key's client sent and the findings.
type KeyReport struct {
	APIKeyID   int64       `json:"api_key_id"`
	KeyName    string      `json:"key_name"`
	UserID     int64       `json:"user_id"`
	Requests   int64       `json:"requests"`
	FirstSeen  string      `json:"first_seen"`
	LastSeen   string      `json:"last_seen"`
	Routes     []RouteUse  `json:"routes"`
	Headers    []HeaderUse `json:"headers"`
	UserAgents []string    `json:"user_agents"`
	Findings   []Finding   `json:"findings"`
	// FindingsDropped counts distinct findings that made way for newer
	// ones (MaxFindings per key).
	FindingsDropped int64 `json:"findings_dropped"`
}

// RouteUse is one route a client called, with the fields its bodies held.
type RouteUse struct {
	Method string     `json:"method"`
	Route  string     `json:"route"`
	Count  int64      `json:"count"`
	Fields []FieldUse `json:"fields,omitempty"`
}

// FieldUse is one JSON field path ("certificate.dns_names[]") and the JSON
// types it was sent as.
type FieldUse struct {
	Field string   `json:"field"`
	Types []string `json:"types"`
}

// HeaderUse is a header name and how many calls carried it.
type HeaderUse struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Finding is one departure, counted, with the request that first showed it.
type Finding struct {
	Kind      string  `json:"kind"`
	Route     string  `json:"route"`
	Field     string  `json:"field,omitempty"`
	Count     int64   `json:"count"`
	FirstSeen string  `json:"first_seen"`
	LastSeen  string  `json:"last_seen"`
	Message   string  `json:"message"`
	Advice    string  `json:"advice"`
	Request   Example `json:"request"`
}

// Report is the reports of account's keys (of one key when keyID is not 0),
// by key id.
func (rc *Recorder) Report(account, keyID int64) Report {
	rc.mu.Lock()
	var logs []*keyLog
	for id, l := range rc.keys {
		if l.key.AccountID == account && (keyID == 0 || id == keyID) {
			logs = append(logs, l)
		}
	}
	rc.mu.Unlock()
	sort.Slice(logs, func(i, j int) bool { return logs[i].key.KeyID < logs[j].key.KeyID })
	out := Report{Scope: ScopeProcess, Note: ProcessNote, Keys: []KeyReport{}}
	for _, l := range logs {
		out.Keys = append(out.Keys, l.report())
	}
	return out
}

// Reset forgets account's keys (one key when keyID is not 0).
func (rc *Recorder) Reset(account, keyID int64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, l := range rc.keys {
		if l.key.AccountID == account && (keyID == 0 || id == keyID) {
			delete(rc.keys, id)
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (l *keyLog) report() KeyReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	kr := KeyReport{APIKeyID: l.key.KeyID, KeyName: l.key.Name, UserID: l.key.UserID, Requests: l.requests,
		FirstSeen: stamp(l.first), LastSeen: stamp(l.last), UserAgents: slices.Clone(l.userAgents), FindingsDropped: l.dropped,
		Routes: []RouteUse{}, Headers: []HeaderUse{}, Findings: []Finding{}}
	if kr.UserAgents == nil {
		kr.UserAgents = []string{}
	}
	for _, ru := range l.routes {
		u := RouteUse{Method: ru.method, Route: ru.route, Count: ru.count}
		for path, types := range ru.fields {
			ts := make([]string, 0, len(types))
			for t := range types {
				ts = append(ts, t)
			}
			sort.Strings(ts)
			u.Fields = append(u.Fields, FieldUse{Field: path, Types: ts})
		}
		sort.Slice(u.Fields, func(i, j int) bool { return u.Fields[i].Field < u.Fields[j].Field })
		kr.Routes = append(kr.Routes, u)
	}
	sort.Slice(kr.Routes, func(i, j int) bool {
		a, b := kr.Routes[i], kr.Routes[j]
		return a.Route < b.Route || a.Route == b.Route && a.Method < b.Method
	})
	for name, n := range l.headers {
		kr.Headers = append(kr.Headers, HeaderUse{Name: name, Count: n})
	}
	sort.Slice(kr.Headers, func(i, j int) bool { return kr.Headers[i].Name < kr.Headers[j].Name })
	for _, f := range l.findings {
		kr.Findings = append(kr.Findings, Finding{Kind: f.kind, Route: f.route, Field: f.field, Count: f.count,
			FirstSeen: stamp(f.first), LastSeen: stamp(f.last), Message: f.message, Advice: f.advice, Request: f.example})
	}
	return kr
}
