// Package client is a small Go client for certorder and any other server
// that speaks DigiCert's CertCentral Services API v2 (base path
// /services/v2, API key in the X-DC-DEVKEY header).
//
// It uses only the standard library. Every method takes a context first;
// every non-2xx answer comes back as an *APIError carrying the server's
// {"errors":[{"code","message"}]} envelope.
//
// A call answered 429 (request_limit_exceeded) is sent again after the
// Retry-After the server gave, a few times (WithRateLimitRetries): the
// server refused it before doing anything, so sending it again is safe
// whatever its method. A GET answered 503 with Retry-After is retried the
// same way; other calls answered 503 are not, since the client cannot know
// what a failing server did.
//
// Timestamps (date_created and friends) are kept as the strings the server
// sent; the Created methods and ParseTimestamp/ParseDate turn them into
// time.Time values.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BasePath is where every CertCentral v2 endpoint lives.
const BasePath = "/services/v2"

// DefaultUserAgent is sent unless WithUserAgent overrides it.
const DefaultUserAgent = "certorder-go-client/1"

// maxResponseBytes bounds how much of an answer the client reads.
const maxResponseBytes = 32 << 20

// Client talks to one CertCentral-compatible server with one API key.
// It is safe for concurrent use.
type Client struct {
	base   string // scheme://host[/prefix]/services/v2, no trailing slash
	apiKey string
	hc     *http.Client
	ua     string
	// retries and maxWait bound the waits on 429 (and 503 for GETs).
	retries int
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
}

// Default retry bounds of WithRateLimitRetries.
const (
	DefaultRateLimitRetries = 3
	DefaultMaxRetryWait     = time.Minute
	// retryWithoutHeader is the wait of a 429 that names none.
	retryWithoutHeader = time.Second
)

// WithRateLimitRetries sets how many times a call answered 429 (or a GET
// answered 503 with Retry-After) is sent again, and the longest
// Retry-After the client waits for; a longer one, or retries 0, returns
// the *APIError at once. Defaults: 3 retries, one minute.
func WithRateLimitRetries(retries int, maxWait time.Duration) Option {
	return func(c *Client) {
		c.retries, c.maxWait = max(retries, 0), maxWait
	}
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the *http.Client used for every request.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.ua = ua
		}
	}
}

// New returns a client for the server at baseURL, e.g.
// "https://certorder.example.com" or "https://www.digicert.com". The
// /services/v2 base path is appended unless baseURL already ends with it.
func New(baseURL, apiKey string, opts ...Option) *Client {
	base := strings.TrimRight(baseURL, "/")
	if !strings.HasSuffix(base, BasePath) {
		base += BasePath
	}
	c := &Client{
		base:    base,
		apiKey:  apiKey,
		hc:      &http.Client{Timeout: 2 * time.Minute},
		ua:      DefaultUserAgent,
		retries: DefaultRateLimitRetries,
		maxWait: DefaultMaxRetryWait,
		sleep:   sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ErrorDetail is one entry of the error envelope.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// APIError is a non-2xx answer.
type APIError struct {
	StatusCode int
	Errors     []ErrorDetail
}

// Error lists the status and every code with its message.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "certcentral: HTTP %d", e.StatusCode)
	for i, d := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(d.Code)
		if d.Message != "" {
			fmt.Fprintf(&b, " (%s)", d.Message)
		}
	}
	return b.String()
}

// Has reports whether one of the errors has the given code. A code also
// matches its category, the part before "|" or ":", so Has("invalid_value")
// is true for "invalid_value:custom_fields".
func (e *APIError) Has(code string) bool {
	if e == nil {
		return false
	}
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
		if i := strings.IndexAny(d.Code, "|:"); i >= 0 && d.Code[:i] == code {
			return true
		}
	}
	return false
}

// UnexpectedResponseCode is the code of the synthetic detail an APIError
// carries when the error body was not the CertCentral envelope.
const UnexpectedResponseCode = "unexpected_response"

// maxErrorBody bounds the body text kept in a synthetic detail.
const maxErrorBody = 512

func apiErrorOf(status int, body []byte) *APIError {
	var env struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err == nil && len(env.Errors) > 0 {
		return &APIError{StatusCode: status, Errors: env.Errors}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorBody {
		text = text[:maxErrorBody] + "..."
	}
	if text == "" {
		text = http.StatusText(status)
	}
	return &APIError{StatusCode: status, Errors: []ErrorDetail{{Code: UnexpectedResponseCode, Message: text}}}
}

// request is one call.
type request struct {
	method string
	path   string // below the base path, starting with "/"
	query  url.Values
	body   any  // JSON-encoded when non-nil
	raw    bool // a download: no Accept: application/json
}

// send performs r and returns the body of a 2xx answer, waiting out
// Retry-After and sending r again when the server asks it to (see the
// package comment).
func (c *Client) send(ctx context.Context, r request) ([]byte, http.Header, error) {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, nil, fmt.Errorf("certcentral: encode %s %s: %w", r.method, r.path, err)
		}
		body = b
	}
	for attempt := 0; ; attempt++ {
		data, hdr, err := c.sendOnce(ctx, r, body)
		ae := AsAPIError(err)
		if ae == nil || attempt >= c.retries {
			return data, hdr, err
		}
		wait, ok := retryWait(ae, r.method, hdr)
		if !ok || wait > c.maxWait {
			return data, hdr, err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("certcentral: %s %s: waiting %s to retry: %w", r.method, r.path, wait, err)
		}
	}
}

// retryWait is how long to wait before sending a call again after ae, and
// whether to send it again at all.
func retryWait(ae *APIError, method string, hdr http.Header) (time.Duration, bool) {
	wait, given := parseRetryAfter(hdr.Get("Retry-After"), time.Now())
	switch {
	case ae.StatusCode == http.StatusTooManyRequests:
		if !given {
			wait = retryWithoutHeader
		}
		return wait, true
	case ae.StatusCode == http.StatusServiceUnavailable && given && (method == http.MethodGet || method == http.MethodHead):
		return wait, true
	}
	return 0, false
}

// parseRetryAfter reads Retry-After in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendOnce performs r once. The headers come back with an *APIError too,
// for its Retry-After.
func (c *Client) sendOnce(ctx context.Context, r request, body []byte) ([]byte, http.Header, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("certcentral: %w", err)
	}
	req.Header.Set("X-DC-DEVKEY", c.apiKey)
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.raw {
		req.Header.Set("Accept", "*/*")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("certcentral: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("certcentral: read answer of %s %s: %w", r.method, r.path, err)
	}
	if len(data) > maxResponseBytes {
		return nil, nil, fmt.Errorf("certcentral: answer of %s %s is larger than %d bytes", r.method, r.path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.Header, apiErrorOf(resp.StatusCode, data)
	}
	return data, resp.Header, nil
}

// call performs r and decodes a JSON answer into out (when out is non-nil).
func (c *Client) call(ctx context.Context, r request, out any) error {
	data, _, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("certcentral: decode answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// AsAPIError returns the *APIError in err's chain, or nil.
func AsAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ListOptions are the paging, sorting and filter parameters of list calls.
// A filter value starting with "%" (e.g. filters[search]="%example")
// means "contains"; it is sent URL-encoded, so the server receives the
// literal "%".
type ListOptions struct {
	Offset  int
	Limit   int
	Sort    string            // e.g. "-date_created"
	Filters map[string]string // sent as filters[key]=value
}

func (o *ListOptions) values() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Offset > 0 {
		q.Set("offset", fmt.Sprint(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", fmt.Sprint(o.Limit))
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	for k, v := range o.Filters {
		q.Set("filters["+k+"]", v)
	}
	return q
}

// Page is the paging block of list answers.
type Page struct {
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// ParseTimestamp parses an API timestamp such as date_created
// ("2014-08-19T18:16:07+00:00", RFC 3339).
func ParseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339, strings.TrimSpace(s))
}

// ParseDate parses an API date such as valid_till ("2025-01-31").
func ParseDate(s string) (time.Time, error) {
	return time.Parse(time.DateOnly, strings.TrimSpace(s))
}

func pathInt(id int64) string { return fmt.Sprint(id) }
