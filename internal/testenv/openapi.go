package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/certorder/certorder/internal/api"
)

// Every test server checks each answer it gives against the OpenAPI
// document it serves (GET /services/v2/openapi.json), with kin-openapi:
// the status must be one the route documents, the Content-Type one of its
// media types, the documented headers there (X-Request-ID), and a JSON
// body must fit the schema. A path no route serves must answer the
// not_found|route envelope. Each request the API accepted (answered 2xx)
// is checked too: its path and query parameters and its JSON body must
// fit what the route documents, so that the document describes what
// certorder accepts. Refused requests are not checked (the suites send
// bad input on purpose), and request schemas are open, as the server
// ignores members it does not know. The console's pages are left out
// (HTML whose routes the console's own mux picks). The mismatches fail
// the test when its server stops. CERTORDER_TEST_OPENAPI=0 turns the
// check off.

// openAPIDocs are the loaded and validated documents, by the SHA-256 of
// their JSON: servers of one test binary serve the same few.
var openAPIDocs sync.Map // [32]byte → *openAPIDoc

type openAPIDoc struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

func loadOpenAPI(b []byte) (*openapi3.T, error) {
	v, _ := openAPIDocs.LoadOrStore(sha256.Sum256(b), &openAPIDoc{})
	d := v.(*openAPIDoc)
	d.once.Do(func() {
		l := openapi3.NewLoader()
		d.doc, d.err = l.LoadFromData(b)
		if d.err == nil {
			d.err = d.doc.Validate(context.Background())
		}
		if d.err == nil {
			nullWhereTypeless(d.doc)
		}
	})
	return d.doc, d.err
}

// openAPICheck validates one server's answers.
type openAPICheck struct {
	api     *api.Server
	doc     *openapi3.T
	schemas *openapi3.T // doc's paths and components, presented as 3.0 (newOpenAPICheck)

	mu       sync.Mutex
	failures map[string]bool
	checked  int
}

func newOpenAPICheck(t testing.TB, srv *api.Server) *openAPICheck {
	if os.Getenv("CERTORDER_TEST_OPENAPI") == "0" {
		return nil
	}
	doc, err := loadOpenAPI(srv.OpenAPI())
	if err != nil {
		t.Fatalf("the server's OpenAPI document is not valid OpenAPI: %v", err)
	}
	// The answers' schemas use only what OpenAPI 3.0 and 3.1 schemas
	// share (type, properties, required, additionalProperties, items,
	// enum, pattern, anyOf with a null type). Presented as 3.0, kin
	// checks them with its own validator; as 3.1 it would compile a JSON
	// Schema for every answer, which doubled the suites' CPU time. The
	// document itself is loaded and validated as the 3.1 it is.
	schemas := &openapi3.T{OpenAPI: "3.0.3", Info: doc.Info, Paths: doc.Paths, Components: doc.Components}
	return &openAPICheck{api: srv, doc: doc, schemas: schemas, failures: map[string]bool{}}
}

// wrap checks every answer h gives.
func (c *openAPICheck) wrap(h http.Handler) http.Handler {
	if c == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern := c.api.Pattern(r)
		rec := &capture{ResponseWriter: w}
		var tap *bodyTap
		if r.Body != nil && r.Body != http.NoBody {
			tap = &bodyTap{ReadCloser: r.Body}
			r.Body = tap
		}
		h.ServeHTTP(rec, r)
		c.check(r, pattern, rec, tap)
	})
}

func (c *openAPICheck) check(r *http.Request, pattern string, rec *capture, tap *bodyTap) {
	if r.Method == http.MethodHead || pattern == "/console/" || r.Context().Err() != nil || rec.hijacked {
		return // no body; the console's pages; nobody got the answer (or any)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	fail := c.verdict(r, pattern, status, rec.Header(), rec.body.Bytes())
	c.note(r, pattern, status, fail, rec.body.String())
	if status >= 200 && status < 300 && pattern != "" && (tap == nil || !tap.over) {
		var body []byte
		if tap != nil {
			body = tap.buf.Bytes()
		}
		if fail := c.requestVerdict(r, pattern, body); fail != "" {
			c.note(r, pattern, status, "the accepted request does not fit the document: "+fail, string(body))
		}
	}
}

// note counts one check and keeps its mismatch, if any.
func (c *openAPICheck) note(r *http.Request, pattern string, status int, fail, body string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if fail != "" {
		key := fmt.Sprintf("%s %s → %d: %s\n    body: %.400s", r.Method, r.URL.Path, status, oneLine(fail), body)
		if pattern != "" {
			key = fmt.Sprintf("%s %s (route %s) → %d: %s\n    body: %.400s", r.Method, r.URL.Path, pattern, status, oneLine(fail), body)
		}
		c.failures[key] = true
	}
}

// CheckRequest is the check of a request the API accepted: "" when its
// parameters and body (sent as contentType) fit what the OpenAPI document
// says method path takes on srv, else why not. It lets tests show that
// the check refuses what does not fit.
func CheckRequest(t testing.TB, srv *Server, method, path, contentType, body string) string {
	t.Helper()
	c, r := checkOf(t, srv, method, path)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	pattern := c.api.Pattern(r)
	if pattern == "" {
		return "no route serves it"
	}
	return c.requestVerdict(r, pattern, []byte(body))
}

// operation is the document's route for a registered pattern; a reason
// instead when it has none.
func (c *openAPICheck) operation(pattern string) (*routers.Route, string) {
	method, path, isRoute := c.api.OpenAPIRoute(pattern)
	if !isRoute {
		return nil, "a pattern that is no route answered"
	}
	item := c.doc.Paths.Value(path)
	var operation *openapi3.Operation
	if item != nil {
		operation = item.GetOperation(strings.ToUpper(method))
	}
	if operation == nil {
		return nil, fmt.Sprintf("the document has no operation %s %s", strings.ToUpper(method), path)
	}
	return &routers.Route{Spec: c.schemas, Path: path, PathItem: item, Method: strings.ToUpper(method), Operation: operation}, ""
}

// requestVerdict is why a request the server accepted does not fit the
// document, "" when it does. The server reads every body as JSON whatever
// its Content-Type says (the sandbox's conformance report notes one
// without), so the body is checked as JSON.
func (c *openAPICheck) requestVerdict(r *http.Request, pattern string, body []byte) string {
	route, fail := c.operation(pattern)
	if fail != "" {
		return fail
	}
	if pattern == "POST /ocsp" || strings.HasPrefix(pattern, "POST /console/") {
		return "" // an OCSP request is DER; the console's forms are its own
	}
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if len(bytes.TrimSpace(body)) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	} else if rb := route.Operation.RequestBody; rb != nil && rb.Value.Content.Get("application/json") != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams(route.Path, r.URL.Path), Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return err.Error()
	}
	return ""
}

// pathParams are the values of an OpenAPI path's parameters in a request
// path; a last parameter of a subtree ({path}, {request}) takes the rest.
func pathParams(openapiPath, reqPath string) map[string]string {
	ps := strings.Split(strings.Trim(openapiPath, "/"), "/")
	rs := strings.Split(strings.Trim(reqPath, "/"), "/")
	out := map[string]string{}
	for i, seg := range ps {
		if i >= len(rs) || len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			continue
		}
		v := rs[i]
		if i == len(ps)-1 {
			v = strings.Join(rs[i:], "/")
		}
		out[seg[1:len(seg)-1]] = v
	}
	return out
}

// CheckAnswer is the check of an answer with that status, Content-Type and
// body (and an X-Request-ID) to method path on srv: "" when it fits the
// OpenAPI document, else why not. It lets tests show that the check
// refuses what does not fit.
func CheckAnswer(t testing.TB, srv *Server, method, path string, status int, contentType string, body []byte) string {
	t.Helper()
	c, r := checkOf(t, srv, method, path)
	h := http.Header{"Content-Type": {contentType}, "X-Request-Id": {"check"}}
	return c.verdict(r, c.api.Pattern(r), status, h, body)
}

// checkOf is srv's check and a request of method to path on srv; the
// test is skipped when checks are off.
func checkOf(t testing.TB, srv *Server, method, path string) (*openAPICheck, *http.Request) {
	t.Helper()
	if srv.check == nil {
		t.Skip("CERTORDER_TEST_OPENAPI=0: answers and requests are not checked")
	}
	r, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv.check, r
}

// verdict is why an answer does not fit the document, "" when it does.
func (c *openAPICheck) verdict(r *http.Request, pattern string, status int, header http.Header, body []byte) string {
	if pattern == "" {
		return c.checkUnrouted(status, header, body)
	}
	route, fail := c.operation(pattern)
	if fail == "" {
		in := &openapi3filter.RequestValidationInput{Request: r, Route: route}
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: status, Header: header,
			Body:    io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			fail = err.Error()
		}
	}
	return fail
}

// checkUnrouted: a path no route serves answers 404 not_found|route.
func (c *openAPICheck) checkUnrouted(status int, header http.Header, body []byte) string {
	if status != http.StatusNotFound {
		return fmt.Sprintf("no route serves it, yet it answered %d", status)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Sprintf("the not-found envelope has Content-Type %q", ct)
	}
	errs := c.doc.Components.Schemas["Errors"]
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "the not-found answer is not JSON: " + err.Error()
	}
	if err := errs.Value.VisitJSON(v); err != nil {
		return "the not-found answer is not the envelope: " + err.Error()
	}
	return ""
}

// report fails t with every mismatch seen.
func (c *openAPICheck) report(t testing.TB) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) == 0 {
		return
	}
	var list []string
	for f := range c.failures {
		list = append(list, f)
	}
	sort.Strings(list)
	t.Errorf("%d of %d answers do not fit the OpenAPI document (internal/api/openapi_routes.go):\n  %s",
		len(list), c.checked, strings.Join(list, "\n  "))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// bodyTap keeps what the handler reads of a request body (up to the
// server's bound; over it, the request is not checked).
type bodyTap struct {
	io.ReadCloser
	buf  bytes.Buffer
	over bool
}

func (b *bodyTap) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.buf.Len()+n > api.MaxBodyBytes {
		b.over = true
	} else {
		b.buf.Write(p[:n])
	}
	return n, err
}

// capture passes an answer on and keeps its status and body.
type capture struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool // the handler took the connection (a sandbox drop fault): no answer
}

// Hijack hands the connection over and notes that no answer follows.
func (c *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c.hijacked = true
	return http.NewResponseController(c.ResponseWriter).Hijack()
}

// maxCapture bounds the body kept of one answer (downloads are small).
const maxCapture = 8 << 20

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(b) <= maxCapture {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (c *capture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// nullWhereTypeless marks every schema of doc that takes anything (no type
// and nothing else that limits it) nullable. In
// the OpenAPI 3.1 the document is, a schema naming no type takes any value,
// null too (a request member the server ignores, whatever it holds); the
// checks present the schemas as 3.0 (newOpenAPICheck), where kin refuses
// null unless a schema says nullable.
func nullWhereTypeless(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		if (s.Type == nil || len(*s.Type) == 0) && len(s.AnyOf)+len(s.OneOf)+len(s.AllOf)+len(s.Enum)+len(s.Properties) == 0 && s.Not == nil {
			s.Nullable = true
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		for _, group := range [][]*openapi3.SchemaRef{s.AnyOf, s.OneOf, s.AllOf} {
			for _, x := range group {
				walk(x)
			}
		}
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema)
		}
	}
	for _, r := range doc.Components.Schemas {
		walk(r)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil {
					walk(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
}
