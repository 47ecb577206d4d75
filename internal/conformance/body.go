package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/jsonfields"
)

// Body records a JSON body that the call's handler decoded into v: its
// fields and their JSON types, the fields v has no place for (the decoder
// ignores them), and numbers and booleans sent as strings where v takes
// them only for compatibility (flex). An order placement's deprecated
// fields and retries were judged by Begin.
func (c *Call) Body(body []byte, v any) {
	if c == nil {
		return
	}
	if c.body == nil {
		c.body = body
	}
	doc := c.doc
	if !c.decoded || !bytes.Equal(body, c.body) {
		var err error
		if doc, _, err = firstValue(body); err != nil {
			return
		}
	}
	w := walker{c: c, fields: map[string]map[string]bool{}}
	w.walk(doc, reflect.TypeOf(v), "")

	l := c.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if ru := l.routes[c.method+" "+c.route]; ru != nil {
		for path, types := range w.fields {
			have := ru.fields[path]
			if have == nil {
				if len(ru.fields) >= MaxFields {
					continue
				}
				have = map[string]bool{}
				ru.fields[path] = have
			}
			for t := range types {
				have[t] = true
			}
		}
	}
}

// decodeBody decodes c.body once for Begin's checks and for Body: its
// first JSON value, numbers as json.Number, kept for Body; and the object
// Begin's checks read, only when the whole body is that one object (as
// json.Unmarshal would take it), else nil.
func (c *Call) decodeBody() map[string]any {
	doc, dec, err := firstValue(c.body)
	if err != nil {
		return nil
	}
	c.doc, c.decoded = doc, true
	if _, err := dec.Token(); err != io.EOF {
		return nil // more after the first value: not one JSON document
	}
	top, _ := doc.(map[string]any)
	return top
}

// firstValue decodes body's first JSON value, numbers as json.Number,
// and hands back the decoder positioned after it.
func firstValue(body []byte) (any, *json.Decoder, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	err := dec.Decode(&doc)
	return doc, dec, err
}

// deprecatedFields: the top-level validity fields of a plan product (seeds
// 001 and 002 deprecate them for order_validity), and organization_units
// on public TLS (CertCentral ignores them since OUs left public
// certificates).
func (c *Call) deprecatedFields(p catalog.Product, top map[string]any) {
	if p.OrderValidity {
		for _, f := range []string{"validity_years", "validity_days", "custom_expiration_date"} {
			if given(top[f]) {
				c.add(KindDeprecatedField, f, f+" is deprecated for "+p.NameID+"; certorder still reads it.",
					"Send order_validity (years, days or custom_expiration_date) instead, and cert_validity for the first certificate.")
			}
		}
	}
	if cert, _ := top["certificate"].(map[string]any); p.Purpose == catalog.PurposeTLS && cert != nil && given(cert["organization_units"]) {
		c.add(KindDeprecatedField, "certificate.organization_units", "organization_units is deprecated and ignored on public TLS certificates.",
			"Leave certificate.organization_units out; public TLS certificates carry no organizational unit.")
	}
}

func given(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	}
	return true
}

// retry (with the key's log locked): the same order body sent again by the key within RetryWindow,
// without alternative_order_id, after an attempt that may have placed an
// order (answered 2xx or 5xx, not answered, or not answered yet). A retry
// after a 4xx or a 429 is safe: that attempt placed nothing.
func (c *Call) retry(l *keyLog, top map[string]any) {
	if alt, _ := top[altOrderIDField].(string); alt != "" {
		return
	}
	h := sha256.New()
	h.Write([]byte(c.product))
	h.Write([]byte{0})
	h.Write(bytes.TrimSpace(c.body))
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	for _, p := range l.posts {
		if p.hash != sum || c.at.Sub(p.at) > RetryWindow {
			continue
		}
		if p.status == inFlight || p.status == noAnswer || p.status >= 500 || p.status >= 200 && p.status < 300 {
			c.add(KindRetryWithoutAltID, altOrderIDField, "The same order was sent again within "+RetryWindow.String()+
				" of an attempt that may have placed it ("+attemptOutcome(p.status)+"), without alternative_order_id.",
				"Give each order a unique alternative_order_id; before sending it again after a timeout, a dropped connection or a 5xx, look for it among the newest orders (GET /order/certificate?sort=-date_created: each lists its alternative_order_id), so a retry never places it twice.")
			break
		}
	}
	if len(l.posts) >= MaxRecentPosts {
		l.posts = l.posts[1:]
	}
	c.post = &post{hash: sum, at: c.at, status: inFlight}
	l.posts = append(l.posts, c.post)
}

func attemptOutcome(status int) string {
	switch {
	case status == inFlight:
		return "still unanswered"
	case status == noAnswer:
		return "its connection closed without an answer"
	default:
		return "answered " + strconv.Itoa(status)
	}
}

// walker compares a decoded body with the Go type that took it.
type walker struct {
	c      *Call
	fields map[string]map[string]bool
}

var (
	unmarshaler = reflect.TypeFor[json.Unmarshaler]()
	flexInt     = reflect.TypeFor[flex.Int]()
	flexBool    = reflect.TypeFor[flex.Bool]()
)

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func (w *walker) note(path string, v any) {
	if path == "" {
		return
	}
	ts := w.fields[path]
	if ts == nil {
		ts = map[string]bool{}
		w.fields[path] = ts
	}
	ts[jsonType(v)] = true
}

// walk notes v at path and goes down into it along t (nil: a place that
// takes anything, whose contents are noted but not judged).
func (w *walker) walk(v any, t reflect.Type, path string) {
	w.note(path, v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && reflect.PointerTo(t).Implements(unmarshaler) {
		// A type that decodes itself: flex's lenient scalars are judged
		// here, other such types are leaves.
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			switch t {
			case flexInt:
				w.c.add(KindStringForNumber, path, path+" came as a string ("+strconv.Quote(clipString(s, 40))+"); CertCentral documents a number, and certorder converts it only for compatibility.",
					"Send "+path+" as a JSON number, without quotes.")
			case flexBool:
				w.c.add(KindStringForBoolean, path, path+" came as a string ("+strconv.Quote(clipString(s, 40))+"); certorder converts it only for compatibility.",
					"Send "+path+" as a JSON boolean (true or false), without quotes.")
			}
		}
		return
	}
	if t != nil && t.Kind() == reflect.Interface {
		t = nil
	}
	switch x := v.(type) {
	case map[string]any:
		var fields *jsonfields.Fields
		var elem reflect.Type
		switch {
		case t == nil:
		case t.Kind() == reflect.Struct:
			fields = jsonfields.Of(t)
		case t.Kind() == reflect.Map:
			elem = t.Elem()
		default:
			return // the decoder refused it; the call was answered 400
		}
		for k, val := range x {
			p := join(path, k)
			switch {
			case fields != nil:
				f, ok := fields.Lookup(k)
				if !ok {
					w.c.add(KindUnknownField, p, p+" is not a field of this call; certorder ignores it, as CertCentral ignores fields it does not know.",
						"Leave "+p+" out, or check its spelling against CertCentral's documentation of the call.")
					w.walk(val, nil, p)
					continue
				}
				w.walk(val, f.Type, p)
			case elem != nil:
				w.walk(val, elem, join(path, "*"))
			default:
				w.walk(val, nil, p)
			}
		}
	case []any:
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		} else if t != nil {
			return
		}
		for _, e := range x {
			w.walk(e, elem, path+"[]")
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// example is the call as a finding shows it, nothing secret kept.
func (c *Call) example(status int) Example {
	ex := Example{Method: c.method, Path: c.path, Query: c.query, Status: status}
	for _, name := range []string{"Content-Type", "Accept", "User-Agent", "Content-Length", "Transfer-Encoding"} {
		if v := c.header.Get(name); v != "" {
			if ex.Headers == nil {
				ex.Headers = map[string]string{}
			}
			ex.Headers[name] = clipString(v, 200)
		}
	}
	if len(c.body) > 0 {
		ex.Body = c.rc.redactBody(c.body)
	}
	return ex
}

// redactBody is body with every secret replaced, clipped to ExcerptBytes.
func (rc *Recorder) redactBody(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "(not JSON, " + strconv.Itoa(len(body)) + " bytes)"
	}
	doc = rc.redact(doc, "")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the excerpt is read as text: "<CSR, 900 characters>", not "\u003cCSR..."
	if err := enc.Encode(doc); err != nil {
		return ""
	}
	return clipString(strings.TrimSuffix(b.String(), "\n"), ExcerptBytes)
}

// secretName: a JSON member or query parameter of that name holds a
// secret (a key, password, token, card code or credentials), whatever the
// call. Separators are ignored: api_key, api-key and apiKey are one name.
func secretName(name string) bool {
	n := strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(name))
	if n == "cvv" || n == "key" || n == "auth" {
		return true
	}
	for _, part := range []string{"password", "passphrase", "secret", "token", "apikey", "devkey", "privatekey", "authorization", "credential"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// redactQuery is a raw query with the values of secretName parameters
// replaced (a client that sends its API key in the query, which
// CertCentral does not read, must not leave it in the report).
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if secretName(name) {
			parts[i] = url.QueryEscape(name) + "=<redacted>"
		}
	}
	return strings.Join(parts, "&")
}

func (rc *Recorder) redact(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			lk := strings.ToLower(k)
			switch {
			case lk == "csr" && !rc.KeepCSR:
				if s, ok := val.(string); ok {
					out[k] = "<CSR, " + strconv.Itoa(len(s)) + " characters>"
				} else {
					out[k] = "<CSR>"
				}
			case lk == "number" && parent == "credit_card":
				out[k] = lastFour(val)
			case secretName(lk):
				out[k] = "<redacted>"
			default:
				out[k] = rc.redact(val, lk)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rc.redact(e, parent)
		}
		return out
	}
	return v
}

func lastFour(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	}
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	if len(digits) < 4 {
		return "<redacted>"
	}
	return "************" + string(digits[len(digits)-4:])
}

// redactPath is r's path with the values of path parameters that carry a
// secret (an emailed link's token) replaced.
func redactPath(r *http.Request, pattern string) string {
	path := r.URL.Path
	if !strings.Contains(pattern, "{token}") && !strings.Contains(pattern, "{secret}") {
		return path
	}
	ps, pp := strings.Split(path, "/"), strings.Split(pattern, "/")
	if len(ps) != len(pp) {
		return "<redacted>"
	}
	for i, seg := range pp {
		if seg == "{token}" || seg == "{secret}" {
			ps[i] = "<redacted>"
		}
	}
	return strings.Join(ps, "/")
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func parseRetryAfter(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func roundUp(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
}

func itoa(n int) string { return strconv.Itoa(n) }
